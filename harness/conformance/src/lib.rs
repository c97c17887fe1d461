//! The ZigFest-style conformance harness: suites of cases run against a device or meter under
//! test on a rig — and, in the `e2e` suite, against the whole gateway chain — with reports.
//!
//! A case sees only what its [`rig::Rig`] observed: frames on the air and instrument readings.
//! The rigs live in `hanrig-rig`; this crate does not depend on the simulator at all.

pub mod air;
pub mod cases;
pub mod ctx;
pub mod device;
pub mod e2e;
pub mod instrument;
pub mod judge;
pub mod ke;
pub mod meter;
pub mod model;
pub mod report;
pub mod rig;
pub mod runner;
