//! What each head-end style's result words mean for a delivery: the gateway's delivery states
//! are the connectors' concern; hanrig-headend only reads and writes the words.

use hanrig_gateway::delivery::DeliveryStatus;
use hanrig_headend::jobs::TargetState;

/// A job-style target's state → delivery: queued or sent at the head-end is sent; delivered;
/// acknowledged by the device; failed or expired is failed.
pub fn job_target(state: TargetState) -> DeliveryStatus {
    match state {
        TargetState::Queued | TargetState::Sent => DeliveryStatus::Sent,
        TargetState::Delivered => DeliveryStatus::Delivered,
        TargetState::Acknowledged => DeliveryStatus::DeviceAcknowledged,
        TargetState::Failed | TargetState::Expired => DeliveryStatus::Failed,
    }
}

/// What a result EndDeviceEvent means for a delivery: `None` for a code that says nothing
/// about it (it is still recorded). Only the HAN domains count — pairing (10), display (13),
/// load control (15), billing/pricing (20) — and in them the event-or-action number decides
/// (the same numbers mean other things in other domains: `0.26.38.85` is a power-down):
/// displayed (78), scheduled (225) and registered (50) mean the device has it; event started
/// (287), stopped (288) and opted out (81) are the device's own Report Event Status; display
/// failed (87), cancel failed (86), schedule failed (301), failed (85) and expired (64) are
/// failures.
pub fn cim_event(code: &str) -> Option<DeliveryStatus> {
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

/// MultiSpeak `IHDMessageStatus` of `IHDMessageStatusNotification` → delivery: accepted by
/// the head-end → sent; displayed → delivered; expired → failed. `Cancelled`, `Off`, `Other`
/// and `Unknown` say nothing about delivery (`None`; the notification is still recorded).
pub fn ihd_message(status: &str) -> Option<DeliveryStatus> {
    Some(match status {
        "Accepted" => DeliveryStatus::Sent,
        "Displayed" => DeliveryStatus::Delivered,
        "Expired" => DeliveryStatus::Failed,
        _ => return None,
    })
}

/// MultiSpeak `eventStatus` of `DemandResponseEventNotification` → delivery: the SE Report
/// Event Status names the meter relays (`CommandReceived`, `Started`, `Completed`,
/// `OptedOut`, …) are the device's acknowledgement; `Rejected…` statuses and `Failed` are
/// failures.
pub fn demand_response(status: &str) -> Option<DeliveryStatus> {
    match status {
        "Accepted" => Some(DeliveryStatus::Sent),
        "Delivered" => Some(DeliveryStatus::Delivered),
        "Failed" | "Expired" => Some(DeliveryStatus::Failed),
        s if s.starts_with("Rejected") => Some(DeliveryStatus::Failed),
        "CommandReceived"
        | "Started"
        | "Completed"
        | "OptedOut"
        | "OptedIn"
        | "Cancelled"
        | "Superseded"
        | "PartiallyCompletedWithUserOptOut"
        | "PartiallyCompletedDueToUserOptIn"
        | "CompletedNoUserParticipation" => Some(DeliveryStatus::DeviceAcknowledged),
        _ => None,
    }
}

/// The status of a device in a MultiSpeak `PricingTiersChangedNotification` → delivery
/// (the words are this project's choice: hanrig-headend `multispeak::result_status`).
pub fn pricing(status: &str) -> Option<DeliveryStatus> {
    Some(match status {
        "Accepted" => DeliveryStatus::Sent,
        "Delivered" => DeliveryStatus::Delivered,
        "Acknowledged" => DeliveryStatus::DeviceAcknowledged,
        "Failed" | "Expired" => DeliveryStatus::Failed,
        _ => return None,
    })
}
