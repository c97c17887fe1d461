//! # hanrig-gateway: the HAN gateway's domain core
//!
//! What the gateway knows, with no I/O and no clock of its own (times are arguments): the
//! repository, the head-end connectors and the HTTP API are shells around it.
//!
//! - [`access`]: companies (third party, REP, TDSP, regulator), their users and what each may
//!   do (Table 6);
//! - [`esiid`]: Texas ESIIDs, checked; [`routing`]: which TDSP serves an ESIID, by prefix, from
//!   configuration, and which head-end style each TDSP speaks;
//! - [`device`]: a device to provision (ESIID, EUI64, install code with its CRC checked, type)
//!   and a device's life (pending, provisioned, failed, removed with a reason);
//! - [`message`]: HAN messages — price, text, load control — addressed to at most 10,000 ESIIDs
//!   and devices, checked, and encoded once as the SE 1.0 command every address receives;
//! - [`delivery`]: one delivery's states, queued → sent → delivered → device-acknowledged, or
//!   failed, and the transitions allowed;
//! - [`agreement`]: In-Home Device and In-Home Device Services agreements by invitation
//!   (accept, reject, expiry after 30 days with one resend, at most 5 of each per meter).
//!
//! ```
//! use hanrig_gateway::esiid::Esiid;
//! use hanrig_gateway::routing::{Routing, Tdsp};
//! let routing = Routing::texas();
//! let esiid: Esiid = "10443720001234567".parse().unwrap();
//! assert_eq!(routing.route(&esiid).unwrap(), Tdsp::Oncor);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
pub mod agreement;
pub mod delivery;
pub mod device;
pub mod esiid;
pub mod message;
pub mod routing;
