//! The ZigFest-style conformance harness: suites of cases run against a device or meter under
//! test on a rig, with reports.

pub mod cases;
pub mod cli;
pub mod ctx;
pub mod model;
pub mod report;
pub mod runner;
pub mod serial;
