//! How many ESI + device pairs one process simulates, and what each costs in memory.
//!
//! `cargo bench -p hanrig-sim --bench scale -- 100000` builds that many meters, each with one
//! thermostat joined by install code, publishes a price and sends a 60-minute load control event
//! to every thermostat, and runs two hours of virtual time. It prints the resident memory per
//! pair (from /proc/self/statm, before and after) and the wall time. Log and capture are off.

use std::time::Instant;

use hanrig_device::drlc::DrlcConfig;
use hanrig_sep::clusters::drlc::{CriticalityLevel, DeviceClass, EventControl, LoadControlEvent};
use hanrig_sep::clusters::metering::UnitOfMeasure;
use hanrig_sep::clusters::price::PublishPrice;
use hanrig_sep::install_code::InstallCode;
use hanrig_sep::wire::OctetString;
use hanrig_sep::{Eui64, UtcTime};
use hanrig_sim::clock::SimTime;
use hanrig_sim::device::{DeviceKind, SimDevice};
use hanrig_sim::esi::{Esi, MeterModel};
use hanrig_sim::sim::{Happening, MediumConfig, Node, Simulation};

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() {
    let pairs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let start = SimTime::from_unix_seconds(1_782_914_400);
    let code = InstallCode::from_body(&[
        0x83, 0xFE, 0xD3, 0x40, 0x7A, 0x93, 0x97, 0x23, 0xA5, 0xC6, 0x39, 0xB2, 0x69, 0x16, 0xD5,
        0x05,
    ])
    .expect("code");
    let drlc = DrlcConfig {
        device_class: DeviceClass(DeviceClass::HVAC),
        utility_enrollment_group: 0,
        start_randomization_minutes: 30,
        duration_randomization_minutes: 15,
    };

    let before = rss_bytes();
    let built = Instant::now();
    let mut nodes = Vec::with_capacity(2 * pairs);
    for i in 0..pairs {
        let pan = (i % 0xFFF0) as u16 + 1;
        let channel = 11 + (i / 0xFFF0) as u8;
        let mut esi = Esi::new(
            "esi",
            Eui64(0x000D_6F00_0000_0000 | i as u64),
            pan,
            channel,
            [i as u8; 16],
            5,
            MeterModel::new(vec![1500], 0, start),
        );
        let eui = Eui64(0x0012_4B00_0000_0000 | i as u64);
        esi.provision(eui, &code, DeviceKind::Thermostat.clusters());
        nodes.push(Node::Esi(Box::new(esi)));
        nodes.push(Node::Device(Box::new(SimDevice::new(
            "pct",
            DeviceKind::Thermostat,
            eui,
            &code,
            (pan, channel),
            drlc,
            i as u64,
        ))));
    }
    let mut sim = Simulation::new(nodes, MediumConfig::default(), 1, start);
    sim.keep_capture = false;
    sim.log.discard = true;
    for i in 0..pairs {
        let device = 2 * i + 1;
        sim.schedule(
            start.plus((i as u64 % 1000) * 1000),
            Happening::Act(Box::new(move |now, nodes, log| match &mut nodes[device] {
                Node::Device(d) => vec![(device, d.start_join(now, log))],
                _ => Vec::new(),
            })),
        );
        let esi = 2 * i;
        sim.schedule(
            start.plus(60 * SimTime::SECOND),
            Happening::Act(Box::new(move |now, nodes, log| match &mut nodes[esi] {
                Node::Esi(e) => {
                    let mut out = e.app.publish_price(now, price(i as u32), log);
                    out.extend(e.app.load_control_event(now, event(i as u32, now), log));
                    vec![(esi, e.transmit(out))]
                }
                _ => Vec::new(),
            })),
        );
    }
    let build_time = built.elapsed();
    let ran = Instant::now();
    sim.run_until(start.plus(2 * 3600 * SimTime::SECOND));
    let run_time = ran.elapsed();
    let after = rss_bytes();
    let joined = sim
        .nodes
        .iter()
        .filter(
            |n| matches!(n, Node::Device(d) if d.state == hanrig_sim::device::JoinState::Joined),
        )
        .count();
    println!("pairs                    {pairs}");
    println!("joined                   {joined}");
    println!("events logged (counted)  {}", sim.log.count);
    println!(
        "resident memory / pair   {:.0} bytes",
        (after.saturating_sub(before)) as f64 / pairs as f64
    );
    println!("build                    {:.2} s", build_time.as_secs_f64());
    println!(
        "2 h of virtual time      {:.2} s wall",
        run_time.as_secs_f64()
    );
}

fn price(i: u32) -> PublishPrice {
    PublishPrice {
        provider_id: 1,
        rate_label: OctetString::new(b"peak").unwrap_or_default(),
        issuer_event_id: 1000 + i,
        current_time: UtcTime(0),
        unit_of_measure: UnitOfMeasure::KilowattHours,
        currency: 840,
        price_trailing_digit_and_price_tier: 0x21,
        number_of_price_tiers_and_register_tier: 0x11,
        start_time: UtcTime::NOW,
        duration_in_minutes: 0xFFFF,
        price: 1250,
        price_ratio: None,
        generation_price: None,
        generation_price_ratio: None,
        alternate_cost_delivered: None,
        alternate_cost_unit: None,
        alternate_cost_trailing_digit: None,
        number_of_block_thresholds: None,
        price_control: None,
        number_of_generation_tiers: None,
        generation_tier: None,
        extended_number_of_price_tiers: None,
        extended_price_tier: None,
        extended_register_tier: None,
    }
}

fn event(i: u32, now: SimTime) -> LoadControlEvent {
    LoadControlEvent {
        issuer_event_id: 5000 + i,
        device_class: DeviceClass(DeviceClass::HVAC),
        utility_enrollment_group: 0,
        start_time: now.plus(600 * SimTime::SECOND).utc(),
        duration_in_minutes: 60,
        criticality_level: CriticalityLevel::Level1,
        cooling_temperature_offset: 20,
        heating_temperature_offset: 0xFF,
        cooling_temperature_set_point: i16::MIN,
        heating_temperature_set_point: i16::MIN,
        average_load_adjustment_percentage: i8::MIN,
        duty_cycle: 0xFF,
        event_control: EventControl(3),
    }
}
