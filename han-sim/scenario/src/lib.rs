//! # hanrig-scenario: what a rig and the simulated HAN say to each other
//!
//! The conformance harness states its stimulus in this language and reads its instruments in
//! it; `hanrig-sim` runs it. Nothing here reaches into a simulation, so a crate that depends on
//! this one and not on `hanrig-sim` (the conformance harness) cannot judge a DUT by its insides.
//!
//! - [`scenario`]: meters, devices and a timeline, from a TOML file or built in code;
//! - [`clock`]: virtual time;
//! - [`mutant`]: the catalogue of deliberately broken DUTs;
//! - [`panel`]: what instruments read of a DUT (its relay line, its display).

pub mod clock;
pub mod mutant;
pub mod panel;
pub mod scenario;

/// The issuer ID of every scenario's test CA.
pub const ISSUER: [u8; 8] = *b"HANRIGCA";

/// The wait, in seconds, that a busy ESI asks a device for when it refuses Key Establishment
/// (Terminate NO_RESOURCES): longer than a device's own retry delay, so a device that ignores it
/// is seen retrying early.
pub const BUSY_WAIT_S: u8 = 25;
