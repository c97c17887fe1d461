//! # hanrig-rig: the rigs the conformance suites run on
//!
//! A rig file (`rigs/*.toml`) names one; [`OpenRig::open`] opens it as the conformance harness's
//! `Rig`:
//!
//! - `sim`: the whole network in this process, on the simulated medium and virtual time;
//! - `sim-serial`: the rig's ESI on this host, through the EZSP host driver and a
//!   pseudo-terminal to hanrig's simulated co-processor ([`serial`]);
//! - `sim-blackbox`: as `sim-serial`, with the DUT a `hanrig sim dut` process of its own,
//!   reached only over the air and its instrument channel;
//! - `lab`: a real co-processor and the DUT on the bench, with GPIO lines and an operator
//!   ([`lab`], [`mod@bench`]).
//!
//! This crate may look inside the simulated DUT — it *is* the simulation — but only to answer
//! instrument probes from what the DUT shows ([`hanrig_scenario::panel::Panel`]); the cases see
//! the frames the rig heard and those readings, nothing else.

pub mod bench;
pub mod cli;
pub mod file;
pub mod host_cbke;
pub mod lab;
pub mod serial;
pub mod sim;

pub use file::{OpenRig, RigFile};
