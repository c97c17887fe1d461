//! Instruments: what a rig observes of a DUT that is not on the air. A lab rig senses the DUT's
//! load relay on a GPIO input and asks an operator what the display shows; a simulated DUT
//! answers the same probes from what it shows the world ([`Panel`]) — never from its internal
//! state — so a case reads the same whichever rig it runs on.

use hanrig_scenario::panel::Panel;

/// Which instrument answers a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instrument {
    /// The DUT's load output, sensed on a GPIO input of the rig.
    RelaySense,
    /// A person looking at the DUT (a terminal prompt, or an answers file when unattended).
    Operator,
}

impl Instrument {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Instrument::RelaySense => "relay-sense line",
            Instrument::Operator => "operator",
        }
    }

    /// Its key in a rig file's `[instruments]`.
    pub fn key(self) -> &'static str {
        match self {
            Instrument::RelaySense => "relay_sense",
            Instrument::Operator => "operator",
        }
    }
}

/// Which instruments a rig has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instruments {
    /// A line sensing the DUT's load output.
    pub relay_sense: bool,
    /// A person (or an answers file) who looks at the DUT and presses its buttons.
    pub operator: bool,
}

impl Default for Instruments {
    /// A simulated rig's: the simulated DUT answers every probe.
    fn default() -> Self {
        Instruments {
            relay_sense: true,
            operator: true,
        }
    }
}

impl Instruments {
    /// Whether the rig has `instrument`.
    pub fn has(self, instrument: Instrument) -> bool {
        match instrument {
            Instrument::RelaySense => self.relay_sense,
            Instrument::Operator => self.operator,
        }
    }
}

/// A check the rig makes at a moment of a case, with the answer it requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The load relay's output is energised (`true`: load on) or not.
    LoadEnergised(bool),
    /// The display shows this message text (`None`: no message).
    Message(Option<String>),
    /// The display shows this price, as `0.1250 tier 2` (`None`: no price).
    Price(Option<String>),
    /// The display shows this summation, e.g. `00123.456 kWh`.
    Summation(String),
    /// The display shows this demand, e.g. `01.500 kW`.
    Demand(String),
    /// The thermostat's set points, 0.01 °C.
    SetPoints {
        /// Cooling.
        cooling: i16,
        /// Heating.
        heating: i16,
    },
}

fn celsius(centi: i16) -> String {
    format!("{:.2} °C", f64::from(centi) / 100.0)
}

impl Probe {
    /// The instrument that answers it.
    pub fn instrument(&self) -> Instrument {
        match self {
            Probe::LoadEnergised(_) => Instrument::RelaySense,
            _ => Instrument::Operator,
        }
    }

    /// The question, as an operator is asked it.
    pub fn question(&self) -> String {
        match self {
            Probe::LoadEnergised(on) => format!(
                "is the load output {}?",
                if *on { "energised" } else { "de-energised" }
            ),
            Probe::Message(Some(text)) => format!("does the display show the message {text:?}?"),
            Probe::Message(None) => "is the display free of any message?".into(),
            Probe::Price(Some(p)) => format!("does the display show the price {p}?"),
            Probe::Price(None) => "does the display show no current price?".into(),
            Probe::Summation(s) => format!("does the display show the summation {s}?"),
            Probe::Demand(d) => format!("does the display show the demand {d}?"),
            Probe::SetPoints { cooling, heating } => format!(
                "does the thermostat hold cooling {} and heating {}?",
                celsius(*cooling),
                celsius(*heating)
            ),
        }
    }

    /// The simulated DUT's answer, from what it shows: whether the probe holds, and what was
    /// seen.
    pub fn answer(&self, panel: &Panel) -> Reading {
        let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "nothing".into());
        let (holds, saw) = match self {
            Probe::LoadEnergised(on) => match panel.load_energised {
                Some(level) => (
                    level == *on,
                    if level { "energised" } else { "de-energised" }.to_string(),
                ),
                None => return Reading::Unavailable("the DUT has no load output".into()),
            },
            Probe::Message(want) => (&panel.message == want, shown(&panel.message)),
            Probe::Price(want) => (&panel.price == want, shown(&panel.price)),
            Probe::Summation(want) => (
                panel.summation.as_ref() == Some(want),
                shown(&panel.summation),
            ),
            Probe::Demand(want) => (panel.demand.as_ref() == Some(want), shown(&panel.demand)),
            Probe::SetPoints { cooling, heating } => match panel.set_points {
                Some((c, h)) => (
                    (c, h) == (*cooling, *heating),
                    format!("cooling {}, heating {}", celsius(c), celsius(h)),
                ),
                None => return Reading::Unavailable("the DUT has no set points".into()),
            },
        };
        Reading::Answered { holds, saw }
    }
}

impl Probe {
    /// The reading of a relay-sense line that reads `energised`.
    pub fn sensed(&self, energised: bool) -> Reading {
        Reading::Answered {
            holds: *self == Probe::LoadEnergised(energised),
            saw: if energised {
                "energised"
            } else {
                "de-energised"
            }
            .into(),
        }
    }
}

/// What an instrument said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// The probe was answered.
    Answered {
        /// Whether what the probe requires holds.
        holds: bool,
        /// What the instrument saw.
        saw: String,
    },
    /// The instrument could not answer (not fitted, no such output).
    Unavailable(String),
}

/// A probe at a moment of a case, and its reading once the case ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// Milliseconds from the case's start.
    pub at_ms: u64,
    /// The probe.
    pub probe: Probe,
    /// Its reading (`None` until the case ran, or when the run ended before it).
    pub reading: Option<Reading>,
}

impl Sample {
    /// How the sample is described in a report.
    pub fn describe(&self) -> String {
        format!(
            "{} at {:.1} s: {}",
            self.probe.instrument().name(),
            self.at_ms as f64 / 1000.0,
            self.probe.question()
        )
    }
}
