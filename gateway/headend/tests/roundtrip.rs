//! Whatever text a head-end or the gateway puts in a CIM or MultiSpeak document — XML's special characters,
//! non-ASCII, inner spaces — reads back exactly as written. Leading and trailing white space
//! of a value is not significant: the reader trims it.

#![allow(clippy::unwrap_used)]

use hanrig_headend::cim::*;
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9<>&\"'.:_/é°–-]([A-Za-z0-9<>&\"' .:_/é°–-]{0,38}[A-Za-z0-9<>&\"'.:_/é°–-])?"
}

proptest! {
    #[test]
    fn end_device_events_read_back_as_written(
        correlation in text(),
        message in text(),
        at in 0u64..4_102_444_800,
        events in prop::collection::vec((text(), 0u64..4_102_444_800, text(), text(), text()), 0..5),
    ) {
        let written = EventMessage {
            header: Header::new("created", NOUN_EVENTS, at, &message, &correlation),
            events: events
                .into_iter()
                .map(|(mrid, created, event_type, end_device, reason)| EndDeviceEvent {
                    mrid,
                    created,
                    event_type,
                    end_device,
                    reason,
                })
                .collect(),
        };
        let read = EventMessage::from_xml(&written.to_xml());
        prop_assert_eq!(read.as_ref().ok(), Some(&written), "{:?}", read);
    }
}

proptest! {
    #[test]
    fn demand_response_notifications_read_back_as_written(
        company in text(),
        transaction in text(),
        at in 0u64..4_102_444_800,
        entries in prop::collection::vec((any::<u32>(), text(), text(), 0u64..4_102_444_800), 0..5),
    ) {
        use hanrig_headend::multispeak::{
            DemandResponseEventStatus, MsgHeader, Notification, NotificationMessage,
        };
        let written = NotificationMessage {
            header: MsgHeader::new("hanrig", &company, &transaction, at),
            transaction_id: transaction.clone(),
            notification: Notification::DemandResponseEvent(
                entries
                    .into_iter()
                    .map(|(event_id, device_id, event_status, timestamp)| DemandResponseEventStatus {
                        event_id,
                        device_id,
                        event_status,
                        timestamp,
                    })
                    .collect(),
            ),
        };
        let read = NotificationMessage::from_xml(&written.to_xml());
        prop_assert_eq!(read.as_ref().ok(), Some(&written), "{:?}", read);
    }
}
