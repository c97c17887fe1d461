//! Each head-end style's limits. Figures marked "assumed" in the facts file
//! (`headend-facts.md` §5) are this project's choices where no public figure exists; the text
//! length and devices per ESI are Landis+Gyr's published figures.

use hanrig_gateway::routing::HeadEndStyle;

/// What a head-end of one style accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Addresses (end devices, meters) per request.
    pub batch: usize,
    /// Requests per second the connector may send.
    pub requests_per_second: u32,
    /// Longest text message, characters.
    pub text_chars: usize,
    /// How long a request stays valid unless it says otherwise, seconds.
    pub expiry_seconds: u64,
    /// How often to poll for results, seconds (0: results are pushed, not polled).
    pub poll_seconds: u64,
}

/// The limits of `style`.
pub fn of(style: HeadEndStyle) -> Limits {
    match style {
        // ≤1,000 EndDevices per control, 10 requests/s (assumed); results pushed as
        // EndDeviceEvents to the reply address.
        HeadEndStyle::Cim => Limits {
            batch: 1_000,
            requests_per_second: 10,
            text_chars: 80,
            expiry_seconds: 24 * 3600,
            poll_seconds: 0,
        },
        // ≤1,000 per array, 5 requests/s (assumed); expTime 10 minutes as in MultiSpeak's
        // sample request; notifications to the response URL.
        HeadEndStyle::MultiSpeak => Limits {
            batch: 1_000,
            requests_per_second: 5,
            text_chars: 80,
            expiry_seconds: 600,
            poll_seconds: 0,
        },
        // ≤5,000 per job, 2 jobs/s, poll no more often than every 5 s (assumed).
        HeadEndStyle::Jobs => Limits {
            batch: 5_000,
            requests_per_second: 2,
            text_chars: 80,
            expiry_seconds: 3600,
            poll_seconds: 5,
        },
    }
}
