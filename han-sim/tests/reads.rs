//! On-demand reads through each simulated head-end style, sans-IO: the register each meter
//! reports is what its home's load integrates to at the instant the read reaches it, unknown meters are
//! refused naming them, and a read lost in the network or not made in time never reports a
//! value.

#![allow(clippy::unwrap_used)]

use hanrig_headend::cim::{self, Header, ReadRequest, ReplyResult, ResponseMessage};
use hanrig_headend::jobs::{JobKind, JobRequest, TargetState};
use hanrig_headend::multispeak::{
    Call, ExpTime, MsgHeader, Notification, NotificationMessage, Request, TimeUnits,
};
use hanrig_sim::clock::SimTime;
use hanrig_sim::device::DeviceKind;
use hanrig_sim::headend::{CimHeadEnd, JobsHeadEnd, Latency, MultiSpeakHeadEnd};
use hanrig_sim::household::Home;
use hanrig_usage::day::Day;

const T0: u64 = 1_782_914_400;
const FAST: Latency = Latency {
    min_us: 1_000_000,
    max_us: 5_000_000,
    loss: 0.0,
};

fn meters(prefix: &str, n: u64) -> Vec<(String, DeviceKind)> {
    (0..n)
        .map(|i| (format!("{prefix}{i:015}"), DeviceKind::Thermostat))
        .collect()
}

fn at(seconds: u64) -> SimTime {
    SimTime::from_unix_seconds(T0 + seconds)
}

/// The register of meter `esiid` at `t` with no load control, the head-end having started
/// on `T0`'s day.
fn register(esiid: &str, t: u64) -> u64 {
    Home::of(esiid).register_at(Day::containing(T0 as i64).unwrap(), t as i64)
}

/// Whether `wh` is what meter `esiid`'s register holds at `read_at` (whole seconds, the
/// wire's resolution: the meter read it within that second).
fn register_at(esiid: &str, wh: u64, read_at: u64) -> bool {
    (register(esiid, read_at)..=register(esiid, read_at + 1)).contains(&wh)
}

fn read_job(key: &str, targets: Vec<String>, expires_in: u64) -> JobRequest {
    JobRequest {
        idempotency_key: key.into(),
        kind: JobKind::Read,
        targets,
        expires_at: T0 + expires_in,
        callback: None,
    }
}

#[test]
fn job_reads_report_each_meters_register_as_integrated_when_the_read_reached_it() {
    let fleet = meters("1008901", 3);
    let mut h = JobsHeadEnd::new(&fleet, FAST, 7, at(0));
    let names: Vec<String> = fleet.iter().map(|m| m.0.clone()).collect();

    // An hour in, then two hours in: each reading is the load integrated to its instant.
    let mut last = Vec::new();
    for (n, start) in [(1, 3600), (2, 7200)] {
        let id = h
            .submit(
                &read_job(&format!("r{n}"), names.clone(), start + 600),
                at(start),
            )
            .unwrap()
            .job_id;
        let job = h.job(&id, at(start + 10)).unwrap();
        assert!(job.done, "{job:?}");
        let mut readings = Vec::new();
        for r in &job.results {
            assert_eq!(
                (r.state, r.detail.as_str()),
                (TargetState::Acknowledged, "read")
            );
            let reading = r.reading.unwrap();
            assert!(
                (T0 + start + 1..=T0 + start + 5).contains(&reading.read_at),
                "{reading:?}"
            );
            assert!(
                register_at(&r.target, reading.register_wh, reading.read_at),
                "{r:?}: {}",
                register(&r.target, reading.read_at)
            );
            readings.push(reading.register_wh);
        }
        last.push(readings);
    }
    assert!(last[1].iter().zip(&last[0]).all(|(b, a)| b > a), "{last:?}");

    // Before the read reaches the meter: queued, no value.
    let id = h
        .submit(&read_job("r3", names[..1].to_vec(), 9000), at(8000))
        .unwrap()
        .job_id;
    let early = h.job(&id, at(8000)).unwrap();
    assert_eq!(early.results[0].state, TargetState::Queued);
    assert_eq!(early.results[0].reading, None);

    // Unknown meters, and a device's EUI64 given as a meter, are refused naming each.
    let device = hanrig_sim::headend::device_eui(&names[0]).to_string();
    let err = h
        .submit(
            &read_job(
                "r4",
                vec![
                    names[0].clone(),
                    "1008901999999999999999".into(),
                    device.clone(),
                ],
                9000,
            ),
            at(8000),
        )
        .unwrap_err();
    let refused: Vec<&str> = err.targets.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(
        refused,
        ["1008901999999999999999", device.as_str()],
        "{err:?}"
    );
}

#[test]
fn a_read_the_network_loses_fails_and_one_not_made_in_time_expires_without_a_value() {
    let fleet = meters("1008901", 40);
    let names: Vec<String> = fleet.iter().map(|m| m.0.clone()).collect();
    let lossy = Latency { loss: 0.5, ..FAST };
    let mut h = JobsHeadEnd::new(&fleet, lossy, 11, at(0));
    let id = h
        .submit(&read_job("lossy", names.clone(), 600), at(0))
        .unwrap()
        .job_id;
    let job = h.job(&id, at(60)).unwrap();
    let failed: Vec<_> = job
        .results
        .iter()
        .filter(|r| r.state == TargetState::Failed)
        .collect();
    assert!(!failed.is_empty() && failed.len() < names.len(), "{job:?}");
    assert!(
        failed
            .iter()
            .all(|r| r.reading.is_none() && r.detail == "no route to meter")
    );

    // Reads due 1-5 s after the request, expiring after 0 s: none is made.
    let mut h = JobsHeadEnd::new(&fleet, FAST, 11, at(0));
    let id = h
        .submit(&read_job("late", names.clone(), 0), at(0))
        .unwrap()
        .job_id;
    let job = h.job(&id, at(60)).unwrap();
    assert!(
        job.results
            .iter()
            .all(|r| r.state == TargetState::Expired && r.reading.is_none()),
        "{job:?}"
    );
}

#[test]
fn cim_reads_answer_at_once_and_reply_meter_readings_to_the_reply_address() {
    let fleet = meters("1003278", 2);
    let names: Vec<String> = fleet.iter().map(|m| m.0.clone()).collect();
    let mut h = CimHeadEnd::new(&fleet, FAST, 3, at(0));
    let unknown = "1003278999999999999999".to_string();
    let request = ReadRequest {
        header: Header::new("get", cim::NOUN_READINGS, T0, "gw-1", "r1-aep")
            .replying_to("http://gateway/cim"),
        meters: vec![names[0].clone(), names[1].clone(), unknown.clone()],
    };
    let reply = h.read(&request, 600, at(3600));
    assert_eq!(reply.reply.result, ReplyResult::Partial);
    assert_eq!(reply.reply.errors.len(), 1);
    assert_eq!(reply.reply.errors[0].id.as_deref(), Some(unknown.as_str()));
    assert_eq!(reply.header.correlation_id.as_deref(), Some("r1-aep"));
    assert_eq!(
        h.read(&request, 600, at(3601)),
        reply,
        "the same CorrelationID answers alike"
    );

    let posted: Vec<_> = (3600..3700).flat_map(|s| h.poll(at(s))).collect();
    let mut read = Vec::new();
    for out in &posted {
        assert_eq!(
            (out.url.as_str(), out.soap_action.as_str()),
            ("http://gateway/cim", "reply MeterReadings")
        );
        let m = ResponseMessage::from_xml(&out.body).unwrap();
        assert_eq!(
            (m.header.verb.as_str(), m.header.noun.as_str()),
            ("reply", "MeterReadings")
        );
        assert_eq!(m.header.correlation_id.as_deref(), Some("r1-aep"));
        assert_eq!(m.reply.result, ReplyResult::Ok);
        read.extend(m.readings);
    }
    read.sort_by(|a, b| a.meter.cmp(&b.meter));
    assert_eq!(
        read.iter().map(|r| r.meter.as_str()).collect::<Vec<_>>(),
        [&names[0], &names[1]]
    );
    for r in &read {
        assert!(register_at(&r.meter, r.register_wh, r.read_at), "{r:?}");
    }

    // Synchronous reads are refused, as controls are.
    let mut sync = request.clone();
    sync.header = Header::new("get", cim::NOUN_READINGS, T0, "gw-2", "r2-aep");
    let refused = h.read(&sync, 600, at(4000));
    assert_eq!(refused.reply.result, ReplyResult::Failed);
    assert!(
        refused.reply.errors[0].reason.contains("asynchronous"),
        "{refused:?}"
    );
}

#[test]
fn multispeak_reads_are_notified_as_reading_changed_and_unknown_meters_refused() {
    let fleet = meters("1044372", 2);
    let names: Vec<String> = fleet.iter().map(|m| m.0.clone()).collect();
    let mut h = MultiSpeakHeadEnd::new(&fleet, FAST, 5, at(0));
    let unknown = "1044372999999999999999".to_string();
    let request = Request {
        header: MsgHeader::new("hanrig", "SMT", "gw-1", T0),
        call: Call::InitiateMeterReadingsByMeterID {
            meter_ids: vec![names[0].clone(), unknown.clone(), names[1].clone()],
        },
        se_frame: None,
        response_url: "http://gateway/ms".into(),
        transaction_id: "r1-oncor".into(),
        exp_time: ExpTime {
            value: 10,
            units: TimeUnits::Minutes,
        },
    };
    let response = h.initiate(&request, at(7200));
    assert_eq!(response.errors.len(), 1, "{response:?}");
    assert_eq!(response.errors[0].object_id, unknown);

    let mut read = Vec::new();
    for out in (7200..7300).flat_map(|s| h.poll(at(s))) {
        assert_eq!(out.url, "http://gateway/ms");
        let n = NotificationMessage::from_xml(&out.body).unwrap();
        assert_eq!(n.transaction_id, "r1-oncor");
        let Notification::ReadingChanged(reads) = n.notification else {
            panic!("{:?}", n.notification)
        };
        read.extend(reads);
    }
    read.sort_by(|a, b| a.meter_id.cmp(&b.meter_id));
    assert_eq!(read.len(), 2, "each meter once: {read:?}");
    for r in &read {
        assert!(register_at(&r.meter_id, r.register_wh, r.read_at), "{r:?}");
    }
}
