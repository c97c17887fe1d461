//! Host drivers for ZigBee radio co-processors. The same driver talks to a real stick on a
//! serial port and to hanrig's simulated co-processor: only the port string differs
//! (`/dev/ttyUSB0`, or `socket://127.0.0.1:9999`).

pub mod ezsp;
pub mod port;

use hanrig_sep::Eui64;

/// What went wrong with a radio, always naming the port.
#[derive(Debug, thiserror::Error)]
pub enum RadioError {
    /// The port could not be opened.
    #[error("{port}: cannot open: {reason}")]
    Open {
        /// The port.
        port: String,
        /// Why.
        reason: String,
    },
    /// Reading or writing failed (the device vanished, the connection closed).
    #[error("{port}: {reason}")]
    Io {
        /// The port.
        port: String,
        /// Why.
        reason: String,
    },
    /// The ASH link failed (acknowledgements stopped coming); the driver restarts the
    /// co-processor when it can.
    #[error("{port}: the ASH link failed (no acknowledgements)")]
    LinkFailed {
        /// The port.
        port: String,
    },
    /// No answer in time.
    #[error("{port}: no answer to {what} within {seconds} s")]
    Timeout {
        /// The port.
        port: String,
        /// What was waited for.
        what: String,
        /// How long.
        seconds: f64,
    },
    /// The co-processor answered something the driver cannot use.
    #[error("{port}: {what}")]
    Protocol {
        /// The port.
        port: String,
        /// What was wrong.
        what: String,
    },
}

/// The network a co-processor is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkInfo {
    /// Node type (1 coordinator).
    pub node_type: u8,
    /// Extended PAN ID.
    pub extended_pan_id: u64,
    /// PAN ID.
    pub pan_id: u16,
    /// Channel.
    pub channel: u8,
}

/// One interface for every co-processor family.
#[allow(async_fn_in_trait)]
pub trait Radio {
    /// Resets the co-processor and negotiates the protocol; returns a description
    /// (e.g. `EZSP v13, EmberZNet 7.4.5.0`).
    async fn start(&mut self) -> Result<String, RadioError>;
    /// The co-processor's EUI64.
    async fn eui64(&mut self) -> Result<Eui64, RadioError>;
    /// Brings up the network the co-processor has stored; `Ok(false)` when it has none.
    async fn network_init(&mut self) -> Result<bool, RadioError>;
    /// The network it is on.
    async fn network_info(&mut self) -> Result<NetworkInfo, RadioError>;
}
