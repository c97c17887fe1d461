//! IEC 61968-9: the EndDeviceControlType codes a head-end acts on and the EndDeviceEvent codes
//! it reports, `<EndDeviceType>.<Domain>.<SubDomain>.<EventOrAction>` (Annex E). The control
//! codes are the ones a deployed head-end maps (Connexo's EndDeviceControlTypeMapping, facts
//! §1.4); the result events are composed from the same enumerations.

use hanrig_gateway::delivery::DeliveryStatus;
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

/// What a result EndDeviceEvent means for a delivery: `None` for a code that says nothing
/// about it (it is still recorded). Only the HAN domains count — pairing (10), display (13),
/// load control (15), billing/pricing (20) — and in them the event-or-action number decides
/// (the same numbers mean other things in other domains: `0.26.38.85` is a power-down):
/// displayed (78),
/// scheduled (225) and registered (50) mean the device has it; event started (287), stopped
/// (288) and opted out (81) are the device's own Report Event Status; display failed (87),
/// cancel failed (86), schedule failed (301), failed (85) and expired (64) are failures.
pub fn event_status(code: &str) -> Option<DeliveryStatus> {
    let fields: Vec<u32> = code.split('.').filter_map(|p| p.parse().ok()).collect();
    let &[_, domain, _, event] = fields.as_slice() else {
        return None;
    };
    if ![10, 13, 15, 20].contains(&domain) {
        return None;
    }
    Some(match event {
        78 | 225 | 50 => DeliveryStatus::Delivered,
        287 | 288 | 81 => DeliveryStatus::DeviceAcknowledged,
        87 | 86 | 301 | 85 | 64 => DeliveryStatus::Failed,
        _ => return None,
    })
}
