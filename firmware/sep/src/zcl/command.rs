//! The command table: which layout a (cluster, frame type, direction, command ID) carries, and
//! the whole-frame representation [`ZclFrame`].

use crate::MAX_PAYLOAD_LEN;
use crate::clusters::{drlc, key_establishment as ke, messaging, metering, price};
use crate::error::{Error, Result};
use crate::wire::{Field, Reader, RestBytes, Writer};
use crate::zcl::general::{
    self, AttributeRecords, ConfigureReporting, ConfigureReportingResponse, DefaultResponse,
    ReadAttributes, ReadAttributesResponse, WriteAttributesResponse,
};
use crate::zcl::header::{Direction, Frame, FrameType, Header};

/// What frames a command travels in. `cluster: None` marks a general command (any cluster);
/// `direction: None` a command sent either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandKey {
    /// The cluster, or `None` for general commands.
    pub cluster: Option<u16>,
    /// The direction, or `None` when either is allowed.
    pub direction: Option<Direction>,
    /// The command identifier.
    pub id: u8,
}

impl CommandKey {
    /// Whether a frame on `cluster` with `header` carries this command.
    pub fn matches(&self, cluster: u16, header: &Header) -> bool {
        let frame_type_ok = match self.cluster {
            None => header.frame_type == FrameType::General,
            Some(c) => {
                c == cluster
                    && header.frame_type == FrameType::ClusterSpecific
                    && header.manufacturer_code.is_none()
            }
        };
        frame_type_ok
            && self.id == header.command_id
            && self.direction.is_none_or(|d| d == header.direction)
    }
}

/// A command whose layout this crate does not define: an unknown command ID, a
/// manufacturer-specific cluster command, or a reserved frame type. Its payload is kept as is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "proptest", derive(proptest_derive::Arbitrary))]
pub struct UnknownCommand {
    /// The payload after the ZCL header.
    pub payload: RestBytes<MAX_PAYLOAD_LEN>,
}

const C2S: Option<Direction> = Some(Direction::ClientToServer);
const S2C: Option<Direction> = Some(Direction::ServerToClient);
const EITHER: Option<Direction> = None;
const GENERAL: Option<u16> = None;
const PRICE: Option<u16> = Some(price::CLUSTER_ID);
const DRLC: Option<u16> = Some(drlc::CLUSTER_ID);
const METERING: Option<u16> = Some(metering::CLUSTER_ID);
const MESSAGING: Option<u16> = Some(messaging::CLUSTER_ID);
const KE: Option<u16> = Some(ke::CLUSTER_ID);

macro_rules! commands {
    ($( $(#[$m:meta])* $variant:ident($ty:ty) = $json:literal, $cluster:expr, $dir:expr, $id:expr; )*) => {
        /// Every command this crate decodes, named as in the JSON form.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(tag = "name"))]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[cfg_attr(feature = "proptest", derive(proptest_derive::Arbitrary))]
        pub enum Command {
            $(
                $(#[$m])*
                #[cfg_attr(feature = "serde", serde(rename = $json))]
                $variant($ty),
            )*
            /// See [`UnknownCommand`].
            #[cfg_attr(feature = "serde", serde(rename = "unknown"))]
            Unknown(UnknownCommand),
        }

        /// Every command's JSON name and key, in table order.
        pub const COMMANDS: &[(&str, CommandKey)] = &[
            $( ($json, CommandKey { cluster: $cluster, direction: $dir, id: $id }), )*
        ];

        impl Command {
            /// The command's name in the JSON form (`"unknown"` for [`Command::Unknown`]).
            pub fn name(&self) -> &'static str {
                match self {
                    $( Command::$variant(_) => $json, )*
                    Command::Unknown(_) => "unknown",
                }
            }

            /// The frames this command travels in (`None` for [`Command::Unknown`]).
            pub fn key(&self) -> Option<CommandKey> {
                match self {
                    $( Command::$variant(_) => Some(CommandKey { cluster: $cluster, direction: $dir, id: $id }), )*
                    Command::Unknown(_) => None,
                }
            }

            fn read(cluster: u16, header: &Header, r: &mut Reader<'_>) -> Result<Self> {
                $(
                    if (CommandKey { cluster: $cluster, direction: $dir, id: $id }).matches(cluster, header) {
                        return <$ty as Field>::read(r, $json).map(Command::$variant);
                    }
                )*
                RestBytes::read(r, "payload").map(|payload| Command::Unknown(UnknownCommand { payload }))
            }

            fn write(&self, w: &mut Writer<'_>) -> Result<()> {
                match self {
                    $( Command::$variant(c) => c.write(w, $json), )*
                    Command::Unknown(c) => c.payload.write(w, "payload"),
                }
            }

            /// Bytes the payload takes.
            pub fn buffer_len(&self) -> usize {
                match self {
                    $( Command::$variant(c) => c.wire_len(), )*
                    Command::Unknown(c) => c.payload.wire_len(),
                }
            }
        }
    };
}

commands! {
    /// Read Attributes.
    ReadAttributes(ReadAttributes) = "read_attributes", GENERAL, EITHER, general::command_id::READ_ATTRIBUTES;
    /// Read Attributes Response.
    ReadAttributesResponse(ReadAttributesResponse) = "read_attributes_response", GENERAL, EITHER, general::command_id::READ_ATTRIBUTES_RESPONSE;
    /// Write Attributes.
    WriteAttributes(AttributeRecords) = "write_attributes", GENERAL, EITHER, general::command_id::WRITE_ATTRIBUTES;
    /// Write Attributes Undivided.
    WriteAttributesUndivided(AttributeRecords) = "write_attributes_undivided", GENERAL, EITHER, general::command_id::WRITE_ATTRIBUTES_UNDIVIDED;
    /// Write Attributes Response.
    WriteAttributesResponse(WriteAttributesResponse) = "write_attributes_response", GENERAL, EITHER, general::command_id::WRITE_ATTRIBUTES_RESPONSE;
    /// Write Attributes No Response.
    WriteAttributesNoResponse(AttributeRecords) = "write_attributes_no_response", GENERAL, EITHER, general::command_id::WRITE_ATTRIBUTES_NO_RESPONSE;
    /// Configure Reporting.
    ConfigureReporting(ConfigureReporting) = "configure_reporting", GENERAL, EITHER, general::command_id::CONFIGURE_REPORTING;
    /// Configure Reporting Response.
    ConfigureReportingResponse(ConfigureReportingResponse) = "configure_reporting_response", GENERAL, EITHER, general::command_id::CONFIGURE_REPORTING_RESPONSE;
    /// Report Attributes.
    ReportAttributes(AttributeRecords) = "report_attributes", GENERAL, EITHER, general::command_id::REPORT_ATTRIBUTES;
    /// Default Response.
    DefaultResponse(DefaultResponse) = "default_response", GENERAL, EITHER, general::command_id::DEFAULT_RESPONSE;

    /// Price: Get Current Price.
    GetCurrentPrice(price::GetCurrentPrice) = "get_current_price", PRICE, C2S, price::client_command::GET_CURRENT_PRICE;
    /// Price: Get Scheduled Prices.
    GetScheduledPrices(price::GetScheduledPrices) = "get_scheduled_prices", PRICE, C2S, price::client_command::GET_SCHEDULED_PRICES;
    /// Price: Price Acknowledgement.
    PriceAcknowledgement(price::PriceAcknowledgement) = "price_acknowledgement", PRICE, C2S, price::client_command::PRICE_ACKNOWLEDGEMENT;
    /// Price: Publish Price.
    PublishPrice(price::PublishPrice) = "publish_price", PRICE, S2C, price::server_command::PUBLISH_PRICE;

    /// DRLC: Load Control Event.
    LoadControlEvent(drlc::LoadControlEvent) = "load_control_event", DRLC, S2C, drlc::server_command::LOAD_CONTROL_EVENT;
    /// DRLC: Cancel Load Control Event.
    CancelLoadControlEvent(drlc::CancelLoadControlEvent) = "cancel_load_control_event", DRLC, S2C, drlc::server_command::CANCEL_LOAD_CONTROL_EVENT;
    /// DRLC: Cancel All Load Control Events.
    CancelAllLoadControlEvents(drlc::CancelAllLoadControlEvents) = "cancel_all_load_control_events", DRLC, S2C, drlc::server_command::CANCEL_ALL_LOAD_CONTROL_EVENTS;
    /// DRLC: Report Event Status.
    ReportEventStatus(drlc::ReportEventStatus) = "report_event_status", DRLC, C2S, drlc::client_command::REPORT_EVENT_STATUS;
    /// DRLC: Get Scheduled Events.
    GetScheduledEvents(drlc::GetScheduledEvents) = "get_scheduled_events", DRLC, C2S, drlc::client_command::GET_SCHEDULED_EVENTS;

    /// Metering: Get Profile.
    GetProfile(metering::GetProfile) = "get_profile", METERING, C2S, metering::client_command::GET_PROFILE;
    /// Metering: Request Mirror Response.
    RequestMirrorResponse(metering::MirrorEndpoint) = "request_mirror_response", METERING, C2S, metering::client_command::REQUEST_MIRROR_RESPONSE;
    /// Metering: Mirror Removed.
    MirrorRemoved(metering::MirrorEndpoint) = "mirror_removed", METERING, C2S, metering::client_command::MIRROR_REMOVED;
    /// Metering: Request Fast Poll Mode.
    RequestFastPollMode(metering::RequestFastPollMode) = "request_fast_poll_mode", METERING, C2S, metering::client_command::REQUEST_FAST_POLL_MODE;
    /// Metering: Get Profile Response.
    GetProfileResponse(metering::GetProfileResponse) = "get_profile_response", METERING, S2C, metering::server_command::GET_PROFILE_RESPONSE;
    /// Metering: Request Mirror.
    RequestMirror(metering::Empty) = "request_mirror", METERING, S2C, metering::server_command::REQUEST_MIRROR;
    /// Metering: Remove Mirror.
    RemoveMirror(metering::Empty) = "remove_mirror", METERING, S2C, metering::server_command::REMOVE_MIRROR;
    /// Metering: Request Fast Poll Mode Response.
    RequestFastPollModeResponse(metering::RequestFastPollModeResponse) = "request_fast_poll_mode_response", METERING, S2C, metering::server_command::REQUEST_FAST_POLL_MODE_RESPONSE;

    /// Messaging: Display Message.
    DisplayMessage(messaging::DisplayMessage) = "display_message", MESSAGING, S2C, messaging::server_command::DISPLAY_MESSAGE;
    /// Messaging: Cancel Message.
    CancelMessage(messaging::CancelMessage) = "cancel_message", MESSAGING, S2C, messaging::server_command::CANCEL_MESSAGE;
    /// Messaging: Get Last Message.
    GetLastMessage(messaging::GetLastMessage) = "get_last_message", MESSAGING, C2S, messaging::client_command::GET_LAST_MESSAGE;
    /// Messaging: Message Confirmation.
    MessageConfirmation(messaging::MessageConfirmation) = "message_confirmation", MESSAGING, C2S, messaging::client_command::MESSAGE_CONFIRMATION;

    /// Key Establishment: Initiate Key Establishment Request.
    InitiateKeyEstablishmentRequest(ke::InitiateKeyEstablishment) = "initiate_key_establishment_request", KE, C2S, ke::command::INITIATE_KEY_ESTABLISHMENT;
    /// Key Establishment: Initiate Key Establishment Response.
    InitiateKeyEstablishmentResponse(ke::InitiateKeyEstablishment) = "initiate_key_establishment_response", KE, S2C, ke::command::INITIATE_KEY_ESTABLISHMENT;
    /// Key Establishment: Ephemeral Data Request.
    EphemeralDataRequest(ke::EphemeralData) = "ephemeral_data_request", KE, C2S, ke::command::EPHEMERAL_DATA;
    /// Key Establishment: Ephemeral Data Response.
    EphemeralDataResponse(ke::EphemeralData) = "ephemeral_data_response", KE, S2C, ke::command::EPHEMERAL_DATA;
    /// Key Establishment: Confirm Key Data Request.
    ConfirmKeyDataRequest(ke::ConfirmKeyData) = "confirm_key_data_request", KE, C2S, ke::command::CONFIRM_KEY_DATA;
    /// Key Establishment: Confirm Key Data Response.
    ConfirmKeyDataResponse(ke::ConfirmKeyData) = "confirm_key_data_response", KE, S2C, ke::command::CONFIRM_KEY_DATA;
    /// Key Establishment: Terminate Key Establishment.
    TerminateKeyEstablishment(ke::TerminateKeyEstablishment) = "terminate_key_establishment", KE, EITHER, ke::command::TERMINATE_KEY_ESTABLISHMENT;
}

impl Command {
    /// The key of the known command a frame on `cluster` with `header` carries, if any.
    pub fn lookup(cluster: u16, header: &Header) -> Option<(&'static str, CommandKey)> {
        COMMANDS
            .iter()
            .copied()
            .find(|(_, key)| key.matches(cluster, header))
    }

    /// Fails with [`Error::CommandMismatch`] unless this command is what a frame on `cluster`
    /// with `header` carries.
    pub fn check(&self, cluster: u16, header: &Header) -> Result<()> {
        let mismatch = |reason| {
            Err(Error::CommandMismatch {
                command: self.name(),
                reason,
            })
        };
        match self.key() {
            Some(key) if key.matches(cluster, header) => Ok(()),
            Some(key) => {
                if key.cluster.is_some_and(|c| c != cluster) {
                    mismatch("belongs to another cluster")
                } else if key.id != header.command_id {
                    mismatch("the header's command_id is not this command's")
                } else if key.direction.is_some_and(|d| d != header.direction) {
                    mismatch("the header's direction is not this command's")
                } else if key.cluster.is_some() && header.manufacturer_code.is_some() {
                    mismatch(
                        "a manufacturer-specific frame cannot carry a standard cluster command",
                    )
                } else {
                    mismatch("the header's frame_type is not this command's")
                }
            }
            None => match Command::lookup(cluster, header) {
                Some(_) => mismatch(
                    "the header names a known command; give that command's fields and name",
                ),
                None => Ok(()),
            },
        }
    }
}

/// A whole ZCL frame: the cluster it was sent on, its header and its command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ZclFrame {
    /// Cluster identifier (from the APS header).
    pub cluster: u16,
    /// ZCL header.
    pub header: Header,
    /// The command.
    pub command: Command,
}

impl ZclFrame {
    /// Parses a ZCL frame received on `cluster`. Fails on truncation, trailing bytes and values
    /// the layout cannot hold; never panics.
    pub fn parse(cluster: u16, bytes: &[u8]) -> Result<ZclFrame> {
        let frame = Frame::new_checked(bytes)?;
        let header = Header::parse(&frame);
        let mut r = Reader::new(frame.payload(), frame.header_len());
        let command = Command::read(cluster, &header, &mut r)?;
        r.finish()?;
        Ok(ZclFrame {
            cluster,
            header,
            command,
        })
    }

    /// A frame carrying `command` with transaction sequence number `tsn`; the header follows
    /// from the command (requests client→server, responses and SE server commands
    /// server→client). [`Command::Unknown`] needs a header of its own: this returns `None`.
    pub fn new(cluster: u16, command: Command, tsn: u8) -> Option<ZclFrame> {
        let key = command.key()?;
        let response = matches!(
            command,
            Command::ReadAttributesResponse(_)
                | Command::WriteAttributesResponse(_)
                | Command::ConfigureReportingResponse(_)
                | Command::ReportAttributes(_)
        );
        let direction = key.direction.unwrap_or(if response {
            Direction::ServerToClient
        } else {
            Direction::ClientToServer
        });
        let header = Header {
            frame_type: if key.cluster.is_some() {
                FrameType::ClusterSpecific
            } else {
                FrameType::General
            },
            manufacturer_code: None,
            direction,
            disable_default_response: false,
            reserved: 0,
            tsn,
            command_id: key.id,
        };
        Some(ZclFrame {
            cluster: key.cluster.unwrap_or(cluster),
            header,
            command,
        })
    }

    /// Bytes [`ZclFrame::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        self.header.buffer_len() + self.command.buffer_len()
    }

    /// Writes the frame into `buf` and returns its length. Fails, writing nothing useful, when
    /// the command does not match the header and cluster, a value does not fit its field, or
    /// `buf` is too small.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        self.command.check(self.cluster, &self.header)?;
        let len = self.buffer_len();
        let available = buf.len();
        let out = buf.get_mut(..len).ok_or(Error::BufferTooSmall {
            needed: len,
            available,
        })?;
        let mut frame = Frame::new_unchecked(&mut *out);
        self.header.emit(&mut frame)?;
        let header_len = self.header.buffer_len();
        let mut w = Writer::at(frame.payload_mut(), header_len);
        self.command.write(&mut w)?;
        Ok(len)
    }
}
