//! The MultiSpeak 4.1 front ([`hanrig_headend::multispeak`]): `Initiate*`/`Cancel*` answered
//! at once with `errorObject`s (none: accepted), then `*Notification`s posted to the
//! request's responseURL with its transactionID as the HAN moves (facts §2).

use std::collections::{BTreeMap, HashMap};

use hanrig_headend::multispeak::{
    self, Call, DemandResponseEventStatus, ErrorObject, HanRegistration, IhdMessageStatus,
    MeterRead, MsgHeader, Notification, NotificationMessage, PricingStatus, Request, Response,
};
use hanrig_sep::install_code::InstallCode;
use hanrig_sep::{Eui64, ZclFrame};

use super::http::{Outgoing, SoapFront};
use super::{BatchId, Han, Latency};
use crate::clock::SimTime;
use crate::device::DeviceKind;

#[derive(Debug)]
struct Accepted {
    response_url: String,
    response: Response,
    batch: Option<BatchId>,
    cluster: u16,
    /// For a HAN registration: the device (EUI64 as requested) and meter it pairs.
    registration: Option<(String, String)>,
    /// The SE event or message ID the notifications name.
    object_id: u32,
    /// For `InitiateMeterReadingsByMeterID`: a read per known meter.
    reads: Vec<BatchId>,
    expires_at: SimTime,
    reported: HashMap<String, &'static str>,
    done: bool,
}

/// The simulated MultiSpeak head-end and the HAN behind it.
#[derive(Debug)]
pub struct MultiSpeakHeadEnd {
    pub(super) han: Han,
    requests: BTreeMap<String, Accepted>,
    messages: u64,
}

fn refusal(object_id: &str, error_string: String, now: SimTime) -> ErrorObject {
    ErrorObject {
        object_id: object_id.into(),
        error_string,
        noun_type: "HANDevice".into(),
        event_time: Some(now.0 / SimTime::SECOND),
        text: String::new(),
    }
}

impl MultiSpeakHeadEnd {
    /// A head-end for `meters` (ESIID and the kind of its one device); see [`Han::new`].
    pub fn new(
        meters: &[(String, DeviceKind)],
        latency: Latency,
        seed: u64,
        start: SimTime,
    ) -> Self {
        MultiSpeakHeadEnd {
            han: Han::new(meters, latency, seed, start),
            requests: BTreeMap::new(),
            messages: 0,
        }
    }

    fn header(&mut self, now: SimTime) -> MsgHeader {
        self.messages += 1;
        MsgHeader::new(
            "hanrig-sim-headend",
            "TDSP",
            &format!("he-{}", self.messages),
            now.0 / SimTime::SECOND,
        )
    }

    /// An `Initiate*`/`Cancel*` request: starts its SE frame to each known device and
    /// answers an `errorObject` per unknown one (the known ones go ahead), or per problem
    /// with the request; none means accepted. The same transactionID again answers the first
    /// response and starts nothing. `InitiateHANRegistration` pairs a device on its meter
    /// (see [`super::Han::pair`]; notified by `HANRegistrationNotification`).
    /// `InitiateMeterReadingsByMeterID` reads each known meter's register on demand
    /// ([`super::Han::read`]) until expTime; each reading is notified by
    /// `ReadingChangedNotification`, and a meter not read by then gets none (facts §2: "the
    /// requestor should not expect a response").
    pub fn initiate(&mut self, request: &Request, now: SimTime) -> Response {
        if let Some(done) = self.requests.get(&request.transaction_id) {
            return done.response.clone();
        }
        let operation = request.call.name().to_string();
        let header = self.header(now);
        if let Call::InitiateMeterReadingsByMeterID { meter_ids } = &request.call {
            let expires_at = now.plus(request.exp_time.seconds().saturating_mul(SimTime::SECOND));
            let mut errors = Vec::new();
            let mut reads = Vec::new();
            for meter in meter_ids {
                match self.han.read(meter, expires_at, now) {
                    Ok(batch) => reads.push(batch),
                    Err(_) => errors.push(ErrorObject {
                        noun_type: "Meter".into(),
                        ..refusal(meter, "no such meter at this head-end".into(), now)
                    }),
                }
            }
            let response = Response {
                header,
                operation,
                errors,
            };
            self.requests.insert(
                request.transaction_id.clone(),
                Accepted {
                    response_url: request.response_url.clone(),
                    response: response.clone(),
                    batch: None,
                    cluster: 0,
                    registration: None,
                    object_id: 0,
                    done: reads.is_empty(),
                    reads,
                    expires_at,
                    reported: HashMap::new(),
                },
            );
            return response;
        }
        let refuse = |why: String| Response {
            header: header.clone(),
            operation: operation.clone(),
            errors: vec![refusal(&request.transaction_id, why, now)],
        };
        if let Call::InitiateHANRegistration {
            han_interface_id,
            han_device_id,
            token,
            time_out,
        } = &request.call
        {
            let registration =
                self.register(han_interface_id, han_device_id, token, *time_out, now);
            let (batch, errors, expires_at) = match registration {
                Ok((batch, end)) => (Some(batch), Vec::new(), end),
                Err((object, why)) => (None, vec![refusal(&object, why, now)], now),
            };
            let response = Response {
                header,
                operation,
                errors,
            };
            self.requests.insert(
                request.transaction_id.clone(),
                Accepted {
                    response_url: request.response_url.clone(),
                    response: response.clone(),
                    batch,
                    cluster: 0,
                    registration: Some((han_device_id.clone(), han_interface_id.clone())),
                    object_id: 0,
                    reads: Vec::new(),
                    expires_at,
                    reported: HashMap::new(),
                    done: batch.is_none(),
                },
            );
            return response;
        }
        let Some(se) = &request.se_frame else {
            return refuse(format!(
                "{operation}: this head-end delivers the SE frame of a request (seFrame), and this one has none"
            ));
        };
        let frame = match ZclFrame::parse(se.cluster, &se.zcl) {
            Ok(f) => f,
            Err(e) => return refuse(format!("seFrame does not parse: {e:?}")),
        };
        match Call::from_se(&frame, Vec::new()) {
            Ok(c) if c.name() == operation => {}
            Ok(c) => {
                return refuse(format!(
                    "seFrame holds a {} command, which goes by {}, not {operation}",
                    frame.command.name(),
                    c.name()
                ));
            }
            Err(e) => return refuse(e.to_string()),
        }
        let targets = request.call.targets();
        let mut errors: Vec<ErrorObject> = targets
            .iter()
            .filter(|t| !self.han.knows(t))
            .map(|t| refusal(t, "no such meter or device at this head-end".into(), now))
            .collect();
        let known: Vec<String> = targets.into_iter().filter(|t| self.han.knows(t)).collect();
        let expires_at = now.plus(request.exp_time.seconds().saturating_mul(SimTime::SECOND));
        let batch = if known.is_empty() {
            None
        } else {
            match self.han.send(se.cluster, &se.zcl, &known, expires_at, now) {
                Ok(b) => Some(b),
                Err(why) => {
                    errors.push(refusal(&request.transaction_id, why, now));
                    None
                }
            }
        };
        let object_id = match &request.call {
            Call::InitiateDemandResponseEvent { event, .. } => event.event_id,
            Call::CancelDemandResponseEvent { event_id, .. } => event_id.unwrap_or(0),
            Call::InitiateInHomeDisplayMessage { message, .. } => message.message_id,
            Call::CancelInHomeDisplayMessage { message_id, .. } => *message_id,
            _ => 0,
        };
        let response = Response {
            header,
            operation,
            errors,
        };
        self.requests.insert(
            request.transaction_id.clone(),
            Accepted {
                response_url: request.response_url.clone(),
                response: response.clone(),
                batch,
                cluster: se.cluster,
                registration: None,
                object_id,
                reads: Vec::new(),
                expires_at,
                reported: HashMap::new(),
                done: batch.is_none(),
            },
        );
        response
    }

    /// `InitiateHANRegistration`: pairs device `device` on meter `meter` with the install
    /// code in `token` (encoding `hex`, tokenType `InstallCode`) for `time_out` minutes
    /// ([`super::Han::pair`]); the batch and the window's end, or the object refused and
    /// why.
    fn register(
        &mut self,
        meter: &str,
        device: &str,
        token: &multispeak::SecurityToken,
        time_out: u32,
        now: SimTime,
    ) -> Result<(BatchId, SimTime), (String, String)> {
        if !token.token_type.eq_ignore_ascii_case("InstallCode")
            || !token.encoding.eq_ignore_ascii_case("hex")
        {
            return Err((
                device.to_string(),
                format!(
                    "HANSecurityToken of tokenType {:?}, encoding {:?}: this head-end pairs by install code (tokenType InstallCode, encoding hex)",
                    token.token_type, token.encoding
                ),
            ));
        }
        let code: InstallCode = token
            .value
            .parse()
            .map_err(|e| (device.to_string(), format!("HANSecurityToken: {e}")))?;
        let eui64: Eui64 = device.parse().map_err(|_| {
            (
                device.to_string(),
                format!("HANDeviceID {device:?} is not an EUI64"),
            )
        })?;
        if time_out == 0 {
            return Err((
                device.to_string(),
                "timeOut 0: the join window must stay open at least a minute".into(),
            ));
        }
        if !self.han.is_meter(meter) {
            return Err((meter.to_string(), "no such meter at this head-end".into()));
        }
        let end = now.plus(u64::from(time_out) * 60 * SimTime::SECOND);
        self.han
            .pair(meter, eui64, &code, end, now)
            .map(|b| (b, end))
            .map_err(|why| (meter.to_string(), why))
    }

    /// The notifications to post at `now` (the HAN runs up to then): one per request whose
    /// targets moved since the last poll, to its responseURL.
    pub fn poll(&mut self, now: SimTime) -> Vec<Outgoing> {
        let mut out = self.readings(now);
        let open: Vec<(String, BatchId)> = self
            .requests
            .iter()
            .filter(|(_, r)| !r.done)
            .filter_map(|(t, r)| Some((t.clone(), r.batch?)))
            .collect();
        let batches: Vec<BatchId> = open.iter().map(|o| o.1).collect();
        let progress = self.han.progress(&batches, now);
        for ((transaction, _), targets) in open.into_iter().zip(progress) {
            let header = self.header(now);
            let Some(request) = self.requests.get_mut(&transaction) else {
                continue;
            };
            let mut changed = Vec::new();
            let mut details = HashMap::new();
            for p in &targets {
                let word = match &request.registration {
                    Some(_) => multispeak::registration_result(p.state),
                    None => multispeak::result_status(request.cluster, p.state, p.event_status),
                };
                let Some(word) = word else {
                    continue;
                };
                if request.reported.get(&p.target) != Some(&word) {
                    request.reported.insert(p.target.clone(), word);
                    changed.push((p.target.clone(), word));
                    details.insert(p.target.clone(), p.detail.clone());
                }
            }
            // Devices go on answering (an event's end) after their first answer: notified
            // until expTime, and a minute's grace.
            request.done = now > request.expires_at.plus(60 * SimTime::SECOND);
            if changed.is_empty() {
                continue;
            }
            let stamp = now.0 / SimTime::SECOND;
            let id = request.object_id;
            let notification = match (&request.registration, request.cluster) {
                (Some((device, meter)), _) => Notification::HanRegistration(
                    changed
                        .into_iter()
                        .map(|(target, status)| HanRegistration {
                            device_id: device.clone(),
                            interface_id: meter.clone(),
                            registration_status: status.into(),
                            comments: details.remove(&target),
                        })
                        .collect(),
                ),
                (None, 0x0703) => Notification::IhdMessageStatus(
                    changed
                        .into_iter()
                        .map(|(device_id, status)| IhdMessageStatus {
                            device_id,
                            message_id: id,
                            status: status.into(),
                        })
                        .collect(),
                ),
                (None, 0x0700) => Notification::PricingTiersChanged(
                    changed
                        .into_iter()
                        .map(|(device_id, status)| PricingStatus {
                            device_id,
                            status: status.into(),
                        })
                        .collect(),
                ),
                _ => Notification::DemandResponseEvent(
                    changed
                        .into_iter()
                        .map(|(device_id, status)| DemandResponseEventStatus {
                            event_id: id,
                            device_id,
                            event_status: status.into(),
                            timestamp: stamp,
                        })
                        .collect(),
                ),
            };
            out.push(Outgoing {
                url: request.response_url.clone(),
                soap_action: format!("{}/{}", multispeak::NS, notification.name()),
                body: NotificationMessage {
                    header,
                    transaction_id: transaction.clone(),
                    notification,
                }
                .to_xml(),
                // expTime bounds the request; its own expiry notice gets a minute more.
                expires_at: request.expires_at.max(now).plus(60 * SimTime::SECOND),
            });
        }
        out
    }
}

impl MultiSpeakHeadEnd {
    /// The `ReadingChangedNotification`s to post at `now`: one per read request with meters
    /// read since the last poll. A request is done once each of its meters is read or past
    /// expTime.
    fn readings(&mut self, now: SimTime) -> Vec<Outgoing> {
        let open: Vec<(String, Vec<BatchId>)> = self
            .requests
            .iter()
            .filter(|(_, r)| !r.done && !r.reads.is_empty())
            .map(|(t, r)| (t.clone(), r.reads.clone()))
            .collect();
        let mut out = Vec::new();
        for (transaction, reads) in open {
            let progress = self.han.progress(&reads, now);
            let header = self.header(now);
            let Some(request) = self.requests.get_mut(&transaction) else {
                continue;
            };
            let mut fresh = Vec::new();
            for p in progress.iter().flatten() {
                if let Some((wh, at)) = p.reading
                    && request.reported.insert(p.target.clone(), "read").is_none()
                {
                    fresh.push(MeterRead {
                        meter_id: p.target.clone(),
                        register_wh: wh,
                        read_at: at.0 / SimTime::SECOND,
                    });
                }
            }
            request.done = progress.iter().flatten().all(super::Progress::is_final);
            if fresh.is_empty() {
                continue;
            }
            let notification = Notification::ReadingChanged(fresh);
            out.push(Outgoing {
                url: request.response_url.clone(),
                soap_action: format!("{}/{}", multispeak::NS, notification.name()),
                body: NotificationMessage {
                    header,
                    transaction_id: transaction,
                    notification,
                }
                .to_xml(),
                expires_at: request.expires_at.max(now).plus(60 * SimTime::SECOND),
            });
        }
        out
    }
}

impl SoapFront for MultiSpeakHeadEnd {
    fn handle(&mut self, body: &str, now: SimTime) -> (u16, String) {
        match Request::from_xml(body) {
            Ok(request) => (200, self.initiate(&request, now).to_xml()),
            Err(e) => (500, hanrig_headend::xml::fault(true, &e.to_string())),
        }
    }

    fn poll(&mut self, now: SimTime) -> Vec<Outgoing> {
        MultiSpeakHeadEnd::poll(self, now)
    }
}
