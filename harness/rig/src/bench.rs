//! A lab rig's hold on a hardware DUT: its power, reset and join-button lines, driven through
//! embedded-hal output pins (Raspberry Pi GPIO with the `gpio` feature; mock pins in tests),
//! and its firmware, flashed with a debug probe (the `flash` feature).

use embedded_hal::delay::DelayNs;
use embedded_hal::digital::{Error as _, OutputPin};
use serde::Deserialize;

/// `[gpio]` of a lab rig file: BCM pin numbers and how long each action holds.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GpioSection {
    /// The DUT's power switch (high = powered, unless listed in `active_low`).
    pub power: u8,
    /// The DUT's reset line.
    pub reset: u8,
    /// The DUT's join (commissioning) button.
    pub join_button: u8,
    /// An input sensing the DUT's load output (high = energised, unless in `active_low`).
    #[serde(default)]
    pub relay_sense: Option<u8>,
    /// Lines that are active when low, by name (`power`, `reset`, `join_button`).
    #[serde(default)]
    pub active_low: Vec<String>,
    /// Reset pulse, ms.
    #[serde(default = "reset_ms")]
    pub reset_ms: u32,
    /// Join button press, ms.
    #[serde(default = "join_press_ms")]
    pub join_press_ms: u32,
    /// Power off during a power cycle, ms.
    #[serde(default = "power_off_ms")]
    pub power_off_ms: u32,
    /// Time the DUT takes to boot after power-on or reset, ms.
    #[serde(default = "boot_ms")]
    pub boot_ms: u32,
}

fn reset_ms() -> u32 {
    100
}
fn join_press_ms() -> u32 {
    3_000
}
fn power_off_ms() -> u32 {
    2_000
}
fn boot_ms() -> u32 {
    5_000
}

/// `[flash]` of a lab rig file.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FlashSection {
    /// The target chip, as probe-rs names it (e.g. `EFR32MG21A010F1024`).
    pub chip: String,
    /// The firmware image (Intel HEX `.hex` or ELF `.elf`), relative to the rig file.
    pub image: String,
}

impl GpioSection {
    /// Checks the pins: BCM 2–27, three different ones, known names in `active_low`.
    pub fn check(&self) -> Result<(), String> {
        let pins = [
            ("power", self.power),
            ("reset", self.reset),
            ("join_button", self.join_button),
        ];
        let sense = self.relay_sense.map(|p| ("relay_sense", p));
        for (name, pin) in pins.into_iter().chain(sense) {
            if !(2..=27).contains(&pin) {
                return Err(format!(
                    "gpio {name} = {pin}: not a Raspberry Pi header GPIO (BCM 2–27)"
                ));
            }
        }
        if self.power == self.reset
            || self.power == self.join_button
            || self.reset == self.join_button
        {
            return Err(format!(
                "gpio: power, reset and join_button must be different pins (got {}, {}, {})",
                self.power, self.reset, self.join_button
            ));
        }
        if let Some(sense) = self.relay_sense
            && pins.iter().any(|(_, p)| *p == sense)
        {
            return Err(format!(
                "gpio relay_sense = {sense}: the pin is already an output"
            ));
        }
        if let Some(bad) = self
            .active_low
            .iter()
            .find(|n| !pins.iter().any(|(p, _)| p == n) && *n != "relay_sense")
        {
            return Err(format!(
                "gpio active_low: {bad:?} is not power, reset, join_button or relay_sense"
            ));
        }
        Ok(())
    }

    fn low(&self, name: &str) -> bool {
        self.active_low.iter().any(|n| n == name)
    }
}

/// The DUT's three lines and a delay.
#[derive(Debug)]
pub struct DutPins<P, D> {
    power: P,
    reset: P,
    join: P,
    delay: D,
    config: GpioSection,
}

impl<P: OutputPin, D: DelayNs> DutPins<P, D> {
    /// Takes the pins and leaves reset and the join button released (power as it was).
    pub fn new(config: GpioSection, power: P, reset: P, join: P, delay: D) -> Result<Self, String> {
        config.check()?;
        let mut pins = DutPins {
            power,
            reset,
            join,
            delay,
            config,
        };
        pins.drive(Line::Reset, false)?;
        pins.drive(Line::Join, false)?;
        Ok(pins)
    }

    fn drive(&mut self, line: Line, active: bool) -> Result<(), String> {
        let (name, number) = match line {
            Line::Power => ("power", self.config.power),
            Line::Reset => ("reset", self.config.reset),
            Line::Join => ("join_button", self.config.join_button),
        };
        let high = active != self.config.low(name);
        let pin = match line {
            Line::Power => &mut self.power,
            Line::Reset => &mut self.reset,
            Line::Join => &mut self.join,
        };
        let result = if high { pin.set_high() } else { pin.set_low() };
        result.map_err(|e| format!("{name} line (GPIO {number}): {:?}", e.kind()))
    }

    /// Switches the DUT's power.
    pub fn power(&mut self, on: bool) -> Result<(), String> {
        self.drive(Line::Power, on)?;
        if on {
            self.delay.delay_ms(self.config.boot_ms);
        }
        Ok(())
    }

    /// Powers the DUT off, waits, powers it on and waits for it to boot.
    pub fn power_cycle(&mut self) -> Result<(), String> {
        self.drive(Line::Power, false)?;
        self.delay.delay_ms(self.config.power_off_ms);
        self.power(true)
    }

    /// Pulses reset and waits for the DUT to boot.
    pub fn reset(&mut self) -> Result<(), String> {
        self.drive(Line::Reset, true)?;
        self.delay.delay_ms(self.config.reset_ms);
        self.drive(Line::Reset, false)?;
        self.delay.delay_ms(self.config.boot_ms);
        Ok(())
    }

    /// Holds the join button (the DUT starts looking for a network).
    pub fn press_join(&mut self) -> Result<(), String> {
        self.drive(Line::Join, true)?;
        self.delay.delay_ms(self.config.join_press_ms);
        self.drive(Line::Join, false)
    }

    /// Gives the pins back.
    pub fn release(self) -> (P, P, P, D) {
        (self.power, self.reset, self.join, self.delay)
    }
}

#[derive(Debug, Clone, Copy)]
enum Line {
    Power,
    Reset,
    Join,
}

/// Opens the DUT's lines on this Raspberry Pi's GPIO.
#[cfg(feature = "gpio")]
pub fn open_gpio(
    config: &GpioSection,
) -> Result<DutPins<rppal::gpio::OutputPin, rppal::hal::Delay>, String> {
    let gpio = rppal::gpio::Gpio::new()
        .map_err(|e| format!("GPIO: {e} (is this a Raspberry Pi with /dev/gpiomem?)"))?;
    let pin = |n: u8| {
        gpio.get(n)
            .map(|p| p.into_output())
            .map_err(|e| format!("GPIO {n}: {e}"))
    };
    DutPins::new(
        config.clone(),
        pin(config.power)?,
        pin(config.reset)?,
        pin(config.join_button)?,
        rppal::hal::Delay::new(),
    )
}

/// Without the `gpio` feature there are no pins to open.
#[cfg(not(feature = "gpio"))]
pub fn open_gpio(_config: &GpioSection) -> Result<std::convert::Infallible, String> {
    Err("this build has no GPIO support: build hanrig with `--features gpio` on the Raspberry Pi that holds the DUT's lines".into())
}

/// A lab bench's join button (held as `[gpio] join_press_ms` says).
pub type PressJoin = Box<dyn FnMut() -> Result<(), String> + Send>;
/// A lab bench's relay-sense input: `true` when the DUT's load output is energised.
pub type SenseRelay = Box<dyn FnMut() -> Result<bool, String> + Send>;

/// Opens the lines a lab run uses: the join button (`join`) and the relay-sense input
/// (`relay`).
#[cfg(feature = "gpio")]
pub fn bench_lines(
    config: &GpioSection,
    join: bool,
    relay: bool,
) -> Result<(Option<PressJoin>, Option<SenseRelay>), String> {
    let press: Option<PressJoin> = if join {
        let mut pins = open_gpio(config)?;
        Some(Box::new(move || pins.press_join()))
    } else {
        None
    };
    let sense: Option<SenseRelay> = match (relay, config.relay_sense) {
        (true, Some(n)) => {
            let gpio = rppal::gpio::Gpio::new()
                .map_err(|e| format!("GPIO: {e} (is this a Raspberry Pi with /dev/gpiomem?)"))?;
            let pin = gpio
                .get(n)
                .map_err(|e| format!("GPIO {n}: {e}"))?
                .into_input();
            let low = config.low("relay_sense");
            Some(Box::new(move || Ok(pin.is_high() != low)))
        }
        _ => None,
    };
    Ok((press, sense))
}

/// Without the `gpio` feature there are no lines to open.
#[cfg(not(feature = "gpio"))]
pub fn bench_lines(
    config: &GpioSection,
    _join: bool,
    _relay: bool,
) -> Result<(Option<PressJoin>, Option<SenseRelay>), String> {
    open_gpio(config).map(|never| match never {})
}

/// Flashes `image` into the DUT's `chip` through the first debug probe attached.
#[cfg(feature = "flash")]
pub fn flash(config: &FlashSection, base: &std::path::Path) -> Result<(), String> {
    use probe_rs::flashing::{ElfLoader, HexLoader, ImageLoader, download_file};
    use probe_rs::{Session, SessionConfig};
    let image = base.join(&config.image);
    if !image.exists() {
        return Err(format!("flash image {} does not exist", image.display()));
    }
    let loader: Box<dyn ImageLoader> = match image.extension().and_then(|e| e.to_str()) {
        Some("hex" | "ihex") => Box::new(HexLoader),
        Some("elf") | None => Box::new(ElfLoader(Default::default())),
        Some(other) => {
            return Err(format!(
                "flash image {}: .{other} is not Intel HEX (.hex) or ELF (.elf); a raw binary has no load address",
                image.display()
            ));
        }
    };
    let mut session = Session::auto_attach(config.chip.as_str(), SessionConfig::default())
        .map_err(|e| format!("debug probe for {}: {e}", config.chip))?;
    download_file(&mut session, &image, loader)
        .map_err(|e| format!("flashing {} into {}: {e}", image.display(), config.chip))
}

/// Without the `flash` feature there is no probe to flash with.
#[cfg(not(feature = "flash"))]
pub fn flash(_config: &FlashSection, _base: &std::path::Path) -> Result<(), String> {
    Err("this build cannot flash: build hanrig with `--features flash` (probe-rs) on the machine the debug probe is plugged into".into())
}

/// What `hanrig lab` does to the DUT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LabAction {
    /// Switch the DUT on (and wait for it to boot).
    PowerOn,
    /// Switch the DUT off.
    PowerOff,
    /// Switch it off, wait, switch it on.
    PowerCycle,
    /// Pulse its reset line.
    Reset,
    /// Hold its join button.
    Join,
    /// Flash its firmware image with the debug probe.
    Flash,
}

/// Does `action` to the DUT of the lab rig file `rig`.
pub fn operate(rig: &std::path::Path, action: LabAction) -> Result<String, String> {
    let file = crate::RigFile::read(rig)?;
    let at = rig.display();
    if action == LabAction::Flash {
        let config = file
            .flash
            .ok_or_else(|| format!("rig {at}: no [flash] section (chip, image)"))?;
        let base = rig.parent().unwrap_or(std::path::Path::new("."));
        flash(&config, base).map_err(|e| format!("rig {at}: {e}"))?;
        return Ok(format!("flashed {} into {}\n", config.image, config.chip));
    }
    let gpio = file
        .gpio
        .ok_or_else(|| format!("rig {at}: no [gpio] section (power, reset, join_button)"))?;
    gpio.check().map_err(|e| format!("rig {at}: {e}"))?;
    on_gpio(&gpio, action).map_err(|e| format!("rig {at}: {e}"))
}

#[cfg(feature = "gpio")]
fn on_gpio(gpio: &GpioSection, action: LabAction) -> Result<String, String> {
    let mut pins = open_gpio(gpio)?;
    match action {
        LabAction::PowerOn => pins.power(true)?,
        LabAction::PowerOff => pins.power(false)?,
        LabAction::PowerCycle => pins.power_cycle()?,
        LabAction::Reset => pins.reset()?,
        LabAction::Join => pins.press_join()?,
        LabAction::Flash => {}
    }
    Ok(format!("{action:?} done\n"))
}

#[cfg(not(feature = "gpio"))]
fn on_gpio(gpio: &GpioSection, _action: LabAction) -> Result<String, String> {
    open_gpio(gpio).map(|never| match never {})
}
