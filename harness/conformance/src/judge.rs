//! Judging frames heard on the air, for every suite: times, the UTCTime fields that must name
//! the moment of sending, and the way a frame is quoted in a failure.

use hanrig_sep::UtcTime;

use super::air::Heard;
use super::ctx::{Ctx, Outcome, check, start_us};

/// Whole seconds from the case's start of a frame.
pub fn secs(h: &Heard) -> u64 {
    h.t_us.saturating_sub(start_us()) / 1_000_000
}

/// Unix seconds of a frame.
pub fn unix(h: &Heard) -> u64 {
    h.t_us / 1_000_000
}

/// A UTCTime field must name the moment its frame was sent, in the 2000 epoch: within a
/// second, plus the rig's tolerance.
pub fn check_time(ctx: &Ctx, what: &str, field: UtcTime, h: &Heard) -> Outcome {
    let sent = unix(h);
    let got = field.to_unix();
    let slack = 1 + ctx.tolerance_s;
    check(
        got + slack >= sent && got <= sent + slack,
        &format!(
            "{what} does not name the moment it was sent (UTCTime counts seconds from 2000-01-01)"
        ),
        format!(
            "{} ({} s after 2000-01-01)",
            sent,
            sent.saturating_sub(UtcTime::UNIX_OFFSET)
        ),
        format!("{got} ({} s after 2000-01-01)", field.0),
    )
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
