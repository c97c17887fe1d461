//! IEC 61968-9: the EndDeviceControlType codes a head-end acts on and the EndDeviceEvent codes
//! it reports, `<EndDeviceType>.<Domain>.<SubDomain>.<EventOrAction>` (Annex E). The control
//! codes are the ones a deployed head-end maps (Connexo's EndDeviceControlTypeMapping, facts
//! §1.4); the result events are composed from the same enumerations.

use serde::{Deserialize, Serialize};

/// HAN pairing window open (with the device's EUI64 and install code as attributes).
pub const PAIRING_WINDOW_OPEN: &str = "0.10.73.298";
/// HAN pairing window close.
pub const PAIRING_WINDOW_CLOSE: &str = "0.10.73.299";
/// Text message: display.
pub const TEXT_DISPLAY: &str = "0.13.112.77";
/// Text message: cancel.
pub const TEXT_CANCEL: &str = "0.13.112.8";
/// Price signal: create.
pub const PRICE_CREATE: &str = "0.20.9.82";
/// Load control event: schedule.
pub const LCE_SCHEDULE: &str = "0.15.43.300";
/// Load control event: cancel.
pub const LCE_CANCEL: &str = "0.15.43.8";
/// Load control events: cancel all.
pub const LCE_CANCEL_ALL: &str = "0.15.148.8";

/// The reply's overall result (61968-100 `Reply/Result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ReplyResult {
    /// Every item accepted.
    Ok,
    /// Some items refused (see the errors).
    Partial,
    /// Nothing accepted.
    Failed,
}

impl ReplyResult {
    /// The result of a request of which something was `done` and something `refused`: OK,
    /// PARTIAL, or FAILED when nothing was done.
    pub fn of(done: bool, refused: bool) -> ReplyResult {
        match (done, refused) {
            (true, false) => ReplyResult::Ok,
            (true, true) => ReplyResult::Partial,
            (false, _) => ReplyResult::Failed,
        }
    }
}

/// The control type that carries an SE 1.0 command of `cluster` and `command_id`
/// (server-to-client), if a head-end has one.
pub fn control_type(cluster: u16, command_id: u8) -> Option<&'static str> {
    Some(match (cluster, command_id) {
        (0x0703, 0x00) => TEXT_DISPLAY,
        (0x0703, 0x01) => TEXT_CANCEL,
        (0x0700, 0x00) => PRICE_CREATE,
        (0x0701, 0x00) => LCE_SCHEDULE,
        (0x0701, 0x01) => LCE_CANCEL,
        (0x0701, 0x02) => LCE_CANCEL_ALL,
        _ => return None,
    })
}

/// Which SE 1.0 cluster a control type's frame belongs to (the inverse of [`control_type`]'s
/// cluster), for the HAN codes this crate knows.
pub fn cluster_of(control_type: &str) -> Option<u16> {
    Some(match control_type {
        TEXT_DISPLAY | TEXT_CANCEL => 0x0703,
        PRICE_CREATE => 0x0700,
        LCE_SCHEDULE | LCE_CANCEL | LCE_CANCEL_ALL => 0x0701,
        _ => return None,
    })
}

/// Result events the simulated head-end reports and the connector reads, per delivery stage
/// and cluster (composed from the 61968-9 enumerations, facts §1.4 "[INF]"; the pairing,
/// display, load-control and pricing domains and the event numbers hanrig-gateway-connect's
/// `states::cim_event` reads).
pub mod event {
    /// The device displayed the text.
    pub const TEXT_DISPLAYED: &str = "0.13.112.78";
    /// The text was not displayed.
    pub const TEXT_DISPLAY_FAILED: &str = "0.13.112.87";
    /// The device answered the text (Message Confirmation): the display sub-domain's
    /// opted-in/acknowledged number is not in the facts, so the device's answer is reported
    /// as `EventStarted` (287) there — this project's choice.
    pub const TEXT_CONFIRMED: &str = "0.13.112.287";
    /// The load-control event reached the device.
    pub const LCE_SCHEDULED: &str = "0.15.43.225";
    /// The load-control event could not be scheduled.
    pub const LCE_SCHEDULE_FAILED: &str = "0.15.43.301";
    /// The device's Report Event Status (event started).
    pub const LCE_STARTED: &str = "0.15.43.287";
    /// The device's Report Event Status (event completed/stopped).
    pub const LCE_STOPPED: &str = "0.15.43.288";
    /// The device's Report Event Status (user opted out).
    pub const LCE_OPTED_OUT: &str = "0.15.43.81";
    /// The price reached the device.
    pub const PRICE_SCHEDULED: &str = "0.20.9.225";
    /// The device acknowledged the price (Price Acknowledgement), reported as
    /// `EventStarted` (287) — this project's choice, as for texts.
    pub const PRICE_ACKNOWLEDGED: &str = "0.20.9.287";
    /// The price did not get through.
    pub const PRICE_FAILED: &str = "0.20.9.85";
    /// A device registered (pairing).
    pub const REGISTERED: &str = "0.10.73.50";
    /// Pairing failed.
    pub const REGISTRATION_FAILED: &str = "0.10.73.85";
    /// The event a head-end reports when a target of a control carrying an SE frame of
    /// `cluster` reaches `state` (the job vocabulary, which the simulated head-ends share),
    /// with the device's Report Event Status if it sent one: `None` when the stage is not
    /// reported (queued, on its way to the meter). A Report Event Status of
    /// `CommandReceived` reports the event scheduled (225, delivered); `Started` and the
    /// other in-event statuses `EventStarted` (287), `Completed` and the ends
    /// `EventStopped` (288), opt-out/in `OptedOut` (81), rejections `ScheduleFailed` (301).
    pub fn result_event(
        cluster: u16,
        state: crate::jobs::TargetState,
        event_status: Option<hanrig_sep::clusters::drlc::EventStatus>,
    ) -> Option<&'static str> {
        use crate::jobs::TargetState as T;
        use hanrig_sep::clusters::drlc::EventStatus as S;
        Some(match (cluster, state) {
            (_, T::Queued | T::Sent) => return None,
            (_, T::Expired) => expired(cluster),
            (0x0703, T::Delivered) => TEXT_DISPLAYED,
            (0x0703, T::Acknowledged) => TEXT_CONFIRMED,
            (0x0703, T::Failed) => TEXT_DISPLAY_FAILED,
            (0x0700, T::Delivered) => PRICE_SCHEDULED,
            (0x0700, T::Acknowledged) => PRICE_ACKNOWLEDGED,
            (0x0700, T::Failed) => PRICE_FAILED,
            (_, T::Delivered) => LCE_SCHEDULED,
            (_, T::Failed) => LCE_SCHEDULE_FAILED,
            (_, T::Acknowledged) => match event_status {
                Some(S::CommandReceived) => LCE_SCHEDULED,
                Some(
                    S::Completed
                    | S::Cancelled
                    | S::Superseded
                    | S::PartiallyCompletedWithOptOut
                    | S::PartiallyCompletedWithOptIn
                    | S::CompletedNoParticipation,
                ) => LCE_STOPPED,
                Some(S::UserOptedOut | S::UserOptedIn) => LCE_OPTED_OUT,
                Some(S::Started) | None => LCE_STARTED,
                Some(_) => LCE_SCHEDULE_FAILED,
            },
        })
    }

    /// The event a head-end reports when a pairing (`0.10.73.298`, pairing window open with
    /// the device's EUI64 and install code) reaches `state`: registered (50) once the device
    /// joined, failed (85) when it did not (lost, window closed); `None` while the window
    /// is on its way or open. Composed from the enumerations as the facts say (§1.4
    /// "[INF]": Pairing domain 10, Window sub-domain 73, Registered 50, Failed 85); the
    /// pairing window's sub-domain rather than Registration (90) is this project's choice,
    /// made with [`REGISTERED`] and [`REGISTRATION_FAILED`].
    pub fn pairing_event(state: crate::jobs::TargetState) -> Option<&'static str> {
        use crate::jobs::TargetState as T;
        match state {
            T::Queued | T::Sent | T::Delivered => None,
            T::Acknowledged => Some(REGISTERED),
            T::Failed | T::Expired => Some(REGISTRATION_FAILED),
        }
    }

    /// Nothing reached the device before the control's end.
    pub fn expired(cluster: u16) -> &'static str {
        match cluster {
            0x0703 => "0.13.112.64",
            0x0700 => "0.20.9.64",
            _ => "0.15.43.64",
        }
    }
}

pub use message::*;

/// The 61968-100 messages in SOAP 1.1 that carry `create EndDeviceControls` and its results:
/// [`RequestMessage`], [`ResponseMessage`], [`EventMessage`], each with `to_xml` and
/// `from_xml`.
///
/// ```
/// use hanrig_headend::cim::*;
/// let request = RequestMessage {
///     header: Header::new("create", "EndDeviceControls", 1_782_914_400, "m1", "c1")
///         .replying_to("http://gw/cim/events"),
///     controls: vec![EndDeviceControl::deliver(0x0701, &[0x09, 0x01, 0x02], 1_782_914_400,
///         1_783_000_000, vec![EndDevice::named("10032789999999999999999")]).unwrap()],
/// };
/// assert_eq!(RequestMessage::from_xml(&request.to_xml()).unwrap(), request);
/// ```
mod message {
    use super::{PAIRING_WINDOW_OPEN, ReplyResult, cluster_of};
    use crate::xml::{self, El, Element, XmlError};

    /// The 61968-100 message namespace.
    pub const MESSAGE_NS: &str = "http://iec.ch/TC57/2011/schema/message";
    /// The EndDeviceControls payload namespace (as in Landis+Gyr's connector XSD, facts §1.3).
    pub const END_DEVICE_CONTROLS_NS: &str = "http://iec.ch/TC57/2011/EndDeviceControls#";
    /// The EndDeviceEvents payload namespace.
    pub const END_DEVICE_EVENTS_NS: &str = "http://iec.ch/TC57/2011/EndDeviceEvents#";
    /// The noun of control requests.
    pub const NOUN_CONTROLS: &str = "EndDeviceControls";
    /// The noun of result events.
    pub const NOUN_EVENTS: &str = "EndDeviceEvents";
    /// The noun of meter reads: `get MeterReadings`, answered `reply MeterReadings` (Connexo's
    /// `SendMeterReadingsProviderImpl`).
    pub const NOUN_READINGS: &str = "MeterReadings";
    /// The namespace of the `GetMeterReadings` request (IEC 61968-9 `GetMeterReadings.xsd`).
    pub const GET_METER_READINGS_NS: &str = "http://iec.ch/TC57/2011/GetMeterReadings#";
    /// The namespace of the `MeterReadings` payload (IEC 61968-9 `MeterReadings.xsd`).
    pub const METER_READINGS_NS: &str = "http://iec.ch/TC57/2011/MeterReadings#";
    /// The ReadingType of the register an on-demand read returns: bulk (1), forward (1),
    /// electricity secondary metered (1), energy (12), kilo (3) Wh (72) — Connexo's
    /// `BULK_A_PLUS_ALL_PHASES`, OBIS 1.0.1.8.0.255.
    pub const REGISTER_KWH: &str = "0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0";

    /// Why a CIM message cannot be built.
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    pub enum CimError {
        /// No control type carries this SE command.
        #[error(
            "no CIM EndDeviceControlType carries SE command 0x{command_id:02x} of cluster 0x{cluster:04x}"
        )]
        NoControlType {
            /// The cluster.
            cluster: u16,
            /// The command.
            command_id: u8,
        },
        /// A ZCL frame too short to hold a header.
        #[error("a ZCL frame of {0} bytes has no command ID")]
        ShortFrame(usize),
    }

    /// The 61968-100 `Header`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Header {
        /// `create`, `created`, `reply`, …
        pub verb: String,
        /// `EndDeviceControls`, `EndDeviceEvents`.
        pub noun: String,
        /// When the message was made, Unix seconds.
        pub timestamp: Option<u64>,
        /// Whether results come later to `reply_address` (a head-end requires `true`).
        pub async_reply_flag: Option<bool>,
        /// Where results go.
        pub reply_address: Option<String>,
        /// This message.
        pub message_id: Option<String>,
        /// The request this message belongs to (the gateway's idempotency key).
        pub correlation_id: Option<String>,
    }

    impl Header {
        /// A header with a verb, noun, time, message and correlation ID.
        pub fn new(verb: &str, noun: &str, now: u64, message_id: &str, correlation: &str) -> Self {
            Header {
                verb: verb.into(),
                noun: noun.into(),
                timestamp: Some(now),
                async_reply_flag: None,
                reply_address: None,
                message_id: Some(message_id.into()),
                correlation_id: Some(correlation.into()),
            }
        }

        /// Asynchronous, results to `address`.
        pub fn replying_to(mut self, address: &str) -> Self {
            self.async_reply_flag = Some(true);
            self.reply_address = Some(address.into());
            self
        }

        fn el(&self) -> El {
            El::new("Header")
                .leaf("Verb", &self.verb)
                .leaf("Noun", &self.noun)
                .opt_leaf("Timestamp", self.timestamp.map(xml::datetime))
                .opt_leaf("AsyncReplyFlag", self.async_reply_flag)
                .opt_leaf("ReplyAddress", self.reply_address.as_ref())
                .opt_leaf("MessageID", self.message_id.as_ref())
                .opt_leaf("CorrelationID", self.correlation_id.as_ref())
        }

        fn parse(e: &Element) -> Result<Header, XmlError> {
            Ok(Header {
                verb: e.text_of("Verb")?.to_string(),
                noun: e.text_of("Noun")?.to_string(),
                timestamp: match e.child("Timestamp") {
                    Some(_) => Some(xml::datetime_of(e, "Timestamp")?),
                    None => None,
                },
                async_reply_flag: match e.child("AsyncReplyFlag") {
                    Some(_) => Some(xml::bool_of(e, "AsyncReplyFlag")?),
                    None => None,
                },
                reply_address: e.opt_text("ReplyAddress").map(str::to_string),
                message_id: e.opt_text("MessageID").map(str::to_string),
                correlation_id: e.opt_text("CorrelationID").map(str::to_string),
            })
        }

        fn expect(&self, e: &Element, verb: &str, noun: &str) -> Result<(), XmlError> {
            if self.verb != verb || self.noun != noun {
                return Err(XmlError::Unexpected {
                    path: format!("{}/Header", e.path()),
                    expected: format!("Verb {verb}, Noun {noun}"),
                    found: format!("Verb {}, Noun {}", self.verb, self.noun),
                });
            }
            Ok(())
        }
    }

    /// One `EndDevices` entry: a meter by its ESIID or a HAN device by its EUI64 in
    /// `Names/name`; for pairing, the device's `installCode` and `isPan` (CIM `EndDevice`
    /// attributes) — carrying them there is this project's choice (facts §1.4: no code for
    /// install codes was found).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct EndDevice {
        /// The ESIID or EUI64.
        pub name: String,
        /// The install code (hex, with its CRC), for a device being paired.
        pub install_code: Option<String>,
        /// Whether it is a HAN (PAN) device rather than a meter.
        pub is_pan: Option<bool>,
    }

    impl EndDevice {
        /// A meter or device by name only.
        pub fn named(name: &str) -> EndDevice {
            EndDevice {
                name: name.into(),
                install_code: None,
                is_pan: None,
            }
        }
    }

    /// One `EndDeviceControl`. hanrig's choice: the SE 1.0 command goes as its encoded ZCL
    /// frame (hex) in `EndDeviceAction/command`, so every field of the SE command reaches the
    /// meter exactly as the gateway encoded it; the control type names what it is.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct EndDeviceControl {
        /// `EndDeviceControlType@ref` (see the constants of [`super`]).
        pub control_type: String,
        /// `EndDeviceAction/command`: the ZCL frame, hex (none for pairing).
        pub command: Option<String>,
        /// `primaryDeviceTiming/interval/start`: release time, Unix seconds.
        pub start: u64,
        /// `scheduledInterval/end`: after this, undelivered controls expire.
        pub end: u64,
        /// The meters or devices.
        pub end_devices: Vec<EndDevice>,
    }

    impl EndDeviceControl {
        /// The control carrying ZCL frame `zcl` of `cluster` to `end_devices`.
        pub fn deliver(
            cluster: u16,
            zcl: &[u8],
            start: u64,
            end: u64,
            end_devices: Vec<EndDevice>,
        ) -> Result<EndDeviceControl, CimError> {
            // The command ID follows the frame control, the manufacturer code if flagged,
            // and the sequence number.
            let at = if zcl.first().is_some_and(|fc| fc & 0x04 != 0) {
                4
            } else {
                2
            };
            let command_id = *zcl.get(at).ok_or(CimError::ShortFrame(zcl.len()))?;
            // Control types name cluster-specific commands; a general command (Write
            // Attributes 0x02 on DRLC is not Cancel All 0x02) has none.
            let cluster_specific = zcl.first().is_some_and(|fc| fc & 0x03 == 0x01);
            let control_type = super::control_type(cluster, command_id)
                .filter(|_| cluster_specific)
                .ok_or(CimError::NoControlType {
                    cluster,
                    command_id,
                })?;
            Ok(EndDeviceControl {
                control_type: control_type.into(),
                command: Some(xml::hex(zcl)),
                start,
                end,
                end_devices,
            })
        }

        /// Pairing window open on `meter` (ESIID) for device `eui64` with `install_code`.
        pub fn pairing(meter: &str, eui64: &str, install_code: &str, start: u64, end: u64) -> Self {
            EndDeviceControl {
                control_type: PAIRING_WINDOW_OPEN.into(),
                command: None,
                start,
                end,
                end_devices: vec![
                    EndDevice {
                        name: meter.into(),
                        install_code: None,
                        is_pan: Some(false),
                    },
                    EndDevice {
                        name: eui64.into(),
                        install_code: Some(install_code.into()),
                        is_pan: Some(true),
                    },
                ],
            }
        }

        /// The SE cluster and ZCL frame this control carries, if it carries one of a known
        /// control type.
        pub fn zcl(&self) -> Result<(u16, Vec<u8>), String> {
            let cluster = cluster_of(&self.control_type).ok_or_else(|| {
                format!(
                    "EndDeviceControlType {} carries no SE frame",
                    self.control_type
                )
            })?;
            let hex = self
                .command
                .as_deref()
                .ok_or("EndDeviceAction/command (the ZCL frame) is missing")?;
            let bytes = xml::unhex(hex)
                .ok_or_else(|| format!("EndDeviceAction/command {hex:?} is not hex"))?;
            Ok((cluster, bytes))
        }

        fn el(&self) -> El {
            let mut e = El::new("m:EndDeviceControl");
            if let Some(c) = &self.command {
                e = e.child(El::new("m:EndDeviceAction").leaf("m:command", c));
            }
            e.child(El::new("m:EndDeviceControlType").attr("ref", &self.control_type))
                .children(self.end_devices.iter().map(|d| {
                    El::new("m:EndDevices")
                        .opt_leaf("m:installCode", d.install_code.as_ref())
                        .opt_leaf("m:isPan", d.is_pan)
                        .child(El::new("m:Names").leaf("m:name", &d.name))
                }))
                .child(
                    El::new("m:primaryDeviceTiming")
                        .child(El::new("m:interval").leaf("m:start", xml::datetime(self.start))),
                )
                .child(El::new("m:scheduledInterval").leaf("m:end", xml::datetime(self.end)))
        }

        fn parse(e: &Element) -> Result<EndDeviceControl, XmlError> {
            let timing = e.req("primaryDeviceTiming")?.req("interval")?;
            let end_devices = e
                .all("EndDevices")
                .map(|d| {
                    Ok(EndDevice {
                        name: d.req("Names")?.text_of("name")?.to_string(),
                        install_code: d.opt_text("installCode").map(str::to_string),
                        is_pan: match d.child("isPan") {
                            Some(_) => Some(xml::bool_of(d, "isPan")?),
                            None => None,
                        },
                    })
                })
                .collect::<Result<Vec<_>, XmlError>>()?;
            if end_devices.is_empty() {
                return Err(XmlError::Missing(format!("{}/EndDevices", e.path())));
            }
            Ok(EndDeviceControl {
                control_type: e.req("EndDeviceControlType")?.req_attr("ref")?.to_string(),
                command: match e.child("EndDeviceAction") {
                    Some(a) => Some(a.text_of("command")?.to_string()),
                    None => None,
                },
                start: xml::datetime_of(timing, "start")?,
                end: xml::datetime_of(e.req("scheduledInterval")?, "end")?,
                end_devices,
            })
        }
    }

    /// `RequestMessage`: `create EndDeviceControls`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RequestMessage {
        /// Verb `create`, noun `EndDeviceControls`.
        pub header: Header,
        /// The controls (the gateway sends one per request).
        pub controls: Vec<EndDeviceControl>,
    }

    fn body(xml_text: &str, kind: &str) -> Result<Element, XmlError> {
        let (_, body) = xml::open_envelope(xml_text)?;
        let message = body.first()?.clone();
        if message.name() != kind {
            return Err(XmlError::Unexpected {
                path: message.path(),
                expected: kind.into(),
                found: message.name().to_string(),
            });
        }
        message.expect_ns(MESSAGE_NS)?;
        Ok(message)
    }

    impl RequestMessage {
        /// The SOAP document.
        pub fn to_xml(&self) -> String {
            xml::envelope(
                None,
                El::new("RequestMessage")
                    .attr("xmlns", MESSAGE_NS)
                    .child(self.header.el())
                    .child(
                        El::new("Payload").child(
                            El::new("m:EndDeviceControls")
                                .attr("xmlns:m", END_DEVICE_CONTROLS_NS)
                                .children(self.controls.iter().map(EndDeviceControl::el)),
                        ),
                    ),
            )
        }

        /// Reads one; the verb must be `create` and the noun `EndDeviceControls`.
        pub fn from_xml(text: &str) -> Result<RequestMessage, XmlError> {
            let m = body(text, "RequestMessage")?;
            let header = Header::parse(m.req("Header")?)?;
            header.expect(&m, "create", NOUN_CONTROLS)?;
            let controls = m
                .req("Payload")?
                .req("EndDeviceControls")?
                .all("EndDeviceControl")
                .map(EndDeviceControl::parse)
                .collect::<Result<Vec<_>, _>>()?;
            if controls.is_empty() {
                return Err(XmlError::Missing(
                    "Envelope/Body/RequestMessage/Payload/EndDeviceControls/EndDeviceControl"
                        .into(),
                ));
            }
            Ok(RequestMessage { header, controls })
        }
    }

    /// An error's level.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ErrorLevel {
        /// For information.
        Inform,
        /// Something was not done.
        Warning,
        /// The request failed.
        Fatal,
        /// The system failed.
        Catastrophic,
    }

    impl ErrorLevel {
        fn name(self) -> &'static str {
            match self {
                ErrorLevel::Inform => "INFORM",
                ErrorLevel::Warning => "WARNING",
                ErrorLevel::Fatal => "FATAL",
                ErrorLevel::Catastrophic => "CATASTROPHIC",
            }
        }
    }

    /// Code of an unknown end device: the value a public head-end demo uses (facts §1.1; the
    /// 61968-100 code table was not found).
    pub const ERROR_NO_SUCH_DEVICE: &str = "2.4";
    /// Code of a request the head-end cannot act on (missing CorrelationID or ReplyAddress,
    /// synchronous mode, a frame it cannot read) — this project's choice, next to `2.4`.
    pub const ERROR_BAD_REQUEST: &str = "2.5";

    /// One `Reply/Error`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ReplyError {
        /// `code`.
        pub code: String,
        /// `level`.
        pub level: ErrorLevel,
        /// `reason`.
        pub reason: String,
        /// `ID`: the object the error is about (an end device's name).
        pub id: Option<String>,
    }

    /// `Reply`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Reply {
        /// OK, PARTIAL, FAILED.
        pub result: ReplyResult,
        /// Why anything was refused.
        pub errors: Vec<ReplyError>,
    }

    /// `RequestMessage`: `get MeterReadings`, an on-demand read of each meter's register
    /// ([`REGISTER_KWH`]) — `Request/GetMeterReadings` with one `EndDevice` per meter, named by
    /// its ESIID. Asynchronous (AsyncReplyFlag, ReplyAddress, CorrelationID): the readings come
    /// later as a `reply MeterReadings` [`ResponseMessage`] to the ReplyAddress (facts §1.2,
    /// Connexo's asynchronous `GetMeterReadings`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ReadRequest {
        /// Verb `get`, noun `MeterReadings`.
        pub header: Header,
        /// The meters, by ESIID.
        pub meters: Vec<String>,
    }

    impl ReadRequest {
        /// The SOAP document.
        pub fn to_xml(&self) -> String {
            xml::envelope(
                None,
                El::new("RequestMessage")
                    .attr("xmlns", MESSAGE_NS)
                    .child(self.header.el())
                    .child(
                        El::new("Request").child(
                            El::new("m:GetMeterReadings")
                                .attr("xmlns:m", GET_METER_READINGS_NS)
                                .children(self.meters.iter().map(|m| {
                                    El::new("m:EndDevice")
                                        .child(El::new("m:Names").leaf("m:name", m))
                                }))
                                .child(El::new("m:ReadingType").leaf("m:mRID", REGISTER_KWH)),
                        ),
                    ),
            )
        }

        /// Reads one; the verb must be `get`, the noun `MeterReadings`, every end device named,
        /// and a ReadingType, if given, the register ([`REGISTER_KWH`]).
        pub fn from_xml(text: &str) -> Result<ReadRequest, XmlError> {
            let m = body(text, "RequestMessage")?;
            let header = Header::parse(m.req("Header")?)?;
            header.expect(&m, "get", NOUN_READINGS)?;
            let get = m.req("Request")?.req("GetMeterReadings")?;
            for t in get.all("ReadingType") {
                let id = t.text_of("mRID")?;
                if id != REGISTER_KWH {
                    return Err(t.invalid(
                        "mRID",
                        id,
                        &format!("is not the register this head-end reads ({REGISTER_KWH})"),
                    ));
                }
            }
            let meters = get
                .all("EndDevice")
                .map(|d| Ok(d.req("Names")?.text_of("name")?.to_string()))
                .collect::<Result<Vec<_>, XmlError>>()?;
            if meters.is_empty() {
                return Err(XmlError::Missing(format!("{}/EndDevice", get.path())));
            }
            Ok(ReadRequest { header, meters })
        }
    }

    /// What a CIM head-end's request is.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum CimRequest {
        /// `create EndDeviceControls`.
        Controls(RequestMessage),
        /// `get MeterReadings`.
        Read(ReadRequest),
    }

    impl CimRequest {
        /// Reads a RequestMessage of either kind, by its header's noun.
        pub fn from_xml(text: &str) -> Result<CimRequest, XmlError> {
            let m = body(text, "RequestMessage")?;
            let header = Header::parse(m.req("Header")?)?;
            if header.noun == NOUN_READINGS {
                ReadRequest::from_xml(text).map(CimRequest::Read)
            } else {
                RequestMessage::from_xml(text).map(CimRequest::Controls)
            }
        }
    }

    /// One meter's register as read: a `MeterReading` with `Meter/Names/name` and one
    /// `Readings` (reason `inquiry`, `timeStamp`, `value` in kWh, ReadingType
    /// [`REGISTER_KWH`]).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Read {
        /// The meter's ESIID.
        pub meter: String,
        /// Energy delivered, Wh.
        pub register_wh: u64,
        /// When the meter read it, Unix seconds.
        pub read_at: u64,
    }

    /// `ResponseMessage`: the head-end's immediate answer (verb `reply`), or the readings of a
    /// `get MeterReadings` (noun `MeterReadings`, `Payload/MeterReadings`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ResponseMessage {
        /// Verb `reply`, the request's noun and CorrelationID.
        pub header: Header,
        /// The result.
        pub reply: Reply,
        /// The registers read (none but in the readings of a `get MeterReadings`).
        pub readings: Vec<Read>,
    }

    impl ResponseMessage {
        /// The SOAP document.
        pub fn to_xml(&self) -> String {
            let result = match self.reply.result {
                ReplyResult::Ok => "OK",
                ReplyResult::Partial => "PARTIAL",
                ReplyResult::Failed => "FAILED",
            };
            let mut message = El::new("ResponseMessage")
                .attr("xmlns", MESSAGE_NS)
                .child(self.header.el())
                .child(El::new("Reply").leaf("Result", result).children(
                    self.reply.errors.iter().map(|e| {
                        El::new("Error")
                            .leaf("code", &e.code)
                            .leaf("level", e.level.name())
                            .leaf("reason", &e.reason)
                            .opt_leaf("ID", e.id.as_ref())
                    }),
                ));
            if !self.readings.is_empty() {
                message = message.child(
                    El::new("Payload").child(
                        El::new("r:MeterReadings")
                            .attr("xmlns:r", METER_READINGS_NS)
                            .children(self.readings.iter().map(|r| {
                                El::new("r:MeterReading")
                                    .child(
                                        El::new("r:Meter")
                                            .child(El::new("r:Names").leaf("r:name", &r.meter)),
                                    )
                                    .child(
                                        El::new("r:Readings")
                                            .leaf("r:reason", "inquiry")
                                            .leaf("r:timeStamp", xml::datetime(r.read_at))
                                            .leaf("r:value", xml::kwh(r.register_wh))
                                            .child(
                                                El::new("r:ReadingType").attr("ref", REGISTER_KWH),
                                            ),
                                    )
                            })),
                    ),
                );
            }
            xml::envelope(None, message)
        }

        /// Reads one.
        pub fn from_xml(text: &str) -> Result<ResponseMessage, XmlError> {
            let m = body(text, "ResponseMessage")?;
            let header = Header::parse(m.req("Header")?)?;
            let reply = m.req("Reply")?;
            let result = match reply.text_of("Result")? {
                "OK" => ReplyResult::Ok,
                "PARTIAL" => ReplyResult::Partial,
                "FAILED" => ReplyResult::Failed,
                other => {
                    return Err(reply.invalid("Result", other, "is not OK, PARTIAL or FAILED"));
                }
            };
            let errors = reply
                .all("Error")
                .map(|e| {
                    Ok(ReplyError {
                        code: e.text_of("code")?.to_string(),
                        level: match e.opt_text("level") {
                            None | Some("FATAL") => ErrorLevel::Fatal,
                            Some("INFORM") => ErrorLevel::Inform,
                            Some("WARNING") => ErrorLevel::Warning,
                            Some("CATASTROPHIC") => ErrorLevel::Catastrophic,
                            Some(other) => {
                                return Err(e.invalid(
                                    "level",
                                    other,
                                    "is not INFORM, WARNING, FATAL or CATASTROPHIC",
                                ));
                            }
                        },
                        reason: e.opt_text("reason").unwrap_or_default().to_string(),
                        id: e.opt_text("ID").map(str::to_string),
                    })
                })
                .collect::<Result<Vec<_>, XmlError>>()?;
            let mut readings = Vec::new();
            if let Some(payload) = m.child("Payload") {
                for reading in payload.req("MeterReadings")?.all("MeterReading") {
                    let meter = reading.req("Meter")?.req("Names")?.text_of("name")?;
                    // Only the register asked for; other reading types are not this read's.
                    for r in reading.all("Readings") {
                        if r.req("ReadingType")?.req_attr("ref")? != REGISTER_KWH {
                            continue;
                        }
                        let value = r.text_of("value")?;
                        readings.push(Read {
                            meter: meter.to_string(),
                            register_wh: xml::parse_kwh(value).ok_or_else(|| {
                                r.invalid("value", value, "is not a register in kWh")
                            })?,
                            read_at: xml::datetime_of(r, "timeStamp")?,
                        });
                    }
                }
            }
            Ok(ResponseMessage {
                header,
                reply: Reply { result, errors },
                readings,
            })
        }
    }

    /// One `EndDeviceEvent`: what happened to one end device.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct EndDeviceEvent {
        /// The event's own ID.
        pub mrid: String,
        /// When it happened, Unix seconds.
        pub created: u64,
        /// `EndDeviceEventType@ref` (see [`super::event`]).
        pub event_type: String,
        /// `EndDevice/Names/name`: the meter's ESIID or device's EUI64 as requested.
        pub end_device: String,
        /// The head-end's or device's words.
        pub reason: String,
    }

    /// `EventMessage`: verb `created`, noun `EndDeviceEvents`, with the request's
    /// CorrelationID.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct EventMessage {
        /// The header.
        pub header: Header,
        /// The events.
        pub events: Vec<EndDeviceEvent>,
    }

    impl EventMessage {
        /// The SOAP document.
        pub fn to_xml(&self) -> String {
            xml::envelope(
                None,
                El::new("EventMessage")
                    .attr("xmlns", MESSAGE_NS)
                    .child(self.header.el())
                    .child(
                        El::new("Payload").child(
                            El::new("e:EndDeviceEvents")
                                .attr("xmlns:e", END_DEVICE_EVENTS_NS)
                                .children(self.events.iter().map(|ev| {
                                    El::new("e:EndDeviceEvent")
                                        .leaf("e:mRID", &ev.mrid)
                                        .leaf("e:createdDateTime", xml::datetime(ev.created))
                                        .leaf("e:reason", &ev.reason)
                                        .child(
                                            El::new("e:EndDeviceEventType")
                                                .attr("ref", &ev.event_type),
                                        )
                                        .child(El::new("e:EndDevice").child(
                                            El::new("e:Names").leaf("e:name", &ev.end_device),
                                        ))
                                })),
                        ),
                    ),
            )
        }

        /// Reads one; the verb must be `created` and the noun `EndDeviceEvents`.
        pub fn from_xml(text: &str) -> Result<EventMessage, XmlError> {
            let m = body(text, "EventMessage")?;
            let header = Header::parse(m.req("Header")?)?;
            header.expect(&m, "created", NOUN_EVENTS)?;
            let events = m
                .req("Payload")?
                .req("EndDeviceEvents")?
                .all("EndDeviceEvent")
                .map(|e| {
                    Ok(EndDeviceEvent {
                        mrid: e.text_of("mRID")?.to_string(),
                        created: xml::datetime_of(e, "createdDateTime")?,
                        event_type: e.req("EndDeviceEventType")?.req_attr("ref")?.to_string(),
                        end_device: e
                            .req("EndDevice")?
                            .req("Names")?
                            .text_of("name")?
                            .to_string(),
                        reason: e.opt_text("reason").unwrap_or_default().to_string(),
                    })
                })
                .collect::<Result<Vec<_>, XmlError>>()?;
            Ok(EventMessage { header, events })
        }
    }
}
