//! The ZigFest-style conformance harness: suites of cases run against a device or meter under
//! test on a rig — and, in the `e2e` suite, against the whole gateway chain — with reports.

pub mod air;
pub mod bench;
pub mod cases;
pub mod cli;
pub mod ctx;
pub mod device;
pub mod e2e;
pub mod host_cbke;
pub mod instrument;
pub mod judge;
pub mod ke;
pub mod lab;
pub mod meter;
pub mod model;
pub mod report;
pub mod runner;
pub mod serial;
