//! # hanrig-sim: the simulated HAN
//!
//! A radio medium on virtual time that carries real ZigBee frames (802.15.4 MAC, NWK and APS,
//! secured as a meter secures them) between simulated meters and in-home devices:
//!
//! - [`esi::Esi`] forms the network, admits only devices whose install-code key it was given
//!   (the network key goes out in an APS Transport-Key secured under that key), limits the
//!   devices per meter, and serves Price, DRLC, Messaging, Metering, Time and Basic;
//! - [`device::SimDevice`] plays an in-home display, thermostat or load-control device, running
//!   the same `hanrig-device` logic a real device runs;
//! - [`sim::Simulation`] moves frames between them with seeded loss, latency and duplication,
//!   keeps a capture, and runs a two-hour event in milliseconds;
//! - [`scenario::Scenario`] reads a scenario file and writes `capture.pcapng`, `keys` and
//!   `events.jsonl`;
//! - [`headend`] holds simulated TDSP head-ends of the three styles — [`headend::JobsHeadEnd`]
//!   (submit, poll), [`headend::CimHeadEnd`] (61968-9 EndDeviceControls, EndDeviceEvents to
//!   the reply address) and [`headend::MultiSpeakHeadEnd`] (MultiSpeak 4.1 `Initiate*`,
//!   notifications to the response URL) — over one shared HAN core, [`headend::Han`], whose
//!   meters and devices are simulated: a request's frame crosses each HAN after the TDSP's
//!   network latency, and the results follow what the devices do.
//!
//! A meter may require Key Establishment ([`cbke`]): devices then run CBKE (suite 1, with
//! certificates from the scenario's test CA) after joining, and the SE clusters run under the
//! derived link keys, which the capture's key file gains.
//!
//! Not simulated: beacons and network discovery (devices know the PAN), MAC acknowledgements
//! and retries.

pub mod air;
pub mod cbke;
pub use hanrig_scenario::clock;
pub mod coordinator;
pub mod device;
pub mod esi;
pub mod headend;
pub mod household;
pub mod log;
pub mod ncp;
pub mod remote;
pub mod scenario;
pub mod serve;
pub mod sim;
pub mod stack;
pub mod znp;
