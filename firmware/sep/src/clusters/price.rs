//! Price cluster (0x0700): tariffs published by the ESI.

use crate::UtcTime;
use crate::wire::OctetString;

/// Cluster identifier.
pub const CLUSTER_ID: u16 = 0x0700;

/// Client→server command identifiers.
pub mod client_command {
    /// Get Current Price.
    pub const GET_CURRENT_PRICE: u8 = 0x00;
    /// Get Scheduled Prices.
    pub const GET_SCHEDULED_PRICES: u8 = 0x01;
    /// Price Acknowledgement (SE 1.1).
    pub const PRICE_ACKNOWLEDGEMENT: u8 = 0x02;
}

/// Server→client command identifiers.
pub mod server_command {
    /// Publish Price.
    pub const PUBLISH_PRICE: u8 = 0x00;
}

/// `duration_in_minutes` value meaning "until changed".
pub const DURATION_UNTIL_CHANGED: u16 = 0xFFFF;
/// `price_ratio` / `generation_price_ratio` value meaning "not used".
pub const RATIO_NOT_USED: u8 = 0xFF;
/// `price_control` bit: the client shall send Price Acknowledgement.
pub const PRICE_CONTROL_ACK_REQUIRED: u8 = 0x01;
/// Rate labels hold at most 12 bytes.
pub const RATE_LABEL_MAX: usize = 12;

layout! {
    /// Get Current Price (client→server 0x00).
    pub struct GetCurrentPrice {
        /// Bit 0: the requestor's receiver is on when idle (it may receive unsolicited
        /// Publish Price commands).
        pub command_options: u8,
    }
}

impl GetCurrentPrice {
    /// `command_options` bit 0.
    pub const RX_ON_WHEN_IDLE: u8 = 0x01;
}

layout! {
    /// Get Scheduled Prices (client→server 0x01).
    pub struct GetScheduledPrices {
        /// Earliest start time of the prices wanted (0 = now).
        pub start_time: UtcTime,
        /// Maximum number of Publish Price commands to send (0 = all).
        pub number_of_events: u8,
    }
}

layout! {
    /// Price Acknowledgement (client→server 0x02, SE 1.1).
    pub struct PriceAcknowledgement {
        /// Provider of the acknowledged price.
        pub provider_id: u32,
        /// Issuer event ID of the acknowledged Publish Price.
        pub issuer_event_id: u32,
        /// When the price was acknowledged.
        pub price_ack_time: UtcTime,
        /// The `price_control` of the acknowledged Publish Price.
        pub control: u8,
    }
}

layout! {
    /// Publish Price (server→client 0x00): the SE 1.0 fields, then the optional fields later
    /// revisions appended (absent ones trail).
    pub struct PublishPrice {
        /// Identifies the commodity provider.
        pub provider_id: u32,
        /// Tariff label, at most 12 bytes.
        pub rate_label: OctetString<RATE_LABEL_MAX>,
        /// Issuer's event ID; a newer price has a larger one.
        pub issuer_event_id: u32,
        /// The ESI's current time.
        pub current_time: UtcTime,
        /// Unit of measure of the price (Metering UnitOfMeasure values, non-BCD).
        pub unit_of_measure: crate::clusters::metering::UnitOfMeasure,
        /// ISO 4217 numeric currency code (840 = USD).
        pub currency: u16,
        /// High nibble: digits after the decimal point; low nibble: price tier.
        pub price_trailing_digit_and_price_tier: u8,
        /// High nibble: number of price tiers; low nibble: register tier.
        pub number_of_price_tiers_and_register_tier: u8,
        /// Start of the price (0 = now).
        pub start_time: UtcTime,
        /// Duration in minutes (0xFFFF = until changed).
        pub duration_in_minutes: u16,
        /// Price per unit, in currency units with `trailing digits` after the point.
        pub price: u32,
        /// Ratio of this price to the normal price, ×10 (0xFF = not used).
        pub price_ratio: Option<u8>,
        /// Price of generated (received) commodity.
        pub generation_price: Option<u32>,
        /// Generation price ratio, ×10 (0xFF = not used).
        pub generation_price_ratio: Option<u8>,
        /// SE 1.1: alternative cost of delivered commodity per unit.
        pub alternate_cost_delivered: Option<u32>,
        /// SE 1.1: unit of the alternative cost (0x01 = kg CO2).
        pub alternate_cost_unit: Option<u8>,
        /// SE 1.1: high nibble = digits after the point of the alternative cost.
        pub alternate_cost_trailing_digit: Option<u8>,
        /// SE 1.1: number of block thresholds.
        pub number_of_block_thresholds: Option<u8>,
        /// SE 1.1: bit 0 = acknowledgement required.
        pub price_control: Option<u8>,
        /// SE 1.2: number of generation tiers.
        pub number_of_generation_tiers: Option<u8>,
        /// SE 1.2: generation tier.
        pub generation_tier: Option<u8>,
        /// SE 1.2: extended number of price tiers.
        pub extended_number_of_price_tiers: Option<u8>,
        /// SE 1.2: extended price tier.
        pub extended_price_tier: Option<u8>,
        /// SE 1.2: extended register tier.
        pub extended_register_tier: Option<u8>,
    }
}

impl PublishPrice {
    /// Digits after the decimal point of `price`.
    pub fn trailing_digits(&self) -> u8 {
        self.price_trailing_digit_and_price_tier >> 4
    }
    /// The current price tier.
    pub fn price_tier(&self) -> u8 {
        self.price_trailing_digit_and_price_tier & 0x0F
    }
    /// Number of price tiers in use.
    pub fn number_of_price_tiers(&self) -> u8 {
        self.number_of_price_tiers_and_register_tier >> 4
    }
    /// The register tier.
    pub fn register_tier(&self) -> u8 {
        self.number_of_price_tiers_and_register_tier & 0x0F
    }
    /// Whether the client must answer with Price Acknowledgement.
    pub fn acknowledgement_required(&self) -> bool {
        self.price_control
            .is_some_and(|c| c & PRICE_CONTROL_ACK_REQUIRED != 0)
    }
}
