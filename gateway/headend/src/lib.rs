//! # hanrig-headend: head-end protocols, defined once for both sides
//!
//! hanrig's per-TDSP connectors (in the gateway) speak these protocols and its simulated
//! head-ends (for CI and the lab) serve them; both use the definitions here, so the two sides
//! cannot drift apart. Three styles, grounded in public standards
//! (`../shared/reference/headend-facts.md`):
//!
//! - [`cim`]: IEC 61968-9 CIM messages in the 61968-100 envelope (SOAP 1.1) — the
//!   EndDeviceControlType codes a head-end uses for HAN pairing, text, price and load control,
//!   `create EndDeviceControls` requests, their `reply` and the `created EndDeviceEvents`
//!   results that come back;
//! - [`multispeak`]: MultiSpeak 4.1 `Initiate*` requests (SOAP 1.1 with `MultiSpeakMsgHeader`),
//!   their `errorObject` responses, and their notifications with their status vocabularies;
//! - [`jobs`]: an OpenWay-like job API (submit, poll, optional push), in JSON.
//!
//! [`xml`] holds what both SOAP styles share: the SOAP envelope, a namespace-aware reader
//! (quick-xml) whose errors name the missing element's path, and xsd:dateTime.
//!
//! Each style has its own [`limits::Limits`] and maps its result vocabulary onto the
//! gateway's delivery states.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cim;
pub mod jobs;
pub mod limits;
pub mod multispeak;
pub mod xml;
