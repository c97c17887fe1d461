//! Smart Energy clusters and the general clusters SE devices use: identifiers, enumerations and
//! command layouts. One module per cluster; each layout is defined once, here.

pub mod basic;
pub mod drlc;
pub mod key_establishment;
pub mod messaging;
pub mod metering;
pub mod price;
pub mod time;
