//! MultiSpeak 4.1: the status vocabularies of the notifications a head-end posts to the
//! requester's response URL (what each means for a delivery is the gateway connector's to
//! say: hanrig-gateway-connect `states`).

/// `registrationStatus` of `HANRegistrationNotification`: `Registered` and `Connected` mean
/// provisioned (`Some(true)`), `Disconnected` and `Leaving` failed or gone (`Some(false)`),
/// `Joining` and the rest pending (`None`).
pub fn registration_status(status: &str) -> Option<bool> {
    match status {
        "Registered" | "Connected" => Some(true),
        "Disconnected" | "Leaving" => Some(false),
        _ => None,
    }
}

/// The `registrationStatus` a head-end's `HANRegistrationNotification` gives a pairing at
/// `state` (the job vocabulary the simulated head-ends share): `Registered` once the device
/// joined; `Disconnected` when it did not (lost, or the join window closed) — the facts'
/// enumeration (§2) has no word for "never joined", and `Disconnected` is the one
/// [`registration_status`] reads as failed (this project's choice); `None` while it is on
/// its way or the window is open.
pub fn registration_result(state: crate::jobs::TargetState) -> Option<&'static str> {
    use crate::jobs::TargetState as T;
    match state {
        T::Queued | T::Sent | T::Delivered => None,
        T::Acknowledged => Some("Registered"),
        T::Failed | T::Expired => Some("Disconnected"),
    }
}

/// The MultiSpeak `eventStatus` for an SE 1.0 Report Event Status (SE's `UserOptedOut` is MultiSpeak's `OptedOut`, and so on).
pub fn event_status_name(status: hanrig_sep::clusters::drlc::EventStatus) -> &'static str {
    use hanrig_sep::clusters::drlc::EventStatus as S;
    match status {
        S::CommandReceived => "CommandReceived",
        S::Started => "Started",
        S::Completed => "Completed",
        S::UserOptedOut => "OptedOut",
        S::UserOptedIn => "OptedIn",
        S::Cancelled => "Cancelled",
        S::Superseded => "Superseded",
        S::PartiallyCompletedWithOptOut => "PartiallyCompletedWithUserOptOut",
        S::PartiallyCompletedWithOptIn => "PartiallyCompletedDueToUserOptIn",
        S::CompletedNoParticipation => "CompletedNoUserParticipation",
        S::RejectedInvalidCancel => "RejectedInvalidCancel",
        S::RejectedInvalidEffectiveTime => "RejectedInvalidEffectiveTime",
        S::RejectedExpired => "RejectedEventExpired",
        _ => "RejectedUndefinedEvent",
    }
}

/// The status word a head-end's notification gives a target of a request carrying an SE
/// frame of `cluster` at `state` (the job vocabulary the simulated head-ends share), with the
/// device's Report Event Status if any: `None` when the stage is not notified (queued, on its
/// way to the meter). Texts: `Displayed` once delivered; MultiSpeak's `IHDMessageStatus` has
/// no word for a Message Confirmation, so a confirmed text is notified as `Other` (recorded,
/// moving nothing). Load control: `Delivered`, then the device's own status
/// ([`event_status_name`]). Prices: `Delivered`, then `Acknowledged` for the device's Price
/// Acknowledgement (with `Accepted` from the head-end, `Failed` and `Expired`: MultiSpeak's
/// pricing notification has no status vocabulary in the facts, so these are this project's
/// choice).
pub fn result_status(
    cluster: u16,
    state: crate::jobs::TargetState,
    event_status: Option<hanrig_sep::clusters::drlc::EventStatus>,
) -> Option<&'static str> {
    use crate::jobs::TargetState as T;
    Some(match (cluster, state) {
        (_, T::Queued | T::Sent) => return None,
        (_, T::Failed) => "Failed",
        (_, T::Expired) => "Expired",
        (0x0703, T::Delivered) => "Displayed",
        (0x0703, T::Acknowledged) => "Other",
        (0x0700, T::Delivered) => "Delivered",
        (0x0700, T::Acknowledged) => "Acknowledged",
        (_, T::Delivered) => "Delivered",
        (_, T::Acknowledged) => match event_status {
            Some(s) => event_status_name(s),
            None => "CommandReceived",
        },
    })
}

pub use wire::*;

/// MultiSpeak 4.1 SOAP 1.1 documents: [`Request`] (`Initiate*`/`Cancel*` with responseURL,
/// transactionID, expTime), [`Response`] (`*Response` with `errorObject`s) and
/// [`NotificationMessage`] (`*Notification` to the responseURL).
///
/// Choices this project made where the facts stop: arrays (`HANDeviceID`, `errorObject`,
/// notification entries) are repeated elements directly inside their parent; a MultiSpeak
/// `HANDeviceID` that is an ESIID means every device on that meter's HAN; and each request
/// also carries the SE 1.0 command's encoded ZCL frame in an `seFrame` element (with its
/// cluster), because the MultiSpeak objects cannot express every SE field (issuer IDs,
/// message control bits, price trailing digits…) and the meter must send the frame the
/// gateway encoded.
///
/// ```
/// use hanrig_headend::multispeak::*;
/// let n = NotificationMessage {
///     header: MsgHeader::new("headend", "tdsp", "m-1", 1_782_914_400),
///     transaction_id: "t-1".into(),
///     notification: Notification::DemandResponseEvent(vec![DemandResponseEventStatus {
///         event_id: 7, device_id: "10443720000000000000".into(),
///         event_status: "Started".into(), timestamp: 1_782_914_460 }]),
/// };
/// assert_eq!(NotificationMessage::from_xml(&n.to_xml()).unwrap(), n);
/// ```
mod wire {
    use hanrig_sep::clusters::messaging::Importance;
    use hanrig_sep::{Command, ZclFrame};

    use crate::xml::{self, El, Element, XmlError};

    /// The MultiSpeak 4.1 namespace.
    pub const NS: &str = "http://www.multispeak.org/Version_4.1_Release";

    /// Why a MultiSpeak request cannot be built from an SE command.
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    pub enum MultiSpeakError {
        /// No MultiSpeak call carries this SE command.
        #[error("no MultiSpeak call carries SE command {0}")]
        NoCall(&'static str),
    }

    /// `MultiSpeakMsgHeader` (a SOAP header of attributes; the version attributes are written
    /// as 4.1.6 and not checked).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct MsgHeader {
        /// `UserID`.
        pub user_id: String,
        /// `Pwd`.
        pub pwd: String,
        /// `AppName`.
        pub app_name: String,
        /// `Company`.
        pub company: String,
        /// `MessageID`.
        pub message_id: String,
        /// `TimeStamp`, Unix seconds.
        pub time_stamp: u64,
        /// `Context`: Production, Testing, Development, Study, Training, Other.
        pub context: String,
    }

    impl MsgHeader {
        /// A header from `app_name` of `company`, context `Testing`, no credentials.
        pub fn new(app_name: &str, company: &str, message_id: &str, now: u64) -> MsgHeader {
            MsgHeader {
                user_id: String::new(),
                pwd: String::new(),
                app_name: app_name.into(),
                company: company.into(),
                message_id: message_id.into(),
                time_stamp: now,
                context: "Testing".into(),
            }
        }

        fn el(&self) -> El {
            El::new("MultiSpeakMsgHeader")
                .attr("xmlns", super::wire::NS)
                .attr("MajorVersion", 4)
                .attr("MinorVersion", 1)
                .attr("Build", 6)
                .attr("UserID", &self.user_id)
                .attr("Pwd", &self.pwd)
                .attr("AppName", &self.app_name)
                .attr("Company", &self.company)
                .attr("MessageID", &self.message_id)
                .attr("TimeStamp", xml::datetime(self.time_stamp))
                .attr("Context", &self.context)
        }

        fn parse(header: Option<&Element>) -> Result<MsgHeader, XmlError> {
            let h = header
                .ok_or_else(|| XmlError::Missing("Envelope/Header".into()))?
                .req("MultiSpeakMsgHeader")?;
            h.expect_ns(NS)?;
            let stamp = h.req_attr("TimeStamp")?;
            Ok(MsgHeader {
                user_id: h.attr("UserID").unwrap_or_default().into(),
                pwd: h.attr("Pwd").unwrap_or_default().into(),
                app_name: h.req_attr("AppName")?.into(),
                company: h.attr("Company").unwrap_or_default().into(),
                message_id: h.req_attr("MessageID")?.into(),
                time_stamp: xml::parse_datetime(stamp)
                    .ok_or_else(|| h.invalid("@TimeStamp", stamp, "is not an xsd:dateTime"))?,
                context: h.attr("Context").unwrap_or("Production").into(),
            })
        }
    }

    /// `expTime` units.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TimeUnits {
        /// Milliseconds.
        Milliseconds,
        /// Seconds.
        Seconds,
        /// Minutes.
        Minutes,
        /// Hours.
        Hours,
        /// Days.
        Days,
    }

    const UNITS: [(TimeUnits, &str, u64); 5] = [
        (TimeUnits::Milliseconds, "Milliseconds", 0),
        (TimeUnits::Seconds, "Seconds", 1),
        (TimeUnits::Minutes, "Minutes", 60),
        (TimeUnits::Hours, "Hours", 3600),
        (TimeUnits::Days, "Days", 86_400),
    ];

    /// `expTime`: after this the publisher discards the request (facts §2).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct ExpTime {
        /// How many units.
        pub value: u64,
        /// Of what.
        pub units: TimeUnits,
    }

    impl ExpTime {
        /// The span in seconds (milliseconds rounded down).
        pub fn seconds(self) -> u64 {
            match self.units {
                TimeUnits::Milliseconds => self.value / 1000,
                u => {
                    let per = UNITS.iter().find(|(x, _, _)| *x == u).map_or(1, |x| x.2);
                    self.value.saturating_mul(per)
                }
            }
        }
    }

    /// The SE frame a request carries (hanrig's `seFrame` element).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SeFrame {
        /// The cluster.
        pub cluster: u16,
        /// The encoded ZCL frame.
        pub zcl: Vec<u8>,
    }

    /// `HANSecurityToken` (an install code: encoding `hex`, tokenType `InstallCode`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SecurityToken {
        /// `encoding`.
        pub encoding: String,
        /// `tokenType`.
        pub token_type: String,
        /// `value`.
        pub value: String,
    }

    /// `inHomeDisplayMessage`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct InHomeDisplayMessage {
        /// The SE message ID, echoed as `messageID` in status notifications.
        pub message_id: u32,
        /// `msgLineList`: lines in `sequenceNumber` order.
        pub lines: Vec<String>,
        /// `duration`, minutes (SE's 0xFFFF: until changed).
        pub duration: u32,
        /// `priority`: Low, Medium, High, Critical (SE importance).
        pub priority: String,
        /// `transmissionMode`: Normal, NormalAndAnonymous, Anonymous (SE transmission).
        pub transmission_mode: String,
        /// `confirmationRequired`.
        pub confirmation_required: bool,
        /// `startTime`, Unix seconds (absent: now).
        pub start_time: Option<u64>,
    }

    /// One of `priceTiers`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct PriceTier {
        /// `rateIdentifier` (the SE price tier).
        pub rate_identifier: String,
        /// `rateLabel`.
        pub rate_label: String,
        /// `price`, a decimal in currency units.
        pub price: String,
        /// `units` (the SE unit of measure's name).
        pub units: String,
    }

    /// `priceTierStructure`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct PriceTierStructure {
        /// `startTime` (absent: now).
        pub start_time: Option<u64>,
        /// `priceTiers`.
        pub tiers: Vec<PriceTier>,
    }

    /// `demandResponseEvent`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct DemandResponseEvent {
        /// `eventID` (SE issuer event ID).
        pub event_id: u32,
        /// `utilityEnrollmentGroup`.
        pub utility_enrollment_group: u8,
        /// `deviceClasses`: one `deviceClass` per SE device-class bit set, as its bit value.
        pub device_classes: u16,
        /// `eventStartTime` (absent: now).
        pub event_start_time: Option<u64>,
        /// `eventDuration`, minutes.
        pub event_duration: u16,
        /// `randomizeEventStart`.
        pub randomize_event_start: bool,
        /// `randomizeEventEnd`.
        pub randomize_event_end: bool,
        /// `coolingTemperatureOffset`, 0.1 °C as SE has it.
        pub cooling_temperature_offset: Option<u8>,
        /// `heatingTemperatureOffset`, 0.1 °C.
        pub heating_temperature_offset: Option<u8>,
        /// `coolingTemperatureSetPoint`, 0.01 °C.
        pub cooling_temperature_set_point: Option<i16>,
        /// `heatingTemperatureSetPoint`, 0.01 °C.
        pub heating_temperature_set_point: Option<i16>,
        /// `averageLoadAdjustment`, percent.
        pub average_load_adjustment: Option<i8>,
        /// `dutyCycle`, percent.
        pub duty_cycle: Option<u8>,
        /// `criticality` (SE criticality level, 1–9).
        pub criticality: u8,
    }

    /// The operation and its objects.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Call {
        /// `InitiateHANRegistration` (HAN_Server).
        InitiateHANRegistration {
            /// `HANInterfaceID`: the meter (ESIID).
            han_interface_id: String,
            /// `HANDeviceID`: the device (EUI64).
            han_device_id: String,
            /// `HANSecurityToken`.
            token: SecurityToken,
            /// `timeOut`, minutes the join window stays open.
            time_out: u32,
        },
        /// `InitiateInHomeDisplayMessage`.
        InitiateInHomeDisplayMessage {
            /// `inHomeDisplayMessage`.
            message: InHomeDisplayMessage,
            /// `HANDeviceID`s.
            devices: Vec<String>,
        },
        /// `CancelInHomeDisplayMessage`.
        CancelInHomeDisplayMessage {
            /// `messageID`.
            message_id: u32,
            /// `HANDeviceID`s.
            devices: Vec<String>,
        },
        /// `InitiateHANPricing`.
        InitiateHANPricing {
            /// `priceTierStructure`.
            pricing: PriceTierStructure,
            /// `HANDeviceID`s.
            devices: Vec<String>,
        },
        /// `InitiateDemandResponseEvent` (DR_Server).
        InitiateDemandResponseEvent {
            /// `demandResponseEvent`.
            event: DemandResponseEvent,
            /// `HANDeviceID`s.
            devices: Vec<String>,
        },
        /// `CancelDemandResponseEvent`; no `eventID` cancels every event (SE Cancel All).
        CancelDemandResponseEvent {
            /// `eventID`.
            event_id: Option<u32>,
            /// `HANDeviceID`s.
            devices: Vec<String>,
        },
        /// `InitiateMeterReadingsByMeterID` (MR_Server).
        InitiateMeterReadingsByMeterID {
            /// `meterID`s.
            meter_ids: Vec<String>,
        },
    }

    fn importance_name(i: Importance) -> &'static str {
        match i {
            Importance::Low => "Low",
            Importance::Medium => "Medium",
            Importance::High => "High",
            Importance::Critical => "Critical",
        }
    }

    impl Call {
        /// The operation's name.
        pub fn name(&self) -> &'static str {
            match self {
                Call::InitiateHANRegistration { .. } => "InitiateHANRegistration",
                Call::InitiateInHomeDisplayMessage { .. } => "InitiateInHomeDisplayMessage",
                Call::CancelInHomeDisplayMessage { .. } => "CancelInHomeDisplayMessage",
                Call::InitiateHANPricing { .. } => "InitiateHANPricing",
                Call::InitiateDemandResponseEvent { .. } => "InitiateDemandResponseEvent",
                Call::CancelDemandResponseEvent { .. } => "CancelDemandResponseEvent",
                Call::InitiateMeterReadingsByMeterID { .. } => "InitiateMeterReadingsByMeterID",
            }
        }

        /// The addresses it goes to.
        pub fn targets(&self) -> Vec<String> {
            match self {
                Call::InitiateHANRegistration {
                    han_interface_id, ..
                } => {
                    vec![han_interface_id.clone()]
                }
                Call::InitiateInHomeDisplayMessage { devices, .. }
                | Call::CancelInHomeDisplayMessage { devices, .. }
                | Call::InitiateHANPricing { devices, .. }
                | Call::InitiateDemandResponseEvent { devices, .. }
                | Call::CancelDemandResponseEvent { devices, .. } => devices.clone(),
                Call::InitiateMeterReadingsByMeterID { meter_ids } => meter_ids.clone(),
            }
        }

        /// The call that carries SE command `frame` to `devices`.
        pub fn from_se(frame: &ZclFrame, devices: Vec<String>) -> Result<Call, MultiSpeakError> {
            let at = |t: hanrig_sep::UtcTime| (t.0 != 0).then(|| t.to_unix());
            Ok(match &frame.command {
                Command::DisplayMessage(m) => {
                    let control = m.message_control;
                    Call::InitiateInHomeDisplayMessage {
                        message: InHomeDisplayMessage {
                            message_id: m.message_id,
                            lines: vec![String::from_utf8_lossy(m.message.as_bytes()).into()],
                            duration: u32::from(m.duration_in_minutes),
                            priority: importance_name(control.importance()).into(),
                            transmission_mode: match control.transmission() {
                                0 => "Normal",
                                1 => "NormalAndAnonymous",
                                _ => "Anonymous",
                            }
                            .into(),
                            confirmation_required: control.confirmation_required(),
                            start_time: at(m.start_time),
                        },
                        devices,
                    }
                }
                Command::CancelMessage(c) => Call::CancelInHomeDisplayMessage {
                    message_id: c.message_id,
                    devices,
                },
                Command::PublishPrice(p) => {
                    let digits = u32::from(p.price_trailing_digit_and_price_tier >> 4);
                    let scale = 10u64.pow(digits);
                    let price = u64::from(p.price);
                    Call::InitiateHANPricing {
                        pricing: PriceTierStructure {
                            start_time: at(p.start_time),
                            tiers: vec![PriceTier {
                                rate_identifier: (p.price_trailing_digit_and_price_tier & 0x0F)
                                    .to_string(),
                                rate_label: String::from_utf8_lossy(p.rate_label.as_bytes()).into(),
                                price: if digits == 0 {
                                    price.to_string()
                                } else {
                                    format!(
                                        "{}.{:0width$}",
                                        price / scale,
                                        price % scale,
                                        width = digits as usize
                                    )
                                },
                                units: format!("{:?}", p.unit_of_measure),
                            }],
                        },
                        devices,
                    }
                }
                Command::LoadControlEvent(e) => {
                    let opt8 = |v: u8| (v != 0xFF).then_some(v);
                    let opt16 = |v: i16| (v != -0x8000).then_some(v);
                    Call::InitiateDemandResponseEvent {
                        event: DemandResponseEvent {
                            event_id: e.issuer_event_id,
                            utility_enrollment_group: e.utility_enrollment_group,
                            device_classes: e.device_class.0,
                            event_start_time: at(e.start_time),
                            event_duration: e.duration_in_minutes,
                            randomize_event_start: e.event_control.0 & 0x01 != 0,
                            randomize_event_end: e.event_control.0 & 0x02 != 0,
                            cooling_temperature_offset: opt8(e.cooling_temperature_offset),
                            heating_temperature_offset: opt8(e.heating_temperature_offset),
                            cooling_temperature_set_point: opt16(e.cooling_temperature_set_point),
                            heating_temperature_set_point: opt16(e.heating_temperature_set_point),
                            average_load_adjustment: (e.average_load_adjustment_percentage != -128)
                                .then_some(e.average_load_adjustment_percentage),
                            duty_cycle: opt8(e.duty_cycle),
                            criticality: u8::from(e.criticality_level),
                        },
                        devices,
                    }
                }
                Command::CancelLoadControlEvent(c) => Call::CancelDemandResponseEvent {
                    event_id: Some(c.issuer_event_id),
                    devices,
                },
                Command::CancelAllLoadControlEvents(_) => Call::CancelDemandResponseEvent {
                    event_id: None,
                    devices,
                },
                other => return Err(MultiSpeakError::NoCall(other.name())),
            })
        }

        fn els(&self) -> Vec<El> {
            let devices = |d: &[String]| {
                d.iter()
                    .map(|d| El::new("HANDeviceID").text(d))
                    .collect::<Vec<_>>()
            };
            match self {
                Call::InitiateHANRegistration {
                    han_interface_id,
                    han_device_id,
                    token,
                    time_out,
                } => vec![
                    El::new("HANInterfaceID").text(han_interface_id),
                    El::new("HANDeviceID").text(han_device_id),
                    El::new("HANSecurityToken")
                        .leaf("encoding", &token.encoding)
                        .leaf("tokenType", &token.token_type)
                        .leaf("value", &token.value),
                    El::new("timeOut").text(time_out),
                ],
                Call::InitiateInHomeDisplayMessage {
                    message: m,
                    devices: d,
                } => {
                    let mut v =
                        vec![
                            El::new("inHomeDisplayMessage")
                                .leaf("messageID", m.message_id)
                                .child(El::new("msgLineList").children(
                                    m.lines.iter().enumerate().map(|(i, l)| {
                                        El::new("msgLine")
                                            .leaf("sequenceNumber", i + 1)
                                            .leaf("text", l)
                                    }),
                                ))
                                .leaf("duration", m.duration)
                                .leaf("priority", &m.priority)
                                .leaf("transmissionMode", &m.transmission_mode)
                                .leaf("confirmationRequired", m.confirmation_required)
                                .opt_leaf("startTime", m.start_time.map(xml::datetime)),
                        ];
                    v.extend(devices(d));
                    v
                }
                Call::CancelInHomeDisplayMessage {
                    message_id,
                    devices: d,
                } => {
                    let mut v = vec![El::new("messageID").text(message_id)];
                    v.extend(devices(d));
                    v
                }
                Call::InitiateHANPricing {
                    pricing,
                    devices: d,
                } => {
                    let mut v = vec![
                        El::new("priceTierStructure")
                            .opt_leaf("startTime", pricing.start_time.map(xml::datetime))
                            .child(
                                El::new("priceTiers").children(pricing.tiers.iter().map(|t| {
                                    El::new("priceTier")
                                        .leaf("rateIdentifier", &t.rate_identifier)
                                        .leaf("rateLabel", &t.rate_label)
                                        .leaf("price", &t.price)
                                        .leaf("units", &t.units)
                                })),
                            ),
                    ];
                    v.extend(devices(d));
                    v
                }
                Call::InitiateDemandResponseEvent {
                    event: e,
                    devices: d,
                } => {
                    let classes = (0..16)
                        .filter(|b| e.device_classes & (1 << b) != 0)
                        .map(|b| El::new("deviceClass").text(1u32 << b));
                    let mut v = vec![
                        El::new("demandResponseEvent")
                            .leaf("eventID", e.event_id)
                            .leaf("utilityEnrollmentGroup", e.utility_enrollment_group)
                            .child(El::new("deviceClasses").children(classes))
                            .opt_leaf("eventStartTime", e.event_start_time.map(xml::datetime))
                            .leaf("eventDuration", e.event_duration)
                            .leaf("randomizeEventStart", e.randomize_event_start)
                            .leaf("randomizeEventEnd", e.randomize_event_end)
                            .opt_leaf("coolingTemperatureOffset", e.cooling_temperature_offset)
                            .opt_leaf("heatingTemperatureOffset", e.heating_temperature_offset)
                            .opt_leaf(
                                "coolingTemperatureSetPoint",
                                e.cooling_temperature_set_point,
                            )
                            .opt_leaf(
                                "heatingTemperatureSetPoint",
                                e.heating_temperature_set_point,
                            )
                            .opt_leaf("averageLoadAdjustment", e.average_load_adjustment)
                            .opt_leaf("dutyCycle", e.duty_cycle)
                            .leaf("criticality", e.criticality),
                    ];
                    v.extend(devices(d));
                    v
                }
                Call::CancelDemandResponseEvent {
                    event_id,
                    devices: d,
                } => {
                    let mut v: Vec<El> = event_id
                        .iter()
                        .map(|id| El::new("eventID").text(id))
                        .collect();
                    v.extend(devices(d));
                    v
                }
                // `meterIDs` wraps the `meterID`s (MR_Server.wsdl `ArrayOfMeterID1`).
                Call::InitiateMeterReadingsByMeterID { meter_ids } => {
                    vec![
                        El::new("meterIDs").children(
                            meter_ids.iter().map(|m| {
                                El::new("meterID").attr("serviceType", "Electric").text(m)
                            }),
                        ),
                    ]
                }
            }
        }

        fn parse(op: &Element) -> Result<Call, XmlError> {
            let devices = || -> Vec<String> {
                op.all("HANDeviceID")
                    .map(|d| d.text.trim().to_string())
                    .collect()
            };
            let some_devices = || -> Result<Vec<String>, XmlError> {
                let d = devices();
                if d.is_empty() {
                    return Err(XmlError::Missing(format!("{}/HANDeviceID", op.path())));
                }
                Ok(d)
            };
            Ok(match op.name() {
                "InitiateHANRegistration" => {
                    let t = op.req("HANSecurityToken")?;
                    Call::InitiateHANRegistration {
                        han_interface_id: op.text_of("HANInterfaceID")?.into(),
                        han_device_id: op.text_of("HANDeviceID")?.into(),
                        token: SecurityToken {
                            encoding: t.text_of("encoding")?.into(),
                            token_type: t.text_of("tokenType")?.into(),
                            value: t.text_of("value")?.into(),
                        },
                        time_out: xml::number_of(op, "timeOut")?,
                    }
                }
                "InitiateInHomeDisplayMessage" => {
                    let m = op.req("inHomeDisplayMessage")?;
                    let mut lines = m
                        .req("msgLineList")?
                        .all("msgLine")
                        .map(|l| {
                            Ok((
                                xml::number_of::<u32>(l, "sequenceNumber")?,
                                l.text_of("text")?.to_string(),
                            ))
                        })
                        .collect::<Result<Vec<_>, XmlError>>()?;
                    lines.sort_by_key(|(n, _)| *n);
                    Call::InitiateInHomeDisplayMessage {
                        message: InHomeDisplayMessage {
                            message_id: xml::number_of(m, "messageID")?,
                            lines: lines.into_iter().map(|(_, l)| l).collect(),
                            duration: xml::number_of(m, "duration")?,
                            priority: m.text_of("priority")?.into(),
                            transmission_mode: m.text_of("transmissionMode")?.into(),
                            confirmation_required: xml::bool_of(m, "confirmationRequired")?,
                            start_time: match m.child("startTime") {
                                Some(_) => Some(xml::datetime_of(m, "startTime")?),
                                None => None,
                            },
                        },
                        devices: some_devices()?,
                    }
                }
                "CancelInHomeDisplayMessage" => Call::CancelInHomeDisplayMessage {
                    message_id: xml::number_of(op, "messageID")?,
                    devices: some_devices()?,
                },
                "InitiateHANPricing" => {
                    let s = op.req("priceTierStructure")?;
                    Call::InitiateHANPricing {
                        pricing: PriceTierStructure {
                            start_time: match s.child("startTime") {
                                Some(_) => Some(xml::datetime_of(s, "startTime")?),
                                None => None,
                            },
                            tiers: s
                                .req("priceTiers")?
                                .all("priceTier")
                                .map(|t| {
                                    Ok(PriceTier {
                                        rate_identifier: t.text_of("rateIdentifier")?.into(),
                                        rate_label: t.text_of("rateLabel")?.into(),
                                        price: t.text_of("price")?.into(),
                                        units: t.text_of("units")?.into(),
                                    })
                                })
                                .collect::<Result<Vec<_>, XmlError>>()?,
                        },
                        devices: some_devices()?,
                    }
                }
                "InitiateDemandResponseEvent" => {
                    let e = op.req("demandResponseEvent")?;
                    let mut classes = 0u16;
                    for c in e.req("deviceClasses")?.all("deviceClass") {
                        let bit: u16 = c.text.trim().parse().map_err(|_| {
                            c.invalid("", c.text.trim(), "is not an SE device-class bit value")
                        })?;
                        classes |= bit;
                    }
                    Call::InitiateDemandResponseEvent {
                        event: DemandResponseEvent {
                            event_id: xml::number_of(e, "eventID")?,
                            utility_enrollment_group: xml::number_of(e, "utilityEnrollmentGroup")?,
                            device_classes: classes,
                            event_start_time: match e.child("eventStartTime") {
                                Some(_) => Some(xml::datetime_of(e, "eventStartTime")?),
                                None => None,
                            },
                            event_duration: xml::number_of(e, "eventDuration")?,
                            randomize_event_start: xml::bool_of(e, "randomizeEventStart")?,
                            randomize_event_end: xml::bool_of(e, "randomizeEventEnd")?,
                            cooling_temperature_offset: xml::opt_number_of(
                                e,
                                "coolingTemperatureOffset",
                            )?,
                            heating_temperature_offset: xml::opt_number_of(
                                e,
                                "heatingTemperatureOffset",
                            )?,
                            cooling_temperature_set_point: xml::opt_number_of(
                                e,
                                "coolingTemperatureSetPoint",
                            )?,
                            heating_temperature_set_point: xml::opt_number_of(
                                e,
                                "heatingTemperatureSetPoint",
                            )?,
                            average_load_adjustment: xml::opt_number_of(
                                e,
                                "averageLoadAdjustment",
                            )?,
                            duty_cycle: xml::opt_number_of(e, "dutyCycle")?,
                            criticality: xml::number_of(e, "criticality")?,
                        },
                        devices: some_devices()?,
                    }
                }
                "CancelDemandResponseEvent" => Call::CancelDemandResponseEvent {
                    event_id: xml::opt_number_of(op, "eventID")?,
                    devices: some_devices()?,
                },
                "InitiateMeterReadingsByMeterID" => {
                    let ids = op.req("meterIDs")?;
                    let meter_ids: Vec<String> = ids
                        .all("meterID")
                        .map(|m| m.text.trim().to_string())
                        .collect();
                    if meter_ids.is_empty() {
                        return Err(XmlError::Missing(format!("{}/meterID", ids.path())));
                    }
                    Call::InitiateMeterReadingsByMeterID { meter_ids }
                }
                other => {
                    return Err(XmlError::Unexpected {
                        path: op.path(),
                        expected: "a MultiSpeak HAN, DR or MR request".into(),
                        found: other.into(),
                    });
                }
            })
        }
    }

    /// A request to the head-end.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Request {
        /// `MultiSpeakMsgHeader`.
        pub header: MsgHeader,
        /// What to do.
        pub call: Call,
        /// The SE frame to deliver (hanrig's `seFrame`).
        pub se_frame: Option<SeFrame>,
        /// `responseURL`: where notifications go.
        pub response_url: String,
        /// `transactionID`: echoed in every notification; the same ID re-sent is the same
        /// request.
        pub transaction_id: String,
        /// `expTime`.
        pub exp_time: ExpTime,
    }

    fn op_body(text: &str) -> Result<(Option<Element>, Element), XmlError> {
        let (header, body) = xml::open_envelope(text)?;
        let op = body.first()?.clone();
        op.expect_ns(NS)?;
        Ok((header, op))
    }

    impl Request {
        /// The SOAP document.
        pub fn to_xml(&self) -> String {
            let units = UNITS
                .iter()
                .find(|(u, _, _)| *u == self.exp_time.units)
                .map_or("Seconds", |u| u.1);
            let mut op = El::new(self.call.name())
                .attr("xmlns", NS)
                .children(self.call.els());
            if let Some(f) = &self.se_frame {
                op = op.child(
                    El::new("seFrame")
                        .attr("cluster", format!("{:04x}", f.cluster))
                        .text(xml::hex(&f.zcl)),
                );
            }
            op = op
                .leaf("responseURL", &self.response_url)
                .leaf("transactionID", &self.transaction_id)
                .child(
                    El::new("expTime")
                        .attr("units", units)
                        .text(self.exp_time.value),
                );
            xml::envelope(Some(self.header.el()), op)
        }

        /// Reads one.
        pub fn from_xml(text: &str) -> Result<Request, XmlError> {
            let (header, op) = op_body(text)?;
            let header = MsgHeader::parse(header.as_ref())?;
            let call = Call::parse(&op)?;
            let exp = op.req("expTime")?;
            let units_name = exp.req_attr("units")?;
            let units = UNITS
                .iter()
                .find(|(_, n, _)| *n == units_name)
                .map(|u| u.0)
                .ok_or_else(|| {
                    exp.invalid(
                        "@units",
                        units_name,
                        "is not Milliseconds, Seconds, Minutes, Hours or Days",
                    )
                })?;
            let value: u64 = exp
                .text
                .trim()
                .parse()
                .map_err(|_| exp.invalid("", exp.text.trim(), "is not a whole number"))?;
            let se_frame = match op.child("seFrame") {
                None => None,
                Some(f) => {
                    let c = f.req_attr("cluster")?;
                    Some(SeFrame {
                        cluster: u16::from_str_radix(c, 16).map_err(|_| {
                            f.invalid("@cluster", c, "is not a 4-digit hex cluster ID")
                        })?,
                        zcl: xml::unhex(f.text.trim())
                            .ok_or_else(|| f.invalid("", f.text.trim(), "is not hex"))?,
                    })
                }
            };
            Ok(Request {
                header,
                call,
                se_frame,
                response_url: op.text_of("responseURL")?.into(),
                transaction_id: op.text_of("transactionID")?.into(),
                exp_time: ExpTime { value, units },
            })
        }
    }

    /// `errorObject`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ErrorObject {
        /// `objectID`: what it is about (a device or meter).
        pub object_id: String,
        /// `errorString`.
        pub error_string: String,
        /// `nounType`.
        pub noun_type: String,
        /// `eventTime`, Unix seconds.
        pub event_time: Option<u64>,
        /// Free text.
        pub text: String,
    }

    /// `{Operation}Response`: `errorObject`s, none when accepted.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Response {
        /// `MultiSpeakMsgHeader` (InOut).
        pub header: MsgHeader,
        /// The operation answered (`InitiateDemandResponseEvent`, a notification's name …).
        pub operation: String,
        /// The errors.
        pub errors: Vec<ErrorObject>,
    }

    impl Response {
        /// The SOAP document.
        pub fn to_xml(&self) -> String {
            let result = El::new(&format!("{}Result", self.operation)).children(
                self.errors.iter().map(|e| {
                    let mut el = El::new("errorObject")
                        .attr("objectID", &e.object_id)
                        .attr("errorString", &e.error_string)
                        .attr("nounType", &e.noun_type);
                    if let Some(t) = e.event_time {
                        el = el.attr("eventTime", xml::datetime(t));
                    }
                    if e.text.is_empty() {
                        el
                    } else {
                        el.text(&e.text)
                    }
                }),
            );
            xml::envelope(
                Some(self.header.el()),
                El::new(&format!("{}Response", self.operation))
                    .attr("xmlns", NS)
                    .child(result),
            )
        }

        /// Reads one.
        pub fn from_xml(text: &str) -> Result<Response, XmlError> {
            let (header, op) = op_body(text)?;
            let header = MsgHeader::parse(header.as_ref())?;
            let operation =
                op.name()
                    .strip_suffix("Response")
                    .ok_or_else(|| XmlError::Unexpected {
                        path: op.path(),
                        expected: "a MultiSpeak …Response".into(),
                        found: op.name().to_string(),
                    })?;
            let errors = match op.child(&format!("{operation}Result")) {
                None => Vec::new(),
                Some(r) => r
                    .all("errorObject")
                    .map(|e| {
                        Ok(ErrorObject {
                            object_id: e.attr("objectID").unwrap_or_default().into(),
                            error_string: e.attr("errorString").unwrap_or_default().into(),
                            noun_type: e.attr("nounType").unwrap_or_default().into(),
                            event_time: match e.attr("eventTime") {
                                None => None,
                                Some(t) => Some(xml::parse_datetime(t).ok_or_else(|| {
                                    e.invalid("@eventTime", t, "is not an xsd:dateTime")
                                })?),
                            },
                            text: e.text.trim().into(),
                        })
                    })
                    .collect::<Result<Vec<_>, XmlError>>()?,
            };
            Ok(Response {
                header,
                operation: operation.into(),
                errors,
            })
        }
    }

    /// One of `HANRegistrationNotification`'s `HANRegistration`s.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct HanRegistration {
        /// `deviceID`.
        pub device_id: String,
        /// `interfaceID`: the meter.
        pub interface_id: String,
        /// `registrationStatus` (see [`super::registration_status`]).
        pub registration_status: String,
        /// The head-end's words about it (why a registration failed), carried in the
        /// `comments` element every MultiSpeak object inherits from `mspObject` — recalled
        /// from the MultiSpeak schema, not in the facts file; optional on the wire.
        pub comments: Option<String>,
    }

    /// One device's `IHDMessageStatus`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct IhdMessageStatus {
        /// `deviceID` (as requested: ESIID or EUI64).
        pub device_id: String,
        /// `messageID`.
        pub message_id: u32,
        /// `IHDMessageStatus` (`Accepted`, `Displayed`, `Expired`, `Cancelled`, `Off`, `Other`, `Unknown`).
        pub status: String,
    }

    /// One `demandResponseEventStatus`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct DemandResponseEventStatus {
        /// `eventID`.
        pub event_id: u32,
        /// `deviceID` (as requested).
        pub device_id: String,
        /// `eventStatus` (see [`super::event_status_name`]).
        pub event_status: String,
        /// `timestamp`, Unix seconds.
        pub timestamp: u64,
    }

    /// One device's pricing status (see [`super::result_status`]).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct PricingStatus {
        /// `deviceID` (as requested).
        pub device_id: String,
        /// `status`.
        pub status: String,
    }

    /// One `meterReading` of a `ReadingChangedNotification`: the meter's kWh register as read
    /// on demand — `meterID`, then one `readingValues/readingValue` with `units` `kWh`, `value`,
    /// `fieldName` `posKWh` (the field-name convention of MultiSpeak clients such as Eaton
    /// Yukon; v4.1 has no element of its own for it) and `timeStamp` (MR/CB_Server.wsdl v4.1.6).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct MeterRead {
        /// `meterID`: the meter's ESIID.
        pub meter_id: String,
        /// The register, Wh.
        pub register_wh: u64,
        /// `timeStamp`: when the meter read it, Unix seconds.
        pub read_at: u64,
    }

    /// What a notification reports.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Notification {
        /// `HANRegistrationNotification`.
        HanRegistration(Vec<HanRegistration>),
        /// `IHDMessageStatusNotification`.
        IhdMessageStatus(Vec<IhdMessageStatus>),
        /// `DemandResponseEventNotification`.
        DemandResponseEvent(Vec<DemandResponseEventStatus>),
        /// `PricingTiersChangedNotification`.
        PricingTiersChanged(Vec<PricingStatus>),
        /// `ReadingChangedNotification`: the readings of an `InitiateMeterReadingsByMeterID`.
        ReadingChanged(Vec<MeterRead>),
    }

    impl Notification {
        /// The operation's name.
        pub fn name(&self) -> &'static str {
            match self {
                Notification::HanRegistration(_) => "HANRegistrationNotification",
                Notification::IhdMessageStatus(_) => "IHDMessageStatusNotification",
                Notification::DemandResponseEvent(_) => "DemandResponseEventNotification",
                Notification::PricingTiersChanged(_) => "PricingTiersChangedNotification",
                Notification::ReadingChanged(_) => "ReadingChangedNotification",
            }
        }

        /// Each entry's device and status.
        pub fn entries(&self) -> Vec<(&str, &str)> {
            match self {
                Notification::HanRegistration(v) => v
                    .iter()
                    .map(|r| (r.device_id.as_str(), r.registration_status.as_str()))
                    .collect(),
                Notification::IhdMessageStatus(v) => v
                    .iter()
                    .map(|r| (r.device_id.as_str(), r.status.as_str()))
                    .collect(),
                Notification::DemandResponseEvent(v) => v
                    .iter()
                    .map(|r| (r.device_id.as_str(), r.event_status.as_str()))
                    .collect(),
                Notification::PricingTiersChanged(v) => v
                    .iter()
                    .map(|r| (r.device_id.as_str(), r.status.as_str()))
                    .collect(),
                Notification::ReadingChanged(v) => {
                    v.iter().map(|r| (r.meter_id.as_str(), "read")).collect()
                }
            }
        }
    }

    /// A notification to the requester's responseURL.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct NotificationMessage {
        /// `MultiSpeakMsgHeader`.
        pub header: MsgHeader,
        /// The request's `transactionID`.
        pub transaction_id: String,
        /// What happened.
        pub notification: Notification,
    }

    impl NotificationMessage {
        /// The SOAP document.
        pub fn to_xml(&self) -> String {
            let entries: Vec<El> = match &self.notification {
                Notification::HanRegistration(v) => v
                    .iter()
                    .map(|r| {
                        El::new("HANRegistration")
                            .leaf("deviceID", &r.device_id)
                            .leaf("interfaceID", &r.interface_id)
                            .leaf("registrationStatus", &r.registration_status)
                            .opt_leaf("comments", r.comments.as_ref())
                    })
                    .collect(),
                Notification::IhdMessageStatus(v) => v
                    .iter()
                    .map(|r| {
                        El::new("IHDMessageStatus")
                            .leaf("deviceID", &r.device_id)
                            .leaf("messageID", r.message_id)
                            .leaf("status", &r.status)
                    })
                    .collect(),
                Notification::DemandResponseEvent(v) => v
                    .iter()
                    .map(|r| {
                        El::new("demandResponseEventStatus")
                            .leaf("eventID", r.event_id)
                            .leaf("deviceID", &r.device_id)
                            .leaf("eventStatus", &r.event_status)
                            .leaf("timestamp", xml::datetime(r.timestamp))
                    })
                    .collect(),
                Notification::PricingTiersChanged(v) => v
                    .iter()
                    .map(|r| {
                        El::new("pricingStatus")
                            .leaf("deviceID", &r.device_id)
                            .leaf("status", &r.status)
                    })
                    .collect(),
                Notification::ReadingChanged(v) => {
                    vec![El::new("changedMeterReads").children(v.iter().map(|r| {
                        El::new("meterReading").leaf("meterID", &r.meter_id).child(
                            El::new("readingValues").child(
                                El::new("readingValue")
                                    .leaf("units", "kWh")
                                    .leaf("value", xml::kwh(r.register_wh))
                                    .leaf("fieldName", "posKWh")
                                    .leaf("timeStamp", xml::datetime(r.read_at)),
                            ),
                        )
                    }))]
                }
            };
            xml::envelope(
                Some(self.header.el()),
                El::new(self.notification.name())
                    .attr("xmlns", NS)
                    .children(entries)
                    .leaf("transactionID", &self.transaction_id),
            )
        }

        /// Reads one.
        pub fn from_xml(text: &str) -> Result<NotificationMessage, XmlError> {
            let (header, op) = op_body(text)?;
            let header = MsgHeader::parse(header.as_ref())?;
            let collect = |name: &'static str| -> Vec<&Element> { op.all(name).collect() };
            let notification = match op.name() {
                "HANRegistrationNotification" => Notification::HanRegistration(
                    collect("HANRegistration")
                        .into_iter()
                        .map(|r| {
                            Ok(HanRegistration {
                                device_id: r.text_of("deviceID")?.into(),
                                interface_id: r.text_of("interfaceID")?.into(),
                                registration_status: r.text_of("registrationStatus")?.into(),
                                comments: r.opt_text("comments").map(str::to_string),
                            })
                        })
                        .collect::<Result<_, XmlError>>()?,
                ),
                "IHDMessageStatusNotification" => Notification::IhdMessageStatus(
                    collect("IHDMessageStatus")
                        .into_iter()
                        .map(|r| {
                            Ok(IhdMessageStatus {
                                device_id: r.text_of("deviceID")?.into(),
                                message_id: xml::number_of(r, "messageID")?,
                                status: r.text_of("status")?.into(),
                            })
                        })
                        .collect::<Result<_, XmlError>>()?,
                ),
                "DemandResponseEventNotification" => Notification::DemandResponseEvent(
                    collect("demandResponseEventStatus")
                        .into_iter()
                        .map(|r| {
                            Ok(DemandResponseEventStatus {
                                event_id: xml::number_of(r, "eventID")?,
                                device_id: r.text_of("deviceID")?.into(),
                                event_status: r.text_of("eventStatus")?.into(),
                                timestamp: xml::datetime_of(r, "timestamp")?,
                            })
                        })
                        .collect::<Result<_, XmlError>>()?,
                ),
                "PricingTiersChangedNotification" => Notification::PricingTiersChanged(
                    collect("pricingStatus")
                        .into_iter()
                        .map(|r| {
                            Ok(PricingStatus {
                                device_id: r.text_of("deviceID")?.into(),
                                status: r.text_of("status")?.into(),
                            })
                        })
                        .collect::<Result<_, XmlError>>()?,
                ),
                "ReadingChangedNotification" => {
                    let mut reads = Vec::new();
                    for r in op.req("changedMeterReads")?.all("meterReading") {
                        let meter_id = r.text_of("meterID")?;
                        // The kWh register; other values (demand, voltage) are not this read's.
                        for v in r.req("readingValues")?.all("readingValue") {
                            if v.opt_text("units") != Some("kWh")
                                || v.opt_text("fieldName").is_some_and(|f| f != "posKWh")
                            {
                                continue;
                            }
                            let value = v.text_of("value")?;
                            reads.push(MeterRead {
                                meter_id: meter_id.into(),
                                register_wh: xml::parse_kwh(value).ok_or_else(|| {
                                    v.invalid("value", value, "is not a register in kWh")
                                })?,
                                read_at: xml::datetime_of(v, "timeStamp")?,
                            });
                        }
                    }
                    Notification::ReadingChanged(reads)
                }
                other => {
                    return Err(XmlError::Unexpected {
                        path: op.path(),
                        expected: "a MultiSpeak HAN, IHD, DR, pricing or reading notification"
                            .into(),
                        found: other.into(),
                    });
                }
            };
            Ok(NotificationMessage {
                header,
                transaction_id: op.text_of("transactionID")?.into(),
                notification,
            })
        }
    }
}
