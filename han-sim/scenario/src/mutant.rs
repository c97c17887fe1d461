//! The mutant catalogue: deliberately broken DUTs, each a realistic ZigFest defect, that the
//! simulated device and meter play on request and the suites must catch.

/// Deliberately broken device behaviours: realistic ZigFest defects, for proving that the
/// conformance suites catch them. Each changes only what the device does on the air or shows
/// to the world (its display, its relay line); none changes what it writes to its own log, so a
/// suite that read the log instead of the air would pass every one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutant {
    /// Reports Completed (0x03) where Cancelled (0x06) is due.
    WrongEventStatus,
    /// Never sends Message Confirmation.
    NoMessageConfirmation,
    /// Randomises starts over eight times its Start Randomization Minutes.
    RandomisationOutsideWindow,
    /// Ignores Cancel Load Control Event and Cancel All.
    IgnoresCancel,
    /// Takes events for every device class.
    IgnoresDeviceClass,
    /// Reports Completed as soon as an event starts.
    ReportsCompletionEarly,
    /// Accepts a network key sent under the global default link key (ZigBeeAlliance09) when its
    /// install-code key does not open the Transport Key.
    AcceptsWrongInstallCode,
    /// Shows the summation without applying the meter's divisor.
    WrongSummationFormatting,
    /// Sends User Opted In with the code of User Opted Out (0x04) on the air.
    OptInSentAsOptOut,
    /// Counts Event Status Time from 1970 (Unix time) instead of 2000.
    EventStatusTimeUnixEpoch,
    /// Reports Criticality Level Applied 0 whatever the event's level.
    CriticalityNotEchoed,
    /// Reports set points 0 (0.00 °C) instead of 0x8000 when the event sets none.
    SetPointZeroWhenUnused,
    /// Reports Event Control 0 whatever the event's.
    EventControlNotEchoed,
    /// Sends Report Event Status without its 42-byte Signature field.
    ReportWithoutSignature,
    /// Starts every event on time although it asks for a randomised start.
    IgnoresStartRandomisation,
    /// Ends every event on time although it asks for a randomised end.
    IgnoresEndRandomisation,
    /// Randomises the start of events that do not ask for it.
    RandomisesUnasked,
    /// Ignores events for utility enrollment group 0 (all groups) when it is in a group.
    GroupZeroIgnored,
    /// Takes events for any utility enrollment group.
    IgnoresEnrollmentGroup,
    /// Leaves the load shed after a cancel.
    RelayNotRestoredOnCancel,
    /// Keeps showing a message after its duration has ended.
    MessageOutlivesDuration,
    /// Sends Message Confirmation with its Confirmation Time counted from 1970.
    ConfirmationTimeUnixEpoch,
    /// Acknowledges a price with the provider ID where the issuer event ID belongs.
    PriceAckWrongEvent,
    /// Shows prices with two decimals whatever their trailing digits.
    PriceIgnoresTrailingDigits,
    /// Shows a scheduled price as soon as it arrives, before its start.
    ScheduledPriceShownEarly,
    /// Clears the display on a Cancel Message of any message, not just the one shown.
    CancelClearsAnyMessage,
    /// Rejects events of the longest duration (1440 minutes): an off-by-one limit.
    RejectsLongestEvent,
    /// Shows the meter's values without its Multiplier.
    IgnoresMultiplier,
    /// Shows a negative demand (power exported) as positive.
    DropsDemandSign,
    /// Shows leading zeros although the formatting suppresses them.
    IgnoresZeroSuppression,
    /// Meter: answers Get Current Price with the last price published, over or not yet begun.
    StaleCurrentPrice,
    /// Meter: answers Get Scheduled Prices with every price, ignoring Start Time and Number of
    /// Events.
    ScheduledPricesUnfiltered,
    /// Meter: answers Get Last Message with a cancelled or expired message.
    LastMessageAfterCancel,
    /// Meter: re-sends a start-now price, message or event with its full duration.
    FullDurationToLateJoiner,
    /// Meter: does not answer Get Scheduled Events.
    IgnoresGetScheduledEvents,
    /// Meter: sends no Default Response to commands that ask for one.
    NoDefaultResponse,
    /// Meter: sends Get Profile intervals oldest first.
    ProfileOldestFirst,
    /// Meter: reports a Divisor of 0.
    DivisorZero,
    /// Meter: admits a device it holds no install code for (under the global default key).
    AdmitsUnprovisioned,
    /// Meter: forwards load control events with their Event Control cleared.
    DropsEventControl,
    /// Meter: takes a device's CBKE certificate whatever its issuer.
    CbkeAcceptsAnyIssuer,
    /// Meter: installs the CBKE key without checking the device's MACU.
    CbkeSkipsConfirmCheck,
    /// Meter: derives CBKE keys with KDF counters 0 and 1 instead of 1 and 2.
    CbkeWrongKdfCounter,
    /// Meter: never abandons a stalled Key Establishment, so refuses every other device.
    CbkeNoTimeout,
    /// Meter: serves the SE clusters to a device that has not done Key Establishment.
    ServesBeforeCbke,
    /// Takes the ESI's CBKE certificate whatever its issuer.
    DeviceCbkeAcceptsAnyIssuer,
    /// Installs the CBKE key without checking the ESI's MACV.
    DeviceCbkeSkipsConfirmCheck,
    /// Derives CBKE keys with KDF counters 0 and 1 instead of 1 and 2.
    DeviceCbkeWrongKdfCounter,
    /// Waits for a silent ESI forever instead of giving up and starting again.
    DeviceCbkeNoTimeout,
    /// Retries Key Establishment after its own delay, ignoring the Terminate's wait time.
    CbkeIgnoresWaitTime,
    /// Takes load control events of a reserved criticality level (0, 0x10 and above).
    AcceptsReservedCriticality,
    /// Keeps the load shed when the user opts out of a running event.
    RelayIgnoresOptOut,
    /// Shows a message with a scheduled start as soon as it arrives.
    ScheduledMessageShownEarly,
    /// Meter: answers Get Current Price only from requesters whose receiver is on when idle.
    IgnoresSleepyRequester,
}

impl Mutant {
    /// Every mutant, with its name and what is wrong with it.
    pub const ALL: [(Mutant, &'static str, &'static str); 54] = [
        (
            Mutant::WrongEventStatus,
            "wrong-event-status",
            "reports Completed (0x03) instead of Cancelled (0x06)",
        ),
        (
            Mutant::NoMessageConfirmation,
            "no-message-confirmation",
            "never sends Message Confirmation",
        ),
        (
            Mutant::RandomisationOutsideWindow,
            "randomisation-outside-window",
            "randomises event starts beyond its window",
        ),
        (
            Mutant::IgnoresCancel,
            "ignores-cancel",
            "ignores Cancel Load Control Event and Cancel All",
        ),
        (
            Mutant::IgnoresDeviceClass,
            "ignores-device-class",
            "takes load control events for every device class",
        ),
        (
            Mutant::ReportsCompletionEarly,
            "reports-completion-early",
            "reports Completed as soon as an event starts",
        ),
        (
            Mutant::AcceptsWrongInstallCode,
            "accepts-wrong-install-code",
            "accepts a network key sent under the global default link key",
        ),
        (
            Mutant::WrongSummationFormatting,
            "wrong-summation-formatting",
            "shows the summation without the meter's divisor",
        ),
        (
            Mutant::OptInSentAsOptOut,
            "opt-in-sent-as-opt-out",
            "sends User Opted In with the code of User Opted Out (0x04)",
        ),
        (
            Mutant::EventStatusTimeUnixEpoch,
            "event-status-time-unix-epoch",
            "counts Event Status Time from 1970 instead of 2000",
        ),
        (
            Mutant::CriticalityNotEchoed,
            "criticality-not-echoed",
            "reports Criticality Level Applied 0",
        ),
        (
            Mutant::SetPointZeroWhenUnused,
            "set-point-zero-when-unused",
            "reports unused set points as 0 instead of 0x8000",
        ),
        (
            Mutant::EventControlNotEchoed,
            "event-control-not-echoed",
            "reports Event Control 0 whatever the event's",
        ),
        (
            Mutant::ReportWithoutSignature,
            "report-without-signature",
            "sends Report Event Status without its 42-byte Signature",
        ),
        (
            Mutant::IgnoresStartRandomisation,
            "ignores-start-randomisation",
            "starts randomised events on time",
        ),
        (
            Mutant::IgnoresEndRandomisation,
            "ignores-end-randomisation",
            "ends randomised events on time",
        ),
        (
            Mutant::RandomisesUnasked,
            "randomises-unasked",
            "randomises the start of events that do not ask for it",
        ),
        (
            Mutant::GroupZeroIgnored,
            "group-zero-ignored",
            "ignores events for enrollment group 0 (all) when in a group",
        ),
        (
            Mutant::IgnoresEnrollmentGroup,
            "ignores-enrollment-group",
            "takes events for any utility enrollment group",
        ),
        (
            Mutant::RelayNotRestoredOnCancel,
            "relay-not-restored-on-cancel",
            "leaves the load shed after a cancel",
        ),
        (
            Mutant::MessageOutlivesDuration,
            "message-outlives-duration",
            "keeps showing a message after its duration",
        ),
        (
            Mutant::ConfirmationTimeUnixEpoch,
            "confirmation-time-unix-epoch",
            "counts Message Confirmation time from 1970",
        ),
        (
            Mutant::PriceAckWrongEvent,
            "price-ack-wrong-event",
            "acknowledges a price with the provider ID as its issuer event ID",
        ),
        (
            Mutant::PriceIgnoresTrailingDigits,
            "price-ignores-trailing-digits",
            "shows prices with two decimals whatever their trailing digits",
        ),
        (
            Mutant::ScheduledPriceShownEarly,
            "scheduled-price-shown-early",
            "shows a scheduled price before its start",
        ),
        (
            Mutant::CancelClearsAnyMessage,
            "cancel-clears-any-message",
            "clears the display on a cancel of any message",
        ),
        (
            Mutant::RejectsLongestEvent,
            "rejects-longest-event",
            "rejects events of 1440 minutes (off by one)",
        ),
        (
            Mutant::IgnoresMultiplier,
            "ignores-multiplier",
            "shows the meter's values without its Multiplier",
        ),
        (
            Mutant::DropsDemandSign,
            "drops-demand-sign",
            "shows a negative demand as positive",
        ),
        (
            Mutant::IgnoresZeroSuppression,
            "ignores-zero-suppression",
            "shows leading zeros the formatting suppresses",
        ),
        (
            Mutant::StaleCurrentPrice,
            "stale-current-price",
            "meter: answers Get Current Price with a price over or not begun",
        ),
        (
            Mutant::ScheduledPricesUnfiltered,
            "scheduled-prices-unfiltered",
            "meter: Get Scheduled Prices ignores Start Time and Number of Events",
        ),
        (
            Mutant::LastMessageAfterCancel,
            "last-message-after-cancel",
            "meter: answers Get Last Message with a cancelled or expired message",
        ),
        (
            Mutant::FullDurationToLateJoiner,
            "full-duration-to-late-joiner",
            "meter: re-sends start-now items with their full duration",
        ),
        (
            Mutant::IgnoresGetScheduledEvents,
            "ignores-get-scheduled-events",
            "meter: does not answer Get Scheduled Events",
        ),
        (
            Mutant::NoDefaultResponse,
            "no-default-response",
            "meter: sends no Default Response where one is asked for",
        ),
        (
            Mutant::ProfileOldestFirst,
            "profile-oldest-first",
            "meter: sends Get Profile intervals oldest first",
        ),
        (
            Mutant::DivisorZero,
            "divisor-zero",
            "meter: reports a Divisor of 0",
        ),
        (
            Mutant::AdmitsUnprovisioned,
            "admits-unprovisioned",
            "meter: admits a device it holds no install code for",
        ),
        (
            Mutant::DropsEventControl,
            "drops-event-control",
            "meter: forwards load control events with Event Control cleared",
        ),
        (
            Mutant::CbkeAcceptsAnyIssuer,
            "cbke-accepts-any-issuer",
            "meter: takes a CBKE certificate whatever its issuer",
        ),
        (
            Mutant::CbkeSkipsConfirmCheck,
            "cbke-skips-confirm-check",
            "meter: installs the CBKE key without checking the device's MACU",
        ),
        (
            Mutant::CbkeWrongKdfCounter,
            "cbke-wrong-kdf-counter",
            "meter: derives CBKE keys with KDF counters 0 and 1",
        ),
        (
            Mutant::CbkeNoTimeout,
            "cbke-no-timeout",
            "meter: never abandons a stalled Key Establishment",
        ),
        (
            Mutant::ServesBeforeCbke,
            "serves-before-cbke",
            "meter: serves SE clusters to a device before Key Establishment",
        ),
        (
            Mutant::DeviceCbkeAcceptsAnyIssuer,
            "device-cbke-accepts-any-issuer",
            "takes the ESI's CBKE certificate from any issuer",
        ),
        (
            Mutant::DeviceCbkeSkipsConfirmCheck,
            "device-cbke-skips-confirm-check",
            "installs the CBKE key without checking the ESI's MACV",
        ),
        (
            Mutant::DeviceCbkeWrongKdfCounter,
            "device-cbke-wrong-kdf-counter",
            "derives CBKE keys with KDF counters 0 and 1",
        ),
        (
            Mutant::DeviceCbkeNoTimeout,
            "device-cbke-no-timeout",
            "waits for a silent ESI forever",
        ),
        (
            Mutant::CbkeIgnoresWaitTime,
            "cbke-ignores-wait-time",
            "retries Key Establishment before the Terminate's wait time is over",
        ),
        (
            Mutant::AcceptsReservedCriticality,
            "accepts-reserved-criticality",
            "takes load control events of a reserved criticality level",
        ),
        (
            Mutant::RelayIgnoresOptOut,
            "relay-ignores-opt-out",
            "keeps the load shed when the user opts out",
        ),
        (
            Mutant::ScheduledMessageShownEarly,
            "scheduled-message-shown-early",
            "shows a message before its scheduled start",
        ),
        (
            Mutant::IgnoresSleepyRequester,
            "ignores-sleepy-requester",
            "meter: answers Get Current Price only when the requester's receiver is on when idle",
        ),
    ];

    /// Whether it is a broken meter (it replaces meter DUTs) rather than a broken device.
    pub fn is_meter(self) -> bool {
        matches!(
            self,
            Mutant::StaleCurrentPrice
                | Mutant::ScheduledPricesUnfiltered
                | Mutant::LastMessageAfterCancel
                | Mutant::FullDurationToLateJoiner
                | Mutant::IgnoresGetScheduledEvents
                | Mutant::NoDefaultResponse
                | Mutant::ProfileOldestFirst
                | Mutant::DivisorZero
                | Mutant::AdmitsUnprovisioned
                | Mutant::DropsEventControl
                | Mutant::CbkeAcceptsAnyIssuer
                | Mutant::CbkeSkipsConfirmCheck
                | Mutant::CbkeWrongKdfCounter
                | Mutant::CbkeNoTimeout
                | Mutant::ServesBeforeCbke
                | Mutant::IgnoresSleepyRequester
        )
    }

    /// The mutant called `name`.
    pub fn by_name(name: &str) -> Option<Mutant> {
        Self::ALL
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(m, _, _)| *m)
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(m, _, _)| *m == self)
            .map_or("", |(_, n, _)| n)
    }
}
