//! hanrig's command-line tool as a library: the ZCL and capture tools, the simulator front end,
//! the conformance harness (cases, runner, reports), and the gateway's admin and serve
//! commands.

pub mod capture;
pub mod cbke;
pub mod conformance;
pub mod gateway;
pub mod lab;
pub mod lab_up;
pub mod radio;
pub mod sim;
pub mod zcl;
