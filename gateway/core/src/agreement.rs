//! Agreements between a customer and a third party (SMT overview, Table 5 and "Agreement
//! Invitations"): an Energy Data Agreement lets the third party read the meter's usage, for one
//! time or for 1 to 12 months ([`Term`]); an In-Home Device Agreement lets it add and remove
//! devices on the customer's HAN; an In-Home Device Services Agreement lets it send chosen
//! message types (text, price, load control) to one device. Each starts as an invitation that
//! the customer accepts or rejects, or that expires after 30 days; the third party may resend it
//! once within those 30 days, as a reminder (the period does not restart). At most 5 device
//! agreements of each kind per meter, Energy Data Agreements without limit; device agreements
//! end when the device is removed or the customer moves out.

use serde::{Deserialize, Serialize};

/// How long an invitation stays open, seconds (30 days).
pub const INVITATION_SECONDS: u64 = 30 * 24 * 3600;
/// Agreements of one kind one meter may have at most (invited or accepted).
pub const PER_METER: usize = 5;

/// What an agreement allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgreementKind {
    /// Add and remove In-Home Devices.
    InHomeDevice,
    /// Send messages of the allowed types to one device.
    InHomeDeviceServices,
    /// Read the meter's usage.
    EnergyData,
}

impl AgreementKind {
    /// Its name in the API.
    pub fn name(self) -> &'static str {
        match self {
            AgreementKind::InHomeDevice => "in-home-device",
            AgreementKind::InHomeDeviceServices => "in-home-device-services",
            AgreementKind::EnergyData => "energy-data",
        }
    }

    /// Whether a meter may have only [`PER_METER`] of this kind (Energy Data Agreements have
    /// no limit).
    pub fn limited(self) -> bool {
        self != AgreementKind::EnergyData
    }
}

/// An Energy Data Agreement's term (Table 5): one-time access, or 1 month up to 1 year from
/// its acceptance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term {
    /// One read of the usage; the agreement ends with it.
    OneTime,
    /// 1 to 12 months.
    Months(u8),
}

impl Term {
    /// The term of `months` (0: one-time).
    pub fn from_months(months: u8) -> Result<Term, AgreementError> {
        match months {
            0 => Ok(Term::OneTime),
            1..=12 => Ok(Term::Months(months)),
            _ => Err(AgreementError::Term(months)),
        }
    }

    /// Its months (0: one-time).
    pub fn months(self) -> u8 {
        match self {
            Term::OneTime => 0,
            Term::Months(n) => n,
        }
    }
}

/// Message types an In-Home Device Services Agreement may allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageTypes {
    /// Simple text.
    #[serde(default)]
    pub text: bool,
    /// Pricing.
    #[serde(default)]
    pub price: bool,
    /// Load control.
    #[serde(default)]
    pub load_control: bool,
}

/// Why an agreement ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndReason {
    /// The customer or the third party terminated it.
    Terminated,
    /// Its device was removed.
    DeviceRemoved,
    /// The customer moved out of the premise.
    MoveOut,
    /// An Energy Data Agreement's term is over.
    TermEnded,
    /// A one-time Energy Data Agreement's read was made.
    Used,
}

/// An agreement's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum AgreementState {
    /// Invited at `sent` (Unix seconds), resent once or not.
    Invited {
        /// When the invitation went out.
        sent: u64,
        /// Whether the one reminder has been sent.
        resent: bool,
    },
    /// Accepted: in force.
    Accepted,
    /// The customer said no.
    Rejected,
    /// Nobody answered in 30 days.
    Expired,
    /// Ended.
    Ended {
        /// Why.
        reason: EndReason,
    },
}

/// What cannot be done to an agreement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgreementError {
    /// The meter has its limit of this kind.
    #[error("the meter already has {0} agreements of this kind, the most allowed")]
    Limit(usize),
    /// A services agreement without any message type.
    #[error(
        "an In-Home Device Services Agreement allows at least one of text, price, load control"
    )]
    NoMessageTypes,
    /// A term that is neither one-time (0) nor 1 to 12 months.
    #[error("an Energy Data Agreement's term is 0 (one-time access) or 1 to 12 months, not {0}")]
    Term(u8),
    /// The step does not apply in this state.
    #[error("cannot {action}: the agreement is {state}")]
    State {
        /// What was asked.
        action: &'static str,
        /// Where the agreement is.
        state: &'static str,
    },
}

impl EndReason {
    /// Its name in the API.
    pub fn name(self) -> &'static str {
        match self {
            EndReason::Terminated => "terminated",
            EndReason::DeviceRemoved => "device-removed",
            EndReason::MoveOut => "move-out",
            EndReason::TermEnded => "term-ended",
            EndReason::Used => "used",
        }
    }
}

impl AgreementState {
    /// The state's name in the API.
    pub fn name(&self) -> &'static str {
        match self {
            AgreementState::Invited { .. } => "invited",
            AgreementState::Accepted => "accepted",
            AgreementState::Rejected => "rejected",
            AgreementState::Expired => "expired",
            AgreementState::Ended { .. } => "ended",
        }
    }

    /// The state at `now`: an invitation 30 days old has expired.
    pub fn at(self, now: u64) -> AgreementState {
        match self {
            AgreementState::Invited { sent, .. } if now >= sent + INVITATION_SECONDS => {
                AgreementState::Expired
            }
            other => other,
        }
    }

    /// Whether it counts against the meter's limit at `now` (open invitation or in force).
    pub fn counts(self, now: u64) -> bool {
        matches!(
            self.at(now),
            AgreementState::Invited { .. } | AgreementState::Accepted
        )
    }

    /// Whether it allows what it is for at `now`.
    pub fn in_force(self, now: u64) -> bool {
        self.at(now) == AgreementState::Accepted
    }

    fn refuse(self, action: &'static str) -> AgreementError {
        AgreementError::State {
            action,
            state: self.name(),
        }
    }

    /// A new invitation at `now`, given the states of the meter's other agreements of the same
    /// kind.
    pub fn invite(
        now: u64,
        others: impl IntoIterator<Item = AgreementState>,
    ) -> Result<AgreementState, AgreementError> {
        let open = others.into_iter().filter(|s| s.counts(now)).count();
        if open >= PER_METER {
            return Err(AgreementError::Limit(open));
        }
        Ok(AgreementState::Invited {
            sent: now,
            resent: false,
        })
    }

    /// The one reminder (within the 30 days).
    pub fn resend(self, now: u64) -> Result<AgreementState, AgreementError> {
        match self.at(now) {
            AgreementState::Invited {
                sent,
                resent: false,
            } => Ok(AgreementState::Invited { sent, resent: true }),
            AgreementState::Invited { resent: true, .. } => Err(AgreementError::State {
                action: "resend",
                state: "invited and already resent once",
            }),
            other => Err(other.refuse("resend")),
        }
    }

    /// The customer accepts (within the 30 days).
    pub fn accept(self, now: u64) -> Result<AgreementState, AgreementError> {
        match self.at(now) {
            AgreementState::Invited { .. } => Ok(AgreementState::Accepted),
            other => Err(other.refuse("accept")),
        }
    }

    /// The customer rejects (within the 30 days).
    pub fn reject(self, now: u64) -> Result<AgreementState, AgreementError> {
        match self.at(now) {
            AgreementState::Invited { .. } => Ok(AgreementState::Rejected),
            other => Err(other.refuse("reject")),
        }
    }

    /// Ends an agreement in force (or withdraws an open invitation).
    pub fn end(self, now: u64, reason: EndReason) -> Result<AgreementState, AgreementError> {
        match self.at(now) {
            AgreementState::Invited { .. } | AgreementState::Accepted => {
                Ok(AgreementState::Ended { reason })
            }
            other => Err(other.refuse("end")),
        }
    }
}

impl MessageTypes {
    /// Checks that at least one type is allowed.
    pub fn check(self) -> Result<MessageTypes, AgreementError> {
        if self.text || self.price || self.load_control {
            Ok(self)
        } else {
            Err(AgreementError::NoMessageTypes)
        }
    }
}
