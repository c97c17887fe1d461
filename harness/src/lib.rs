//! hanrig's command-line tool as a library: the ZCL and capture tools, the simulator front end,
//! and the conformance harness (cases, runner, reports).

pub mod capture;
pub mod conformance;
pub mod lab;
pub mod radio;
pub mod sim;
pub mod zcl;
