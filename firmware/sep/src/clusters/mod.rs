//! Smart Energy clusters and the general clusters SE devices use: identifiers, enumerations and
//! command layouts. One module per cluster; each layout is defined once, here.

pub mod basic;
pub mod drlc;
pub mod key_establishment;
pub mod messaging;
pub mod metering;
pub mod price;
pub mod time;

/// Whether `cluster` is one of the Smart Energy application clusters — Price, Demand Response and
/// Load Control, Metering, Messaging (0x0700–0x0703) — that travel under the APS link key, and
/// that an ESI requiring Key Establishment serves only after it.
pub fn aps_secured(cluster: u16) -> bool {
    (price::CLUSTER_ID..=messaging::CLUSTER_ID).contains(&cluster)
}
