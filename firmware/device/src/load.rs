//! Load actions on hardware: a relay behind an embedded-hal [`OutputPin`].

use embedded_hal::digital::OutputPin;

use crate::drlc::Output;

/// A switched load (water heater, pool pump) on a relay: off while an event that sheds load
/// runs, on otherwise. The pin is driven high for "load on".
#[derive(Debug)]
pub struct Relay<P: OutputPin> {
    pin: P,
    shedding_for: Option<u32>,
}

impl<P: OutputPin> Relay<P> {
    /// A relay with its load on.
    pub fn new(mut pin: P) -> Result<Self, P::Error> {
        pin.set_high()?;
        Ok(Relay {
            pin,
            shedding_for: None,
        })
    }

    /// Applies a DRLC client output; reports are ignored.
    pub fn apply(&mut self, output: &Output) -> Result<(), P::Error> {
        match output {
            Output::Apply(action) if action.sheds_load() => {
                self.pin.set_low()?;
                self.shedding_for = Some(action.issuer_event_id);
            }
            Output::Restore { issuer_event_id } if self.shedding_for == Some(*issuer_event_id) => {
                self.pin.set_high()?;
                self.shedding_for = None;
            }
            _ => {}
        }
        Ok(())
    }

    /// The event the load is shed for, if any.
    pub fn shedding_for(&self) -> Option<u32> {
        self.shedding_for
    }

    /// Gives the pin back.
    pub fn release(self) -> P {
        self.pin
    }
}
