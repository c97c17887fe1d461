//! The simulated head-ends' meters measure their homes: a quarter hour with no load control is
//! what the home's profile says (the lab's history says the same), a thermostat's setback and
//! a load-control device's open relay show in the quarter hours the event covers, and the
//! head-end's interval file names only times that happen once; its meters' daily register
//! reads and billing periods continue the history the same home model writes.

#![allow(clippy::unwrap_used)]

use hanrig_gateway::message::{LoadControlMessage, cluster_of};
use hanrig_headend::jobs::{JobKind, JobRequest, TargetState};
use hanrig_sep::ZclFrame;
use hanrig_sim::clock::SimTime;
use hanrig_sim::device::DeviceKind;
use hanrig_sim::headend::{Front, JobsHeadEnd, Latency};
use hanrig_sim::household::{Control, Home, NORMAL_HEATING};
use hanrig_usage::day::Day;
use hanrig_usage::lse::{Reader, Record};
use hanrig_usage::{BillingRead, Channel, DailyRead, Interval, Quality};

const FAST: Latency = Latency {
    min_us: 1_000_000,
    max_us: 5_000_000,
    loss: 0.0,
};

fn at(unix: i64) -> SimTime {
    SimTime::from_unix_seconds(unix as u64)
}

fn deliver(message: &LoadControlMessage, targets: Vec<String>, expires_at: i64) -> JobRequest {
    let command = message.command(77).unwrap();
    let cluster = cluster_of(&command).unwrap();
    let mut buf = [0u8; 127];
    let len = ZclFrame::new(cluster, command, 9)
        .unwrap()
        .emit(&mut buf)
        .unwrap();
    JobRequest {
        idempotency_key: "lce".into(),
        kind: JobKind::Deliver {
            cluster,
            zcl: buf[..len].iter().map(|b| format!("{b:02x}")).collect(),
        },
        targets,
        expires_at: expires_at as u64,
        callback: None,
    }
}

fn consumption(intervals: &[Interval]) -> Vec<(i64, i64)> {
    intervals
        .iter()
        .filter(|i| i.channel == Channel::Consumption)
        .map(|i| (i.start, i.wh))
        .collect()
}

#[test]
fn a_thermostats_setback_and_a_relays_shed_show_in_their_meters_quarter_hours_and_nothing_else() {
    // A January morning in Texas: the heating runs 05:00–09:00, the water heater 06:00–08:00.
    let day = Day::parse_iso("2027-01-12").unwrap();
    let midnight = day.start();
    let fleet = vec![
        ("1008901000000000000001".to_string(), DeviceKind::Thermostat),
        (
            "1008901000000000000002".to_string(),
            DeviceKind::LoadControl,
        ),
        (
            "1008901000000000000003".to_string(),
            DeviceKind::InHomeDisplay,
        ),
    ];
    let esiids: Vec<String> = fleet.iter().map(|(e, _)| e.clone()).collect();
    let mut h = JobsHeadEnd::new(&fleet, FAST, 3, at(midnight + 5 * 3600));

    // At 05:00, an event for 06:00–07:00: heating 2.0 °C down; a relay sheds its load.
    let (event_start, event_end) = (midnight + 6 * 3600, midnight + 7 * 3600);
    let message = LoadControlMessage {
        device_class: 0xFFFF,
        enrollment_group: 0,
        start: Some(event_start as u64),
        duration_minutes: 60,
        criticality: 3,
        cooling_offset: None,
        heating_offset: Some(20),
        cooling_set_point: None,
        heating_set_point: None,
        load_adjustment: None,
        duty_cycle: None,
        randomize_start: false,
        randomize_end: false,
    };
    let five = at(midnight + 5 * 3600);
    let id = h
        .submit(
            &deliver(&message, esiids.clone(), midnight + 6 * 3600),
            five,
        )
        .unwrap()
        .job_id;
    let job = h.job(&id, at(midnight + 5 * 3600 + 60)).unwrap();
    assert_eq!(job.results[0].state, TargetState::Acknowledged, "{job:?}");
    assert_eq!(job.results[1].state, TargetState::Acknowledged, "{job:?}");

    // At 08:00 every meter has measured 32 quarter hours since midnight.
    let measured = h.han().collect_intervals(at(midnight + 8 * 3600));
    assert_eq!(
        measured.iter().map(|(e, _)| e.as_str()).collect::<Vec<_>>(),
        esiids.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let setback = Control {
        heating_set_point: NORMAL_HEATING - 200,
        ..Control::NORMAL
    };
    let shed = Control {
        water_heater_on: false,
        ..Control::NORMAL
    };
    for ((esiid, collected), control) in measured.iter().zip([Some(setback), Some(shed), None]) {
        let home = Home::of(esiid);
        let got = consumption(&collected.intervals);
        // No midnight has passed since the day's: no daily read yet.
        assert!(collected.daily.is_empty(), "{collected:?}");
        assert_eq!(got.len(), 32, "{esiid}");
        let profile = consumption(&home.day(day));
        let mut saved = 0;
        for (&(start, wh), &(start_p, normal)) in got.iter().zip(&profile) {
            assert_eq!(start, start_p);
            let quarter = home.quarter(start);
            let during = control.map(|c| quarter.metered(&c).0);
            match during {
                // Wholly inside the event: what the home draws under the event's control.
                Some(reduced) if start >= event_start + 900 && start + 900 <= event_end => {
                    assert_eq!(wh, reduced, "{esiid} at {start}");
                    assert!(reduced < normal, "{esiid} at {start}: {reduced} < {normal}");
                    saved += normal - reduced;
                }
                // The quarter hours the device switches in (its clock ticks in seconds).
                Some(reduced) if start + 900 > event_start && start < event_end + 900 => {
                    assert!((reduced..=normal).contains(&wh), "{esiid} at {start}: {wh}");
                    saved += normal - wh;
                }
                // Outside the event, and a display's home throughout: the profile, exactly.
                _ => assert_eq!(wh, normal, "{esiid} at {start}"),
            }
        }
        match control {
            // A 2 °C setback saves 60 % of the heating's 250 Wh a quarter hour; the relay the
            // water heater's 80 Wh.
            Some(c) if c == setback => assert!((450..=600).contains(&saved), "{saved}"),
            Some(_) => assert!((240..=320).contains(&saved), "{saved}"),
            None => assert_eq!(saved, 0),
        }
    }

    // What is collected once is not collected again; the file holds the next hour, a block per
    // meter and channel, and reads back as it was measured.
    let text = h.han().interval_file(at(midnight + 9 * 3600)).unwrap();
    let blocks: Vec<_> = Reader::new(text.as_bytes())
        .map(|b| match b {
            Ok(Record::Intervals(b)) => b,
            other => panic!("{other:?}\n{text}"),
        })
        .collect();
    let solar = esiids.iter().filter(|e| Home::of(e).solar()).count();
    assert_eq!(blocks.len(), 3 + solar, "{text}");
    for b in &blocks {
        assert!(b.errors.is_empty(), "{b:?}");
        assert_eq!(b.intervals.len(), 4, "{b:?}");
        assert_eq!(b.intervals[0].start, midnight + 8 * 3600);
        if b.channel == Channel::Consumption {
            let profile = consumption(&Home::of(b.esiid.as_str()).day(day));
            assert_eq!(consumption(&b.intervals), profile[32..36], "{b:?}");
        }
    }
}

#[test]
fn quarter_hours_of_the_repeated_hour_wait_until_it_is_over() {
    // 1 November 2026: 01:00–02:00 happens twice in Texas.
    let day = Day::parse_iso("2026-11-01").unwrap();
    let midnight = day.start();
    let fleet = vec![("1044372000000000000001".to_string(), DeviceKind::Thermostat)];
    let mut h = JobsHeadEnd::new(&fleet, FAST, 3, at(midnight + 1800));
    // At the first 01:30 the run ends at 00:45: 01:00 happens twice.
    let first = h.han().collect_intervals(at(midnight + 5400));
    let starts: Vec<i64> = consumption(&first[0].1.intervals)
        .iter()
        .map(|q| q.0)
        .collect();
    assert_eq!(starts, [midnight, midnight + 900, midnight + 1800]);
    // Nothing while the hour repeats.
    assert!(
        h.han()
            .collect_intervals(at(midnight + 7200 + 1800))
            .is_empty()
    );
    // At 02:30 (standard time), the rest: 00:45 to 02:30, five quarter hours of them in
    // the 01:00 hours.
    let rest = h.han().collect_intervals(at(midnight + 3 * 3600 + 1800));
    let got = consumption(&rest[0].1.intervals);
    assert_eq!(got.len(), 11);
    assert_eq!(got[0].0, midnight + 2700);
    let profile = consumption(&Home::of(&fleet[0].0).day(day));
    assert_eq!(profile.len(), 100);
    assert_eq!(got, profile[3..14]);
}

#[test]
fn daily_reads_and_the_billing_period_continue_the_history_of_the_same_home() {
    let esiid = "1044372000000000000007";
    let home = Home::of(esiid);
    // Start the day before the meter's read day, so the first day's read closes a period.
    let read_date = Day::parse_iso(&format!("2027-02-{:02}", home.read_day())).unwrap();
    let first_day = read_date.previous();
    let fleet = vec![(esiid.to_string(), DeviceKind::InHomeDisplay)];
    let mut h = JobsHeadEnd::new(&fleet, FAST, 3, at(first_day.start() + 60));
    let text = h.han().interval_file(at(read_date.start() + 3600)).unwrap();
    let records: Vec<Record> = Reader::new(text.as_bytes())
        .map(|r| r.unwrap_or_else(|e| panic!("{e:?}\n{text}")))
        .collect();
    let daily: Vec<DailyRead> = records
        .iter()
        .filter_map(|r| match r {
            Record::Daily(d) => Some(d.read),
            _ => None,
        })
        .collect();
    let billing: Vec<BillingRead> = records
        .iter()
        .filter_map(|r| match r {
            Record::Billing(b) => Some(b.read),
            _ => None,
        })
        .collect();
    // The first day, from the register the meter started at to the next midnight's: what the
    // home drew, to the watt-hour (a display controls nothing).
    let drawn = |d: Day| -> i64 { consumption(&home.day(d)).iter().map(|q| q.1).sum() };
    let origin = home.register_origin() as i64;
    assert_eq!(
        daily,
        [DailyRead {
            day: first_day,
            start_wh: origin,
            end_wh: origin + drawn(first_day),
            quality: Quality::Actual,
        }]
    );
    // The period from the read date a month before — whose register is the history's — to
    // this one: every day's consumption in it.
    let start = Day::parse_iso(&format!("2027-01-{:02}", home.read_day())).unwrap();
    let mut total = 0;
    let mut d = start;
    while d < read_date {
        total += drawn(d);
        d = d.next();
    }
    assert_eq!(
        billing,
        [BillingRead {
            start,
            end: read_date,
            wh: total,
            quality: Quality::Actual,
        }]
    );
    assert_eq!(
        home.registers_before(start, first_day)[0],
        (start, (origin - total + drawn(first_day)) as u64)
    );
}
