//! The IEC 61968-9 CIM front ([`hanrig_headend::cim`]): `create EndDeviceControls` answered
//! at once with a `ResponseMessage`, results posted later as `created EndDeviceEvents` to the
//! request's ReplyAddress, as a head-end does it (facts §1.2: asynchronous only, CorrelationID
//! and ReplyAddress required).

use std::collections::{BTreeMap, HashMap};

use hanrig_headend::cim::{
    self, CimRequest, ERROR_BAD_REQUEST, ERROR_NO_SUCH_DEVICE, EndDeviceEvent, ErrorLevel,
    EventMessage, Header, NOUN_CONTROLS, NOUN_EVENTS, NOUN_READINGS, Read, ReadRequest, Reply,
    ReplyError, ReplyResult, RequestMessage, ResponseMessage,
};
use hanrig_headend::jobs::TargetState;

use hanrig_sep::Eui64;
use hanrig_sep::install_code::InstallCode;

use super::http::{Outgoing, SoapFront};
use super::{BatchId, Han, Latency};
use crate::clock::SimTime;
use crate::device::DeviceKind;

/// What an accepted control carries.
#[derive(Debug, Clone)]
enum Carries {
    /// An SE frame of this cluster.
    Frame(u16),
    /// A pairing of this device (its EUI64 as requested), reported under its name.
    Pairing(String),
    /// An on-demand read of a meter's register.
    Read,
}

#[derive(Debug)]
struct Accepted {
    reply_address: String,
    response: ResponseMessage,
    /// Each accepted control's batch, what it carries and its end.
    controls: Vec<(BatchId, Carries, SimTime)>,
    /// What was last reported per (control, target): event type and reason.
    reported: HashMap<(usize, String), (&'static str, String)>,
    done: bool,
}

/// The simulated CIM head-end and the HAN behind it.
#[derive(Debug)]
pub struct CimHeadEnd {
    pub(super) han: Han,
    requests: BTreeMap<String, Accepted>,
    messages: u64,
    events: u64,
}

fn error(code: &str, level: ErrorLevel, reason: String, id: Option<String>) -> ReplyError {
    ReplyError {
        code: code.into(),
        level,
        reason,
        id,
    }
}

impl CimHeadEnd {
    /// A head-end for `meters` (ESIID and the kind of its one device); see [`Han::new`].
    pub fn new(
        meters: &[(String, DeviceKind)],
        latency: Latency,
        seed: u64,
        start: SimTime,
    ) -> Self {
        CimHeadEnd {
            han: Han::new(meters, latency, seed, start),
            requests: BTreeMap::new(),
            messages: 0,
            events: 0,
        }
    }

    fn header(
        &mut self,
        verb: &str,
        noun: &str,
        now: SimTime,
        correlation: Option<&str>,
    ) -> Header {
        self.messages += 1;
        Header {
            verb: verb.into(),
            noun: noun.into(),
            timestamp: Some(now.0 / SimTime::SECOND),
            async_reply_flag: None,
            reply_address: None,
            message_id: Some(format!("he-{}", self.messages)),
            correlation_id: correlation.map(str::to_string),
        }
    }

    /// `create EndDeviceControls`: starts each control's known end devices on the HAN (a
    /// pairing window open control pairs its PAN device on its meter, see [`super::Han::pair`]) and
    /// answers OK, PARTIAL (an Error per unknown device, code `2.4`, or per control it cannot
    /// read, `2.5`) or FAILED. The same CorrelationID again answers the first reply and
    /// starts nothing.
    pub fn create(&mut self, request: &RequestMessage, now: SimTime) -> ResponseMessage {
        let correlation = request.header.correlation_id.clone();
        if let Some(done) = correlation.as_ref().and_then(|c| self.requests.get(c)) {
            return done.response.clone();
        }
        let failed = |this: &mut Self, reason: &str| ResponseMessage {
            header: this.header("reply", NOUN_CONTROLS, now, correlation.as_deref()),
            reply: Reply {
                result: ReplyResult::Failed,
                errors: vec![error(
                    ERROR_BAD_REQUEST,
                    ErrorLevel::Fatal,
                    reason.into(),
                    None,
                )],
            },
            readings: Vec::new(),
        };
        let Some(correlation_id) = correlation.clone() else {
            return failed(self, "Header/CorrelationID is required");
        };
        if request.header.async_reply_flag != Some(true) {
            return failed(
                self,
                "SYNC_MODE_NOT_SUPPORTED: EndDeviceControls are asynchronous only (AsyncReplyFlag=true)",
            );
        }
        let Some(reply_address) = request.header.reply_address.clone() else {
            return failed(
                self,
                "Header/ReplyAddress is required for asynchronous results",
            );
        };
        let mut errors = Vec::new();
        let mut controls = Vec::new();
        for control in &request.controls {
            if control.control_type == cim::PAIRING_WINDOW_OPEN {
                match self.pair(control, now) {
                    Ok(accepted) => controls.push(accepted),
                    Err(e) => errors.push(e),
                }
                continue;
            }
            let (cluster, zcl) = match control.zcl() {
                Ok(z) => z,
                Err(reason) => {
                    errors.push(error(ERROR_BAD_REQUEST, ErrorLevel::Fatal, reason, None));
                    continue;
                }
            };
            let mut known = Vec::new();
            for device in &control.end_devices {
                if self.han.knows(&device.name) {
                    known.push(device.name.clone());
                } else {
                    errors.push(error(
                        ERROR_NO_SUCH_DEVICE,
                        ErrorLevel::Warning,
                        "no such meter or device at this head-end".into(),
                        Some(device.name.clone()),
                    ));
                }
            }
            if known.is_empty() {
                continue;
            }
            let end = SimTime::from_unix_seconds(control.end);
            match self.han.send(cluster, &zcl, &known, end, now) {
                Ok(batch) => controls.push((batch, Carries::Frame(cluster), end)),
                Err(reason) => {
                    errors.push(error(ERROR_BAD_REQUEST, ErrorLevel::Fatal, reason, None))
                }
            }
        }
        let result = ReplyResult::of(!controls.is_empty(), !errors.is_empty());
        let response = ResponseMessage {
            header: self.header("reply", NOUN_CONTROLS, now, Some(&correlation_id)),
            reply: Reply { result, errors },
            readings: Vec::new(),
        };
        self.requests.insert(
            correlation_id,
            Accepted {
                reply_address,
                response: response.clone(),
                done: controls.is_empty(),
                controls,
                reported: HashMap::new(),
            },
        );
        response
    }

    /// `get MeterReadings`: starts an on-demand read of each known meter ([`Han::read`]),
    /// the readings due within `read_window` of `now`, and answers OK, PARTIAL (an Error per
    /// unknown meter, code `2.4`) or FAILED; the readings follow as `reply MeterReadings` to
    /// the ReplyAddress ([`CimHeadEnd::poll`]). Asynchronous only, as controls are. The same
    /// CorrelationID again answers the first reply and starts nothing.
    pub fn read(
        &mut self,
        request: &ReadRequest,
        read_window: u64,
        now: SimTime,
    ) -> ResponseMessage {
        let correlation = request.header.correlation_id.clone();
        if let Some(done) = correlation.as_ref().and_then(|c| self.requests.get(c)) {
            return done.response.clone();
        }
        let mut failed = |reason: &str| ResponseMessage {
            header: self.header("reply", NOUN_READINGS, now, correlation.as_deref()),
            reply: Reply {
                result: ReplyResult::Failed,
                errors: vec![error(
                    ERROR_BAD_REQUEST,
                    ErrorLevel::Fatal,
                    reason.into(),
                    None,
                )],
            },
            readings: Vec::new(),
        };
        let (Some(correlation_id), Some(true), Some(reply_address)) = (
            correlation.clone(),
            request.header.async_reply_flag,
            request.header.reply_address.clone(),
        ) else {
            return failed(
                "on-demand reads are asynchronous: CorrelationID, AsyncReplyFlag true and ReplyAddress are required",
            );
        };
        let end = now.plus(read_window.saturating_mul(SimTime::SECOND));
        let mut errors = Vec::new();
        let mut controls = Vec::new();
        for meter in &request.meters {
            match self.han.read(meter, end, now) {
                Ok(batch) => controls.push((batch, Carries::Read, end)),
                Err(reason) => errors.push(error(
                    ERROR_NO_SUCH_DEVICE,
                    ErrorLevel::Warning,
                    reason,
                    Some(meter.clone()),
                )),
            }
        }
        let result = ReplyResult::of(!controls.is_empty(), !errors.is_empty());
        let response = ResponseMessage {
            header: self.header("reply", NOUN_READINGS, now, Some(&correlation_id)),
            reply: Reply { result, errors },
            readings: Vec::new(),
        };
        self.requests.insert(
            correlation_id,
            Accepted {
                reply_address,
                response: response.clone(),
                done: controls.is_empty(),
                controls,
                reported: HashMap::new(),
            },
        );
        response
    }

    /// A pairing window open control (`0.10.73.298`): the meter is the end device that is
    /// not a PAN device, the device the one with `isPan` true and its `installCode`;
    /// started on the HAN ([`super::Han::pair`]) until the control's end, or refused with an
    /// Error saying what is missing or unknown.
    fn pair(
        &mut self,
        control: &cim::EndDeviceControl,
        now: SimTime,
    ) -> Result<(BatchId, Carries, SimTime), ReplyError> {
        let bad = |reason: String| error(ERROR_BAD_REQUEST, ErrorLevel::Fatal, reason, None);
        let meters: Vec<&cim::EndDevice> = control
            .end_devices
            .iter()
            .filter(|d| d.is_pan != Some(true))
            .collect();
        let devices: Vec<&cim::EndDevice> = control
            .end_devices
            .iter()
            .filter(|d| d.is_pan == Some(true))
            .collect();
        let (&[meter], &[device]) = (meters.as_slice(), devices.as_slice()) else {
            return Err(bad(format!(
                "pairing window open needs one meter and one PAN device (isPan true); this one has {} and {}",
                meters.len(),
                devices.len()
            )));
        };
        let eui64: Eui64 = device.name.parse().map_err(|_| {
            bad(format!(
                "PAN device {:?} is not named by its EUI64",
                device.name
            ))
        })?;
        let code_text = device.install_code.as_deref().ok_or_else(|| {
            bad(format!(
                "PAN device {} has no installCode to pair with",
                device.name
            ))
        })?;
        let code: InstallCode = code_text
            .parse()
            .map_err(|e| bad(format!("installCode {code_text:?}: {e}")))?;
        if !self.han.is_meter(&meter.name) {
            return Err(error(
                ERROR_NO_SUCH_DEVICE,
                ErrorLevel::Warning,
                "no such meter at this head-end".into(),
                Some(meter.name.clone()),
            ));
        }
        let end = SimTime::from_unix_seconds(control.end);
        let batch = self
            .han
            .pair(&meter.name, eui64, &code, end, now)
            .map_err(bad)?;
        Ok((batch, Carries::Pairing(device.name.clone()), end))
    }

    /// The EndDeviceEvents to post at `now` (the HAN runs up to then): one EventMessage per
    /// request whose targets moved since the last poll, to its ReplyAddress.
    pub fn poll(&mut self, now: SimTime) -> Vec<Outgoing> {
        let open: Vec<String> = self
            .requests
            .iter()
            .filter(|(_, r)| !r.done)
            .map(|(c, _)| c.clone())
            .collect();
        let mut out = Vec::new();
        for correlation in open {
            let Some(request) = self.requests.get(&correlation) else {
                continue;
            };
            let batches: Vec<BatchId> = request.controls.iter().map(|c| c.0).collect();
            let clusters: Vec<(Carries, SimTime)> = request
                .controls
                .iter()
                .map(|c| (c.1.clone(), c.2))
                .collect();
            let progress = self.han.progress(&batches, now);
            if clusters.iter().all(|(c, _)| matches!(c, Carries::Read)) {
                out.extend(self.readings(&correlation, &progress, now));
                continue;
            }
            let mut events = Vec::new();
            let mut changes = Vec::new();
            for (i, (targets, (carries, _))) in progress.iter().zip(&clusters).enumerate() {
                for p in targets {
                    let (code, name) = match carries {
                        Carries::Frame(cluster) => (
                            cim::event::result_event(*cluster, p.state, p.event_status),
                            &p.target,
                        ),
                        Carries::Pairing(device) => (cim::event::pairing_event(p.state), device),
                        Carries::Read => (None, &p.target),
                    };
                    let Some(code) = code else {
                        continue;
                    };
                    let key = (i, name.clone());
                    // The event's reason: the meter's detail, else the head-end's own word for
                    // where the target is.
                    let reason = if p.detail.is_empty() {
                        serde_json::to_value(p.state)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default()
                    } else {
                        p.detail.clone()
                    };
                    let now_reported = (code, reason);
                    if request.reported.get(&key) != Some(&now_reported) {
                        changes.push((key, now_reported));
                    }
                }
            }
            for ((i, target), (code, detail)) in changes {
                self.events += 1;
                events.push(EndDeviceEvent {
                    mrid: format!("ev-{}", self.events),
                    created: now.0 / SimTime::SECOND,
                    event_type: code.into(),
                    end_device: target.clone(),
                    reason: detail.clone(),
                });
                if let Some(r) = self.requests.get_mut(&correlation) {
                    r.reported.insert((i, target), (code, detail));
                }
            }
            let expires_at = clusters.iter().map(|c| c.1).max().unwrap_or(now);
            let header = self.header("created", NOUN_EVENTS, now, Some(&correlation));
            let Some(request) = self.requests.get_mut(&correlation) else {
                continue;
            };
            // Devices go on answering (an event's end) after their first answer: reported
            // until the control's end, and a minute's grace.
            request.done = now > expires_at.plus(60 * SimTime::SECOND);
            if !events.is_empty() {
                out.push(Outgoing {
                    url: request.reply_address.clone(),
                    soap_action: "created EndDeviceEvents".into(),
                    body: EventMessage { header, events }.to_xml(),
                    // Results of a control are worth posting a while past its end: the
                    // expiry itself is one of them.
                    expires_at: expires_at.max(now).plus(60 * SimTime::SECOND),
                });
            }
        }
        out
    }
}

impl CimHeadEnd {
    /// The `reply MeterReadings` of read request `correlation` at `now`: the registers of the
    /// meters read since the last poll, and an Error for each that failed or was not read in
    /// time (Result OK, PARTIAL or FAILED); nothing when nothing moved. Done once every meter
    /// has its answer.
    fn readings(
        &mut self,
        correlation: &str,
        progress: &[Vec<super::Progress>],
        now: SimTime,
    ) -> Option<Outgoing> {
        let mut readings = Vec::new();
        let mut errors = Vec::new();
        let mut fresh = Vec::new();
        let request = self.requests.get(correlation)?;
        for (i, p) in progress.iter().flatten().enumerate() {
            let key = (i, p.target.clone());
            if !p.is_final() || request.reported.contains_key(&key) {
                continue;
            }
            match (p.state, p.reading) {
                (TargetState::Acknowledged, Some((wh, at))) => readings.push(Read {
                    meter: p.target.clone(),
                    register_wh: wh,
                    read_at: at.0 / SimTime::SECOND,
                }),
                _ => errors.push(error(
                    ERROR_NO_SUCH_DEVICE,
                    ErrorLevel::Fatal,
                    p.detail.clone(),
                    Some(p.target.clone()),
                )),
            }
            fresh.push(key);
        }
        let all_final = progress.iter().flatten().all(super::Progress::is_final);
        let expires_at = request.controls.iter().map(|c| c.2).max().unwrap_or(now);
        let reply_address = request.reply_address.clone();
        let header = self.header("reply", NOUN_READINGS, now, Some(correlation));
        let request = self.requests.get_mut(correlation)?;
        for key in fresh {
            request.reported.insert(key, ("read", String::new()));
        }
        request.done = all_final;
        if readings.is_empty() && errors.is_empty() {
            return None;
        }
        let result = ReplyResult::of(!readings.is_empty(), !errors.is_empty());
        Some(Outgoing {
            url: reply_address,
            soap_action: "reply MeterReadings".into(),
            body: ResponseMessage {
                header,
                reply: Reply { result, errors },
                readings,
            }
            .to_xml(),
            expires_at: expires_at.max(now).plus(60 * SimTime::SECOND),
        })
    }
}

/// How long a simulated CIM head-end tries to read a meter on demand, seconds: a
/// `get MeterReadings` carries no expiry of its own, so the head-end's: the MultiSpeak sample's
/// `expTime` of 10 minutes (facts §2).
pub const READ_WINDOW_SECONDS: u64 = 600;

impl SoapFront for CimHeadEnd {
    fn handle(&mut self, body: &str, now: SimTime) -> (u16, String) {
        match CimRequest::from_xml(body) {
            Ok(CimRequest::Controls(request)) => (200, self.create(&request, now).to_xml()),
            Ok(CimRequest::Read(request)) => {
                (200, self.read(&request, READ_WINDOW_SECONDS, now).to_xml())
            }
            Err(e) => (500, hanrig_headend::xml::fault(true, &e.to_string())),
        }
    }

    fn poll(&mut self, now: SimTime) -> Vec<Outgoing> {
        CimHeadEnd::poll(self, now)
    }
}
