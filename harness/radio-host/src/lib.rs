//! Host drivers for ZigBee radio co-processors. The same driver talks to a real stick on a
//! serial port and to hanrig's simulated co-processor: only the port string differs
//! (`/dev/ttyUSB0`, or `socket://127.0.0.1:9999`).

pub mod cbke;
pub mod ezsp;
pub mod port;
pub mod znp;

use std::time::Duration;

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

/// An APS data frame to or from the co-processor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApsMessage {
    /// The other node's short address.
    pub node: u16,
    /// Profile.
    pub profile: u16,
    /// Cluster.
    pub cluster: u16,
    /// Source endpoint.
    pub source_endpoint: u8,
    /// Destination endpoint.
    pub destination_endpoint: u8,
    /// APS-secured with the link key.
    pub aps_encryption: bool,
    /// The payload (a ZCL frame).
    pub payload: Vec<u8>,
}

/// What the co-processor reports about the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The trust centre admitted a device (trustCenterJoinHandler).
    Joined {
        /// Its short address.
        short: u16,
        /// Its EUI64.
        eui: Eui64,
    },
    /// A message arrived (incomingMessageHandler).
    Incoming(ApsMessage),
}

/// A network to form, as coordinator and trust centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormParams {
    /// Extended PAN ID.
    pub extended_pan_id: u64,
    /// PAN ID.
    pub pan_id: u16,
    /// Channel, 11–26.
    pub channel: u8,
    /// Transmit power, dBm.
    pub tx_power: i8,
    /// The network key.
    pub network_key: [u8; 16],
    /// Admit devices without an install-code key under this global link key (a Home
    /// Automation trust centre; ZigBeeAlliance09). `None`: install codes only, as Smart Energy
    /// requires.
    pub global_link_key: Option<[u8; 16]>,
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
    /// Forms a network as coordinator and trust centre.
    async fn form_network(&mut self, form: &FormParams) -> Result<(), RadioError>;
    /// Joins the network on `pan_id` and `channel` as an end device, with `link_key` (from the
    /// co-processor's own install code) as the key the trust centre sends the network key
    /// under: the rig as an in-home device for a meter under test.
    async fn join_network(
        &mut self,
        pan_id: u16,
        channel: u8,
        link_key: &[u8; 16],
    ) -> Result<(), RadioError>;
    /// Loads the link key `eui` will join with (derived from its install code).
    async fn add_link_key(&mut self, eui: Eui64, key: &[u8; 16]) -> Result<(), RadioError>;
    /// Permits joining for `seconds` (0xFF: until closed; 0: closes).
    async fn permit_joining(&mut self, seconds: u8) -> Result<(), RadioError>;
    /// Sends an APS data frame to one node; returns the sequence or transaction number the
    /// co-processor used.
    async fn send_unicast(&mut self, message: &ApsMessage) -> Result<u8, RadioError>;
    /// The next network event, waiting up to `timeout`.
    async fn next_event(&mut self, timeout: Duration) -> Result<Event, RadioError>;
}

/// A co-processor of either family, chosen at run time.
#[derive(Debug)]
pub enum AnyRadio {
    /// EZSP over ASH (Silicon Labs EmberZNet).
    Ezsp(Box<ezsp::EzspHost>),
    /// MT (TI Z-Stack ZNP).
    Znp(Box<znp::ZnpHost>),
}

impl AnyRadio {
    /// Opens `port` speaking `protocol` (`ezsp` or `znp`).
    pub async fn open(
        protocol: &str,
        port: &str,
        baud: u32,
        flow: port::FlowControl,
    ) -> Result<AnyRadio, RadioError> {
        match protocol {
            "ezsp" => Ok(AnyRadio::Ezsp(Box::new(
                ezsp::EzspHost::open(port, baud, flow).await?,
            ))),
            "znp" => Ok(AnyRadio::Znp(Box::new(
                znp::ZnpHost::open(port, baud, flow).await?,
            ))),
            other => Err(RadioError::Open {
                port: port.to_string(),
                reason: format!("protocol {other:?} is not ezsp or znp"),
            }),
        }
    }
}

macro_rules! delegate {
    ($self:ident, $r:ident => $call:expr) => {
        match $self {
            AnyRadio::Ezsp($r) => {
                let $r = $r.as_mut();
                $call.await
            }
            AnyRadio::Znp($r) => {
                let $r = $r.as_mut();
                $call.await
            }
        }
    };
}

impl Radio for AnyRadio {
    async fn start(&mut self) -> Result<String, RadioError> {
        delegate!(self, r => Radio::start(r))
    }
    async fn eui64(&mut self) -> Result<Eui64, RadioError> {
        delegate!(self, r => Radio::eui64(r))
    }
    async fn network_init(&mut self) -> Result<bool, RadioError> {
        delegate!(self, r => Radio::network_init(r))
    }
    async fn network_info(&mut self) -> Result<NetworkInfo, RadioError> {
        delegate!(self, r => Radio::network_info(r))
    }
    async fn form_network(&mut self, form: &FormParams) -> Result<(), RadioError> {
        delegate!(self, r => Radio::form_network(r, form))
    }
    async fn join_network(
        &mut self,
        pan_id: u16,
        channel: u8,
        link_key: &[u8; 16],
    ) -> Result<(), RadioError> {
        delegate!(self, r => Radio::join_network(r, pan_id, channel, link_key))
    }
    async fn add_link_key(&mut self, eui: Eui64, key: &[u8; 16]) -> Result<(), RadioError> {
        delegate!(self, r => Radio::add_link_key(r, eui, key))
    }
    async fn permit_joining(&mut self, seconds: u8) -> Result<(), RadioError> {
        delegate!(self, r => Radio::permit_joining(r, seconds))
    }
    async fn send_unicast(&mut self, message: &ApsMessage) -> Result<u8, RadioError> {
        delegate!(self, r => Radio::send_unicast(r, message))
    }
    async fn next_event(&mut self, timeout: Duration) -> Result<Event, RadioError> {
        delegate!(self, r => Radio::next_event(r, timeout))
    }
}
