//! A lab rig's DUT lines, on mock embedded-hal pins: the exact levels and hold times of each
//! action, active-low lines, pin checks, and what a build without the hardware features says.

#![allow(clippy::unwrap_used)]

use embedded_hal_mock::eh1::MockError;
use embedded_hal_mock::eh1::delay::{CheckedDelay, Transaction as Delay};
use embedded_hal_mock::eh1::digital::{Mock as Pin, State, Transaction as Level};
use hanrig_rig::bench::{DutPins, GpioSection};

fn config() -> GpioSection {
    GpioSection {
        power: 17,
        reset: 27,
        join_button: 22,
        relay_sense: None,
        active_low: vec!["reset".into()],
        reset_ms: 100,
        join_press_ms: 3000,
        power_off_ms: 2000,
        boot_ms: 5000,
    }
}

/// Taking the pins releases reset (high: it is active low) and the join button (low).
fn taken() -> [Level; 2] {
    [Level::set(State::High), Level::set(State::Low)]
}

#[test]
fn reset_pulses_the_active_low_line_then_waits_for_boot() {
    let power = Pin::new(&[]);
    let reset = Pin::new(&[
        taken()[0].clone(),
        Level::set(State::Low),
        Level::set(State::High),
    ]);
    let join = Pin::new(&[taken()[1].clone()]);
    let delay = CheckedDelay::new(&[Delay::delay_ms(100), Delay::delay_ms(5000)]);
    let mut pins = DutPins::new(config(), power, reset, join, delay).unwrap();
    pins.reset().unwrap();
    let (mut p, mut r, mut j, mut d) = pins.release();
    p.done();
    r.done();
    j.done();
    d.done();
}

#[test]
fn power_cycle_and_join_hold_their_lines_as_configured() {
    let power = Pin::new(&[
        Level::set(State::Low),
        Level::set(State::High),
        Level::set(State::Low),
    ]);
    let reset = Pin::new(&[taken()[0].clone()]);
    let join = Pin::new(&[
        taken()[1].clone(),
        Level::set(State::High),
        Level::set(State::Low),
    ]);
    let delay = CheckedDelay::new(&[
        Delay::delay_ms(2000),
        Delay::delay_ms(5000),
        Delay::delay_ms(3000),
    ]);
    let mut pins = DutPins::new(config(), power, reset, join, delay).unwrap();
    pins.power_cycle().unwrap();
    pins.press_join().unwrap();
    pins.power(false).unwrap();
    let (mut p, mut r, mut j, mut d) = pins.release();
    p.done();
    r.done();
    j.done();
    d.done();
}

#[test]
fn a_pin_that_fails_is_named_with_its_gpio_number() {
    let power = Pin::new(&[
        Level::set(State::High).with_error(MockError::Io(std::io::ErrorKind::NotConnected))
    ]);
    let reset = Pin::new(&[taken()[0].clone()]);
    let join = Pin::new(&[taken()[1].clone()]);
    let mut pins = DutPins::new(config(), power, reset, join, CheckedDelay::new(&[])).unwrap();
    let e = pins.power(true).unwrap_err();
    assert!(e.starts_with("power line (GPIO 17)"), "{e}");
    let (mut p, mut r, mut j, mut d) = pins.release();
    p.done();
    r.done();
    j.done();
    d.done();
}

#[test]
fn pins_are_checked() {
    let mut c = config();
    c.reset = 17;
    assert!(c.check().unwrap_err().contains("different pins"));
    let mut c = config();
    c.power = 40;
    assert!(c.check().unwrap_err().contains("BCM 2–27"));
    let mut c = config();
    c.active_low = vec!["led".into()];
    assert!(c.check().unwrap_err().contains("\"led\""));
}

#[cfg(not(feature = "gpio"))]
#[test]
fn without_the_hardware_features_the_lab_rig_says_what_is_missing() {
    let rig = concat!(env!("CARGO_MANIFEST_DIR"), "/../rigs/example-lab.toml");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hanrig"))
            .args(args)
            .output()
            .unwrap()
    };
    let o = run(&["run", "--rig", rig]);
    assert_eq!(o.status.code(), Some(2), "a rig failure, not a DUT failure");
    assert!(String::from_utf8_lossy(&o.stderr).contains("no GPIO support"));
    let o = run(&["lab", "--rig", rig, "reset"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--features gpio"));
    #[cfg(not(feature = "flash"))]
    {
        let o = run(&["lab", "--rig", rig, "flash"]);
        assert!(!o.status.success());
        assert!(String::from_utf8_lossy(&o.stderr).contains("--features flash"));
    }
}

#[cfg(feature = "gpio")]
#[test]
fn with_gpio_support_off_a_pi_the_lab_rig_says_so() {
    if std::path::Path::new("/dev/gpiomem").exists() {
        eprintln!("skipped: this machine has /dev/gpiomem (a Raspberry Pi)");
        return;
    }
    let rig = concat!(env!("CARGO_MANIFEST_DIR"), "/../rigs/example-lab.toml");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_hanrig"))
        .args(["run", "--rig", rig])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("GPIO") && stderr.contains("Raspberry Pi"),
        "{stderr}"
    );
}
