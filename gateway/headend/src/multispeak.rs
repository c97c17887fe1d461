//! MultiSpeak 4.1: the status vocabularies of the notifications a head-end posts to the
//! requester's response URL, and what each means for a delivery.

use hanrig_gateway::delivery::DeliveryStatus;

/// `IHDMessageStatus` of `IHDMessageStatusNotification` → delivery: accepted by the
/// head-end → sent; displayed → delivered; expired → failed. `Cancelled`, `Off`, `Other` and
/// `Unknown` say nothing about delivery (`None`; the notification is still recorded).
pub fn ihd_message_status(status: &str) -> Option<DeliveryStatus> {
    Some(match status {
        "Accepted" => DeliveryStatus::Sent,
        "Displayed" => DeliveryStatus::Delivered,
        "Expired" => DeliveryStatus::Failed,
        _ => return None,
    })
}

/// `eventStatus` of `DemandResponseEventNotification` → delivery: the SE Report Event Status
/// names the meter relays (`CommandReceived`, `Started`, `Completed`, `OptedOut`, …) are the
/// device's acknowledgement; `Rejected…` statuses and `Failed` are failures.
pub fn demand_response_status(status: &str) -> Option<DeliveryStatus> {
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
