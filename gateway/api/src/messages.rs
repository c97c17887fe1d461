//! HAN messages: price, text, load control, their cancels, and their status per address.

use axum::extract::State;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use hanrig_gateway::access::Permission;
use hanrig_gateway::esiid::Esiid;
use hanrig_gateway::message::{
    Address, EnrollmentGroup, LoadControlMessage, PriceMessage, TextMessage, addresses, han_frame,
    plan,
};
use hanrig_gateway::routing::Tdsp;
use hanrig_gateway_store::{Acceptance, Idempotent, NewMessage, Remembered};
use hanrig_sep::{Command, Eui64};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::idempotency::{self, IdempotencyKey};
use crate::{Api, ApiError, Caller, ErrorBody, Path, bad, caller};

/// The addresses of a message request: ESIIDs (every device on each meter) and devices by
/// EUI64; at least one, at most 10,000 of each.
macro_rules! addressed {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// ESIIDs: every device on each meter; at most 10,000. With `devices`, at least one
            /// address (duplicates count once).
            #[serde(default)]
            pub esiids: Vec<String>,
            /// Devices by EUI64 (16 hex digits, `:` or `-` between them allowed); at most 10,000.
            #[serde(default)]
            pub devices: Vec<String>,
            $($(#[$fdoc])* pub $field: $ty,)*
        }

        impl $name {
            /// The addresses, checked and de-duplicated.
            fn addresses(&self) -> Result<Vec<Address>, ApiError> {
                addresses(&self.esiids, &self.devices).map_err(bad)
            }
        }
    };
}

addressed! {
    /// `POST /v1/messages/text`.
    TextRequest {
        /// The text message.
        message: TextMessage,
    }
}

addressed! {
    /// `POST /v1/messages/price`.
    PriceRequest {
        /// The price signal.
        message: PriceMessage,
    }
}

addressed! {
    /// `POST /v1/messages/load-control`.
    LoadControlRequest {
        /// The load-control event.
        message: LoadControlMessage,
    }
}

addressed! {
    /// `POST /v1/messages/load-control/cancel-all`.
    CancelAllRequest {
        /// Devices end their events with the events' randomisation.
        #[serde(default)]
        randomize_end: bool,
    }
}

addressed! {
    /// `POST /v1/enrollment-groups`.
    EnrollmentGroupRequest {
        /// The group each device is put in, 0–255 (0: in no group of its own, it runs only
        /// events for all groups).
        #[schema(maximum = 255)]
        group: u8,
    }
}

/// `POST /v1/messages/load-control/{id}/cancel`; the body may be absent.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelEvent {
    /// When the cancel takes effect (Unix seconds); now when absent.
    #[serde(default)]
    #[schema(minimum = 946_684_801, maximum = 5_241_652_094_u64)]
    pub effective: Option<u64>,
    /// End with the event's randomisation.
    #[serde(default)]
    pub randomize_end: bool,
}

/// A message's deliveries, counted by status.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SummaryView {
    /// Addresses.
    pub total: u64,
    /// Not yet handed to the head-end.
    pub queued: u64,
    /// Accepted by the head-end.
    pub sent: u64,
    /// Received by the device.
    pub delivered: u64,
    /// Answered by the device (Report Event Status, Message Confirmation, Price Acknowledgement).
    #[serde(rename = "device-acknowledged")]
    pub device_acknowledged: u64,
    /// Failed or expired.
    pub failed: u64,
}

/// One address of a message and where its delivery is.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AddressStatus {
    /// The ESIID or device EUI64.
    pub address: String,
    /// The TDSP it goes through.
    pub tdsp: String,
    /// queued, sent, delivered, device-acknowledged or failed.
    pub status: String,
    /// The latest report's detail.
    pub detail: String,
}

/// `GET /v1/messages/{id}`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageView {
    /// The message.
    pub id: i64,
    /// text, price, load-control, text-cancel, load-control-cancel or load-control-cancel-all.
    pub kind: String,
    /// When it was accepted, Unix seconds.
    pub created_at: i64,
    /// Its deliveries by status.
    pub summary: SummaryView,
    /// Every address.
    pub addresses: Vec<AddressStatus>,
}

/// `202 Accepted`: stored with one delivery per address.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Accepted {
    /// The message, for `GET /v1/messages/{id}`.
    pub id: i64,
    /// The SE message ID or issuer event ID devices see.
    pub se_id: u32,
    /// Addresses accepted (after de-duplication).
    pub addresses: usize,
    /// Devices on addressed meters that get nothing: the caller holds no In-Home Device
    /// Services Agreement allowing this message type for them (SMT Table 5: one agreement per
    /// device). When a meter has such a device, the message goes to the meter's consenting
    /// devices by EUI64 instead of to the meter.
    pub skipped_devices: Vec<String>,
}

impl Api {
    /// Plans, encodes and stores a message; the common path of every send.
    #[allow(clippy::too_many_arguments)]
    async fn accept(
        &self,
        caller: &Caller,
        once: &IdempotencyKey,
        kind: &str,
        request: serde_json::Value,
        to: &[Address],
        command: Command,
        se_id: u32,
    ) -> Result<Response, ApiError> {
        let now = (self.clock)();
        let once = once.with_body(&request);
        if let Some((key, fingerprint)) = &once
            && let Some(first) = self.store.remembered(&caller.company, key, now).await?
        {
            return replay(key, fingerprint, first);
        }
        // An ESIID no TDSP serves is a 422 whatever the agreements; then consent decides
        // where the message goes (an address without a consenting device is a 403), and only
        // then are devices found on their meters.
        let meters: Vec<Address> = to
            .iter()
            .filter(|a| matches!(a, Address::Esiid(_)))
            .cloned()
            .collect();
        plan(&meters, &self.routing, |_| None).map_err(bad)?;
        let (to, skipped) = self.consented(caller, kind, to).await?;
        // A device the caller may address that is on no meter yet conflicts with its state.
        let deliveries = self
            .plan(&to)
            .await
            .map_err(|ApiError(_, why)| ApiError(StatusCode::CONFLICT, why))?;
        if matches!(command, Command::WriteAttributes(_)) {
            carried_by_job_style(&deliveries)?;
        }
        let zcl = han_frame(command).ok_or_else(|| bad("not a HAN command"))?;
        let cluster = zcl.cluster;
        let mut frame = [0u8; 127];
        let len = zcl
            .emit(&mut frame)
            .map_err(|e| bad(format!("the message does not fit one frame: {e:?}")))?;
        let body = json!({ "se_id": se_id, "request": request }).to_string();
        let message = NewMessage {
            company: &caller.company,
            kind,
            request: &body,
            cluster,
            command: &frame[..len],
        };
        let mut accepted = Accepted {
            id: 0,
            se_id,
            addresses: deliveries.len(),
            skipped_devices: skipped.iter().map(ToString::to_string).collect(),
        };
        accepted.id = match &once {
            None => {
                self.store
                    .accept_message(&message, &deliveries, now)
                    .await?
            }
            Some((key, fingerprint)) => {
                let answer = serde_json::to_string(&accepted)
                    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
                let once = Idempotent {
                    key,
                    fingerprint,
                    answer: &answer,
                };
                match self
                    .store
                    .accept_message_once(&message, &deliveries, &once, now)
                    .await?
                {
                    Acceptance::Stored(id) => id,
                    Acceptance::Remembered(first) => return replay(key, fingerprint, first),
                }
            }
        };
        let touched = crate::audit::Touched(deliveries.iter().map(|(_, t)| *t).collect());
        Ok((StatusCode::ACCEPTED, Extension(touched), Json(accepted)).into_response())
    }

    /// One delivery per address, each through its TDSP (a device through its meter's).
    async fn plan(&self, to: &[Address]) -> Result<Vec<(Address, Tdsp)>, ApiError> {
        let devices: Vec<Eui64> = to
            .iter()
            .filter_map(|a| match a {
                Address::Device(d) => Some(*d),
                Address::Esiid(_) => None,
            })
            .collect();
        let meters = self.store.meters_of(&devices).await?;
        plan(to, &self.routing, |d| meters.get(&d).cloned()).map_err(bad)
    }

    /// Where the message may go (SMT Table 5: an In-Home Device Services Agreement per
    /// device, allowing the message's type): a device only with its own agreement; a meter
    /// only with one for a device on it — and when the meter has joined or joining devices
    /// without one, the message goes to its consenting devices by EUI64 instead, and the
    /// others are returned as skipped. Refuses the message, naming them, when an address has
    /// no consenting device at all.
    async fn consented(
        &self,
        caller: &Caller,
        kind: &str,
        to: &[Address],
    ) -> Result<(Vec<Address>, Vec<Eui64>), ApiError> {
        let family = kind.split('-').next().unwrap_or(kind);
        // An enrollment group decides which load-control events a device runs.
        let family = if family == "load" || family == "enrollment" {
            "load-control"
        } else {
            family
        };
        let (meters, devices) = self
            .store
            .permitted(&caller.company, family, (self.clock)())
            .await?;
        let missing: Vec<String> = to
            .iter()
            .filter(|a| match a {
                Address::Esiid(e) => !meters.contains(e),
                Address::Device(d) => !devices.contains(d),
            })
            .map(|a| match a {
                Address::Esiid(e) => e.to_string(),
                Address::Device(d) => d.to_string(),
            })
            .collect();
        if missing.is_empty() {
            let meters: Vec<Esiid> = to
                .iter()
                .filter_map(|a| match a {
                    Address::Esiid(e) => Some(e.clone()),
                    Address::Device(_) => None,
                })
                .collect();
            let on = self.store.active_devices_on(&meters).await?;
            let (mut reach, mut skipped) = (Vec::with_capacity(to.len()), Vec::new());
            for a in to {
                let Address::Esiid(e) = a else {
                    reach.push(a.clone());
                    continue;
                };
                let (yes, no): (Vec<Eui64>, Vec<Eui64>) = on
                    .get(e)
                    .into_iter()
                    .flatten()
                    .partition(|d| devices.contains(d));
                if no.is_empty() {
                    reach.push(a.clone());
                } else {
                    reach.extend(yes.into_iter().map(Address::Device));
                    skipped.extend(no);
                }
            }
            if reach.is_empty() {
                return Err(ApiError(
                    StatusCode::FORBIDDEN,
                    format!(
                        "no device on the addressed meters has an In-Home Device Services Agreement allowing {family} messages from {:?}",
                        caller.company
                    ),
                ));
            }
            return Ok((reach, skipped));
        }
        Err(ApiError(
            StatusCode::FORBIDDEN,
            format!(
                "no In-Home Device Services Agreement in force allows {family} messages from {:?} to {} of the addresses: {}{}",
                caller.company,
                missing.len(),
                missing
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                if missing.len() > 5 { ", …" } else { "" }
            ),
        ))
    }

    /// The message `id`, if the caller's company sent it: its kind, SE ID and addresses.
    async fn own(&self, caller: &Caller, id: i64) -> Result<(String, u32, Vec<Address>), ApiError> {
        let m = self.store.message(id).await?;
        if m.company != caller.company {
            return Err(ApiError(
                StatusCode::NOT_FOUND,
                format!("message {id} not found"),
            ));
        }
        let body: serde_json::Value = serde_json::from_str(&m.request)
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        let se_id = body["se_id"].as_u64().unwrap_or(0) as u32;
        let mut to = Vec::new();
        for d in self.store.deliveries(id).await? {
            to.push(match d.address.parse::<Eui64>() {
                Ok(eui) if d.address.contains(':') => Address::Device(eui),
                _ => Address::Esiid(
                    d.address
                        .parse()
                        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}")))?,
                ),
            });
        }
        Ok((m.kind, se_id, to))
    }
}

/// The answer to a request whose `Idempotency-Key` was used before: the first answer again
/// when the request is the same, `409` when it is not.
fn replay(key: &str, fingerprint: &str, first: Remembered) -> Result<Response, ApiError> {
    // 409, not the IETF draft's 422: the request itself is valid; it conflicts with what
    // the key already stands for (and a client retrying with a stale key learns it the same
    // way as any other conflict).
    if first.fingerprint != fingerprint {
        return Err(ApiError(
            StatusCode::CONFLICT,
            format!(
                "{} {key:?} was used for a different request (it created message {}); use a new key for a new request",
                idempotency::HEADER,
                first.message_id
            ),
        ));
    }
    let mut accepted: Accepted = serde_json::from_str(&first.answer)
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    accepted.id = first.message_id;
    Ok((
        StatusCode::ACCEPTED,
        [(idempotency::REPLAYED, "true")],
        Json(accepted),
    )
        .into_response())
}

/// Only the job-style head-ends carry a Write Attributes: IEC 61968-9's EndDeviceControlTypes
/// and MultiSpeak 4.1's operations have none that writes a device's utility enrollment group
/// (both carry the group only inside a demand-response event), so addresses behind a CIM or
/// MultiSpeak head-end are refused, each named.
fn carried_by_job_style(
    deliveries: &[(Address, hanrig_gateway::routing::Tdsp)],
) -> Result<(), ApiError> {
    use hanrig_gateway::routing::HeadEndStyle;
    let refused: Vec<String> = deliveries
        .iter()
        .filter(|(_, tdsp)| tdsp.style() != HeadEndStyle::Jobs)
        .map(|(address, tdsp)| {
            let address = match address {
                Address::Esiid(e) => e.to_string(),
                Address::Device(d) => d.to_string(),
            };
            format!("{address} ({tdsp}, {:?} head-end)", tdsp.style())
        })
        .collect();
    if refused.is_empty() {
        return Ok(());
    }
    Err(bad(format!(
        "{} of the addresses go through a head-end with no request that writes a device's utility enrollment group (only the job-style head-ends carry it): {}{}",
        refused.len(),
        refused
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        if refused.len() > 5 { ", …" } else { "" }
    )))
}

/// Put devices in a utility enrollment group (SE 1.0: the ESI writes the DRLC client's
/// UtilityEnrollmentGroup); they then run only load-control events for all groups or theirs.
#[utoipa::path(
    post,
    path = "/v1/enrollment-groups",
    tag = "messages",
    params(("Idempotency-Key" = Option<String>, Header, description = "Any 1–255 visible ASCII characters, unique per request: the same POST sent again with the same key within 24 hours gets the first answer and creates nothing (a different request with that key is 409)")),
    request_body(content = EnrollmentGroupRequest, example = json!({
        "esiids": ["1008901000140000000000"],
        "group": 5
    })),
    responses(
        (status = 400, body = ErrorBody, description = "A malformed Idempotency-Key"),
        (status = 409, body = ErrorBody, description = "A device the caller may address is on no meter yet (named); nothing stored"),
        (status = 202, body = Accepted, headers(("Idempotent-Replayed" = String, description = "true when this is the first answer again, for a repeated Idempotency-Key")), description = "Stored with one delivery per address; each device answers Write Attributes Response"),
        (status = 403, body = ErrorBody, description = "The user lacks the send-messages permission, or no In-Home Device Services Agreement allows load control at an address (named)"),
        (status = 422, body = ErrorBody, description = "Bad input, or addresses behind a CIM or MultiSpeak head-end (named); nothing stored"),
    )
)]
pub async fn enrollment_group(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    once: IdempotencyKey,
    crate::JsonBody(body): crate::JsonBody,
) -> Result<Response, ApiError> {
    let caller = caller(c, Permission::SendMessages)?;
    let r: EnrollmentGroupRequest = parse(&body)?;
    let to = r.addresses()?;
    let id = api.next_id().await?;
    api.accept(
        &caller,
        &once,
        "enrollment-group",
        body,
        &to,
        EnrollmentGroup { group: r.group }.command(),
        id,
    )
    .await
}

fn parse<R: for<'de> Deserialize<'de>>(body: &serde_json::Value) -> Result<R, ApiError> {
    serde_json::from_value(body.clone()).map_err(|e| bad(format!("request body: {e}")))
}

/// Send a text message (SE Messaging: Display Message) to ESIIDs and devices.
#[utoipa::path(
    post,
    path = "/v1/messages/text",
    tag = "messages",
    params(("Idempotency-Key" = Option<String>, Header, description = "Any 1–255 visible ASCII characters, unique per request: the same POST sent again with the same key within 24 hours gets the first answer and creates nothing (a different request with that key is 409)")),
    request_body(content = TextRequest, example = json!({
        "esiids": ["10443720001234567"],
        "devices": ["00:0d:6f:00:00:00:00:01"],
        "message": {"text": "Peak pricing 2-6pm today", "confirmation_required": true, "duration_minutes": 240}
    })),
    responses(
        (status = 400, body = ErrorBody, description = "A malformed Idempotency-Key"),
        (status = 409, body = ErrorBody, description = "A device the caller may address is on no meter yet (named); nothing stored"),
        (status = 202, body = Accepted, headers(("Idempotent-Replayed" = String, description = "true when this is the first answer again, for a repeated Idempotency-Key")), description = "Stored with one delivery per address"),
        (status = 401, body = ErrorBody, description = "No client certificate the gateway knows, or wrong credentials"),
        (status = 403, body = ErrorBody, description = "The user lacks the send-messages permission, or no In-Home Device Services Agreement allows the message at an address (named)"),
        (status = 422, body = ErrorBody, description = "Bad input, named precisely; nothing stored"),
    )
)]
pub async fn text(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    once: IdempotencyKey,
    crate::JsonBody(body): crate::JsonBody,
) -> Result<Response, ApiError> {
    let caller = caller(c, Permission::SendMessages)?;
    let r: TextRequest = parse(&body)?;
    let to = r.addresses()?;
    let id = api.next_id().await?;
    let command = r.message.command(id).map_err(bad)?;
    api.accept(&caller, &once, "text", body, &to, command, id)
        .await
}

/// Send a price signal (SE Price: Publish Price) to ESIIDs and devices.
#[utoipa::path(
    post,
    path = "/v1/messages/price",
    tag = "messages",
    params(("Idempotency-Key" = Option<String>, Header, description = "Any 1–255 visible ASCII characters, unique per request: the same POST sent again with the same key within 24 hours gets the first answer and creates nothing (a different request with that key is 409)")),
    request_body(content = PriceRequest, example = json!({
        "esiids": ["10443720001234567", "1008901000140000000000"],
        "message": {"provider_id": 1001, "rate_label": "Peak", "price": 2150, "trailing_digits": 4, "tier": 2, "duration_minutes": 240, "acknowledge": true}
    })),
    responses(
        (status = 400, body = ErrorBody, description = "A malformed Idempotency-Key"),
        (status = 409, body = ErrorBody, description = "A device the caller may address is on no meter yet (named); nothing stored"),
        (status = 202, body = Accepted, headers(("Idempotent-Replayed" = String, description = "true when this is the first answer again, for a repeated Idempotency-Key")), description = "Stored with one delivery per address"),
        (status = 401, body = ErrorBody, description = "No client certificate the gateway knows, or wrong credentials"),
        (status = 403, body = ErrorBody, description = "The user lacks the send-messages permission, or no In-Home Device Services Agreement allows the message at an address (named)"),
        (status = 422, body = ErrorBody, description = "Bad input, named precisely; nothing stored"),
    )
)]
pub async fn price(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    once: IdempotencyKey,
    crate::JsonBody(body): crate::JsonBody,
) -> Result<Response, ApiError> {
    let caller = caller(c, Permission::SendMessages)?;
    let r: PriceRequest = parse(&body)?;
    let to = r.addresses()?;
    let id = api.next_id().await?;
    let command = r.message.command(id).map_err(bad)?;
    api.accept(&caller, &once, "price", body, &to, command, id)
        .await
}

/// Send a load-control event (SE DRLC: Load Control Event) to ESIIDs and devices.
#[utoipa::path(
    post,
    path = "/v1/messages/load-control",
    tag = "messages",
    params(("Idempotency-Key" = Option<String>, Header, description = "Any 1–255 visible ASCII characters, unique per request: the same POST sent again with the same key within 24 hours gets the first answer and creates nothing (a different request with that key is 409)")),
    request_body(content = LoadControlRequest, example = json!({
        "esiids": ["10032780001234567"],
        "message": {"device_class": 1, "duration_minutes": 120, "criticality": 3, "cooling_offset": 20, "randomize_start": true}
    })),
    responses(
        (status = 400, body = ErrorBody, description = "A malformed Idempotency-Key"),
        (status = 409, body = ErrorBody, description = "A device the caller may address is on no meter yet (named); nothing stored"),
        (status = 202, body = Accepted, headers(("Idempotent-Replayed" = String, description = "true when this is the first answer again, for a repeated Idempotency-Key")), description = "Stored with one delivery per address"),
        (status = 401, body = ErrorBody, description = "No client certificate the gateway knows, or wrong credentials"),
        (status = 403, body = ErrorBody, description = "The user lacks the send-messages permission, or no In-Home Device Services Agreement allows the message at an address (named)"),
        (status = 422, body = ErrorBody, description = "Bad input, named precisely; nothing stored"),
    )
)]
pub async fn load_control(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    once: IdempotencyKey,
    crate::JsonBody(body): crate::JsonBody,
) -> Result<Response, ApiError> {
    let caller = caller(c, Permission::SendMessages)?;
    let r: LoadControlRequest = parse(&body)?;
    let to = r.addresses()?;
    let id = api.next_id().await?;
    let command = r.message.command(id).map_err(bad)?;
    api.accept(&caller, &once, "load-control", body, &to, command, id)
        .await
}

/// Cancel a text message (SE Messaging: Cancel Message) at every address it went to.
#[utoipa::path(
    post,
    path = "/v1/messages/text/{id}/cancel",
    tag = "messages",
    params(("Idempotency-Key" = Option<String>, Header, description = "Any 1–255 visible ASCII characters, unique per request: the same POST sent again with the same key within 24 hours gets the first answer and creates nothing (a different request with that key is 409)"), ("id" = i64, Path, description = "The text message, as its 202 named it")),
    responses(
        (status = 400, body = ErrorBody, description = "A malformed Idempotency-Key"),
        (status = 409, body = ErrorBody, description = "A device the caller may address is on no meter yet (named); nothing stored"),
        (status = 202, body = Accepted, headers(("Idempotent-Replayed" = String, description = "true when this is the first answer again, for a repeated Idempotency-Key")), description = "The cancel, stored with one delivery per address"),
        (status = 404, body = ErrorBody, description = "No such message of the caller's company"),
        (status = 404, body = ErrorBody, description = "No text message of the caller's company with this ID"),
    )
)]
pub async fn cancel_text(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Path(id): Path<i64>,
    once: IdempotencyKey,
) -> Result<Response, ApiError> {
    let caller = caller(c, Permission::SendMessages)?;
    let (kind, se_id, to) = api.own(&caller, id).await?;
    if kind != "text" {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no text message {id}: message {id} is a {kind} message"),
        ));
    }
    let body = json!({ "cancel": id });
    api.accept(
        &caller,
        &once,
        "text-cancel",
        body,
        &to,
        TextMessage::cancel(se_id),
        se_id,
    )
    .await
}

/// Cancel a load-control event (SE DRLC: Cancel Load Control Event) at every address.
#[utoipa::path(
    post,
    path = "/v1/messages/load-control/{id}/cancel",
    tag = "messages",
    params(("Idempotency-Key" = Option<String>, Header, description = "Any 1–255 visible ASCII characters, unique per request: the same POST sent again with the same key within 24 hours gets the first answer and creates nothing (a different request with that key is 409)"), ("id" = i64, Path, description = "The load-control event, as its 202 named it")),
    request_body(content = CancelEvent, description = "Optional", example = json!({"randomize_end": true})),
    responses(
        (status = 400, body = ErrorBody, description = "A malformed Idempotency-Key"),
        (status = 409, body = ErrorBody, description = "A device the caller may address is on no meter yet (named); nothing stored"),
        (status = 202, body = Accepted, headers(("Idempotent-Replayed" = String, description = "true when this is the first answer again, for a repeated Idempotency-Key")), description = "The cancel, stored with one delivery per address"),
        (status = 404, body = ErrorBody, description = "No load-control event of the caller's company with this ID"),
        (status = 422, body = ErrorBody, description = "Bad input"),
    )
)]
pub async fn cancel_load_control(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Path(id): Path<i64>,
    once: IdempotencyKey,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let caller = caller(c, Permission::SendMessages)?;
    // No body is the defaults; a body is JSON (a syntax error is a 400 like any other).
    let options: CancelEvent = if body.is_empty() {
        CancelEvent::default()
    } else {
        let mut value: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("request body: {e}")))?;
        crate::integral(&mut value);
        parse(&value)?
    };
    let (kind, se_id, to) = api.own(&caller, id).await?;
    if kind != "load-control" {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no load-control event {id}: message {id} is a {kind} message"),
        ));
    }
    let original: serde_json::Value =
        serde_json::from_str(&api.store.message(id).await?.request)
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let event: LoadControlRequest = parse(&original["request"])?;
    let command = event
        .message
        .cancel(se_id, options.effective, options.randomize_end)
        .map_err(bad)?;
    let record = json!({ "cancel": id, "effective": options.effective, "randomize_end": options.randomize_end });
    api.accept(
        &caller,
        &once,
        "load-control-cancel",
        record,
        &to,
        command,
        se_id,
    )
    .await
}

/// Cancel every load-control event at the addresses (SE DRLC: Cancel All Load Control Events).
#[utoipa::path(
    post,
    path = "/v1/messages/load-control/cancel-all",
    tag = "messages",
    params(("Idempotency-Key" = Option<String>, Header, description = "Any 1–255 visible ASCII characters, unique per request: the same POST sent again with the same key within 24 hours gets the first answer and creates nothing (a different request with that key is 409)")),
    request_body(content = CancelAllRequest, example = json!({"esiids": ["10032780001234567"], "randomize_end": false})),
    responses(
        (status = 400, body = ErrorBody, description = "A malformed Idempotency-Key"),
        (status = 409, body = ErrorBody, description = "A device the caller may address is on no meter yet (named); nothing stored"),
        (status = 202, body = Accepted, headers(("Idempotent-Replayed" = String, description = "true when this is the first answer again, for a repeated Idempotency-Key")), description = "Stored with one delivery per address"),
        (status = 422, body = ErrorBody, description = "Bad input, named precisely; nothing stored"),
    )
)]
pub async fn cancel_all(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    once: IdempotencyKey,
    crate::JsonBody(body): crate::JsonBody,
) -> Result<Response, ApiError> {
    let caller = caller(c, Permission::SendMessages)?;
    let r: CancelAllRequest = parse(&body)?;
    let to = r.addresses()?;
    let id = api.next_id().await?;
    api.accept(
        &caller,
        &once,
        "load-control-cancel-all",
        body,
        &to,
        LoadControlMessage::cancel_all(r.randomize_end),
        id,
    )
    .await
}

/// A message: its summary and the status of every address.
#[utoipa::path(
    get,
    path = "/v1/messages/{id}",
    tag = "messages",
    params(("id" = i64, Path, description = "The message, as its 202 named it")),
    responses(
        (status = 200, body = MessageView),
        (status = 403, body = ErrorBody, description = "The user lacks the view-messages permission"),
        (status = 404, body = ErrorBody, description = "No such message of the caller's company"),
    )
)]
pub async fn message(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Path(id): Path<i64>,
) -> Result<Json<MessageView>, ApiError> {
    let caller = caller(c, Permission::ViewMessages)?;
    let m = api.store.message(id).await?;
    if m.company != caller.company {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("message {id} not found"),
        ));
    }
    let s = api.store.summary(id).await?;
    let addresses = api
        .store
        .deliveries(id)
        .await?
        .into_iter()
        .map(|d| AddressStatus {
            address: d.address,
            tdsp: d.tdsp.name().to_string(),
            status: d.status.name().to_string(),
            detail: d.detail,
        })
        .collect();
    Ok(Json(MessageView {
        id,
        kind: m.kind,
        created_at: m.created_at,
        summary: summary_view(s),
        addresses,
    }))
}

/// Which messages: accepted from `from` to before `until` (Unix seconds; all when absent).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// From (Unix seconds, inclusive).
    pub from: Option<i64>,
    /// Until (Unix seconds, exclusive).
    pub until: Option<i64>,
}

impl Period {
    /// The bounds ([`crate::period`]).
    fn bounds(&self) -> (i64, i64) {
        crate::period(self.from, self.until)
    }
}

/// One message of the history.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageLine {
    /// The message.
    pub id: i64,
    /// Its kind.
    pub kind: String,
    /// When it was accepted, Unix seconds.
    pub created_at: i64,
    /// Its deliveries by status.
    pub summary: SummaryView,
}

fn summary_view(s: hanrig_gateway_store::Summary) -> SummaryView {
    SummaryView {
        total: s.total,
        queued: s.queued,
        sent: s.sent,
        delivered: s.delivered,
        device_acknowledged: s.device_acknowledged,
        failed: s.failed,
    }
}

/// The caller's company's HAN message history.
#[utoipa::path(
    get,
    path = "/v1/messages",
    tag = "messages",
    params(crate::PeriodPage),
    responses(
        (status = 200, body = Vec<MessageLine>, description = "Oldest first, a page at a time",
         headers(("Link" = String, description = "<…?offset=N>; rel=\"next\" when there is a next page (RFC 8288)"))),
        (status = 403, body = ErrorBody, description = "The user lacks the view-messages permission"),
        (status = 422, body = ErrorBody, description = "offset or limit out of range"),
    )
)]
pub async fn history(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    uri: axum::http::Uri,
    crate::Query(q): crate::Query<crate::PeriodPage>,
) -> Result<Response, ApiError> {
    let caller = caller(c, Permission::ViewMessages)?;
    let (from, until) = q.period();
    let (offset, limit) = crate::page(q.offset, q.limit)?;
    let mut lines = Vec::new();
    for m in api
        .store
        .messages_page(&caller.company, from, until, offset, limit + 1)
        .await?
    {
        lines.push(MessageLine {
            id: m.id,
            kind: m.kind,
            created_at: m.created_at,
            summary: summary_view(api.store.summary(m.id).await?),
        });
    }
    Ok(crate::paged(&uri, offset, limit, lines))
}

/// The HAN message log report (SMT Table 6): every address of every message of the period,
/// with its status, the latest report and when it last changed; CSV.
#[utoipa::path(
    get,
    path = "/v1/reports/message-log",
    tag = "messages",
    params(Period),
    responses(
        (status = 200, content_type = "text/csv", body = String,
         description = "message_id,kind,created_at,address,tdsp,status,detail,job,updated_at"),
        (status = 403, body = ErrorBody, description = "The user lacks the view-messages permission"),
    )
)]
pub async fn message_log(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    crate::Query(period): crate::Query<Period>,
) -> Result<Response, ApiError> {
    let caller = caller(c, Permission::ViewMessages)?;
    let (from, until) = period.bounds();
    let internal = |e: csv::Error| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "message_id",
        "kind",
        "created_at",
        "address",
        "tdsp",
        "status",
        "detail",
        "job",
        "updated_at",
    ])
    .map_err(internal)?;
    for m in api.store.messages_of(&caller.company, from, until).await? {
        for d in api.store.deliveries(m.id).await? {
            out.write_record([
                m.id.to_string().as_str(),
                &m.kind,
                &m.created_at.to_string(),
                &d.address,
                d.tdsp.name(),
                d.status.name(),
                &d.detail,
                &d.job,
                &d.updated_at.to_string(),
            ])
            .map_err(internal)?;
        }
    }
    let bytes = out
        .into_inner()
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        bytes,
    )
        .into_response())
}
