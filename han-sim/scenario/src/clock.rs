//! Virtual time: microseconds since the Unix epoch, advanced only by the simulation.

use hanrig_sep::UtcTime;

/// A point in virtual time, in microseconds since 1970-01-01 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(pub u64);

impl SimTime {
    /// One second.
    pub const SECOND: u64 = 1_000_000;

    /// From whole seconds since 1970.
    pub fn from_unix_seconds(seconds: u64) -> Self {
        SimTime(seconds * Self::SECOND)
    }

    /// The ZCL UTCTime (seconds since 2000) of this instant, truncated to the second.
    pub fn utc(self) -> UtcTime {
        UtcTime::from_unix(self.0 / Self::SECOND).unwrap_or(UtcTime(0))
    }

    /// The instant of a ZCL UTCTime.
    pub fn from_utc(t: UtcTime) -> Self {
        Self::from_unix_seconds(t.to_unix())
    }

    /// This instant plus `us` microseconds.
    pub fn plus(self, us: u64) -> Self {
        SimTime(self.0.saturating_add(us))
    }

    /// This instant moved by `seconds` (earlier when negative), saturating.
    pub fn shifted_s(self, seconds: i64) -> Self {
        let us = seconds.unsigned_abs().saturating_mul(Self::SECOND);
        SimTime(if seconds < 0 {
            self.0.saturating_sub(us)
        } else {
            self.0.saturating_add(us)
        })
    }
}
