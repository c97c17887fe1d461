//! One delivery: a HAN message to one address, through its TDSP's head-end, meter and device.

use serde::{Deserialize, Serialize};

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryStatus {
    /// Written, not yet handed to the head-end.
    Queued,
    /// The head-end accepted it.
    Sent,
    /// The meter delivered it to the device.
    Delivered,
    /// The device answered (Report Event Status, Message Confirmation, Price Acknowledgement).
    DeviceAcknowledged,
    /// It did not get through.
    Failed,
}

impl DeliveryStatus {
    /// The name in the API.
    pub fn name(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::DeviceAcknowledged => "device-acknowledged",
            DeliveryStatus::Failed => "failed",
        }
    }

    fn rank(self) -> u8 {
        match self {
            DeliveryStatus::Queued => 0,
            DeliveryStatus::Sent => 1,
            DeliveryStatus::Delivered => 2,
            DeliveryStatus::DeviceAcknowledged => 3,
            DeliveryStatus::Failed => 4,
        }
    }

    /// Whether nothing follows.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DeliveryStatus::DeviceAcknowledged | DeliveryStatus::Failed
        )
    }

    /// The status after a report of `to`. Reports move forward only — a late or repeated
    /// report of an earlier stage changes nothing (head-ends retry, reports cross) — and
    /// nothing leaves a final status: `None` when the report changes nothing.
    pub fn advance(self, to: DeliveryStatus) -> Option<DeliveryStatus> {
        if self.is_final() || to.rank() <= self.rank() {
            return None;
        }
        Some(to)
    }
}
