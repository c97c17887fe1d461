//! ZCL `UTCTime` (type 0xE2): seconds since 2000-01-01 00:00:00 UTC.

use crate::error::Result;
use crate::wire::{Field, Reader, Writer};
use core::fmt;

/// Seconds since 2000-01-01 00:00:00 UTC, as carried on the wire.
///
/// SE gives some values special meanings per field (`0` = "now" in a start time,
/// `0xFFFFFFFF` = invalid); those are left to the fields' documentation.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(transparent)
)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "proptest", derive(proptest_derive::Arbitrary))]
pub struct UtcTime(pub u32);

impl UtcTime {
    /// Seconds between 1970-01-01 and 2000-01-01 (Wireshark's `ZBEE_ZCL_NSTIME_UTC_OFFSET`).
    pub const UNIX_OFFSET: u64 = 946_684_800;
    /// "Start now" in start-time fields.
    pub const NOW: UtcTime = UtcTime(0);
    /// The invalid / not-set value.
    pub const INVALID: UtcTime = UtcTime(u32::MAX);

    /// The same instant as seconds since the Unix epoch.
    pub fn to_unix(self) -> u64 {
        u64::from(self.0) + Self::UNIX_OFFSET
    }

    /// The instant `unix` seconds after the Unix epoch, if it lies in the representable range.
    pub fn from_unix(unix: u64) -> Option<UtcTime> {
        unix.checked_sub(Self::UNIX_OFFSET)
            .and_then(|s| u32::try_from(s).ok())
            .map(UtcTime)
    }

    /// Calendar fields `(year, month, day, hour, minute, second)` in UTC.
    pub fn to_civil(self) -> (u32, u32, u32, u32, u32, u32) {
        let secs = self.to_unix();
        let days = secs / 86_400;
        let rem = secs % 86_400;
        // Howard Hinnant's days-to-civil algorithm, for days since 1970-01-01 (non-negative here).
        let z = days + 719_468;
        let era = z / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + u64::from(month <= 2);
        (
            year as u32,
            month as u32,
            day as u32,
            (rem / 3600) as u32,
            (rem % 3600 / 60) as u32,
            (rem % 60) as u32,
        )
    }
}

/// The raw value and its ISO 8601 form.
impl fmt::Debug for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UtcTime({} = {self})", self.0)
    }
}

/// ISO 8601, e.g. `2014-05-02T04:52:16Z`.
impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s) = self.to_civil();
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }
}

impl Field for UtcTime {
    fn read(r: &mut Reader<'_>, name: &'static str) -> Result<Self> {
        r.u32(name).map(UtcTime)
    }
    fn write(&self, w: &mut Writer<'_>, _: &'static str) -> Result<()> {
        w.u32(self.0)
    }
    fn wire_len(&self) -> usize {
        4
    }
}
