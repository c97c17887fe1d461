//! What each head-end style's result words mean for a delivery (the connectors' mapping).

use hanrig_gateway::delivery::DeliveryStatus;
use hanrig_gateway_connect::states;
use hanrig_headend::jobs::TargetState;
use hanrig_headend::multispeak;

#[test]
fn result_vocabularies_map_onto_delivery_states() {
    use DeliveryStatus::*;
    assert_eq!(
        states::cim_event("0.13.112.78"),
        Some(Delivered),
        "displayed"
    );
    assert_eq!(
        states::cim_event("0.15.43.287"),
        Some(DeviceAcknowledged),
        "event started"
    );
    assert_eq!(
        states::cim_event("0.13.112.87"),
        Some(Failed),
        "display failed"
    );
    assert_eq!(states::cim_event("0.15.43.64"), Some(Failed), "expired");
    assert_eq!(
        states::cim_event("0.26.38.85"),
        None,
        "power down: nothing about delivery"
    );
    assert_eq!(states::cim_event("not.a.code"), None);

    assert_eq!(states::ihd_message("Accepted"), Some(Sent));
    assert_eq!(states::ihd_message("Displayed"), Some(Delivered));
    assert_eq!(states::ihd_message("Expired"), Some(Failed));
    assert_eq!(states::ihd_message("Off"), None);
    assert_eq!(states::demand_response("Started"), Some(DeviceAcknowledged));
    assert_eq!(
        states::demand_response("RejectedInvalidEffectiveTime"),
        Some(Failed)
    );
    assert_eq!(states::demand_response("Whatever"), None);
    assert_eq!(states::pricing("Acknowledged"), Some(DeviceAcknowledged));
    // The words the simulated head-ends use, each meaning what it should.
    use hanrig_sep::clusters::drlc::EventStatus;
    assert_eq!(
        states::demand_response(multispeak::event_status_name(EventStatus::UserOptedOut)),
        Some(DeviceAcknowledged)
    );

    assert_eq!(
        states::job_target(TargetState::Queued),
        Sent,
        "the head-end has it"
    );
    assert_eq!(
        states::job_target(TargetState::Acknowledged),
        DeviceAcknowledged
    );
    assert_eq!(states::job_target(TargetState::Expired), Failed);
}
