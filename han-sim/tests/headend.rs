//! The simulated job head-end, wired to simulated meters and devices: results follow what
//! happens on each HAN.

#![allow(clippy::unwrap_used)]

use hanrig_gateway::message::{LoadControlMessage, TextMessage, cluster_of};
use hanrig_headend::jobs::{JobKind, JobRequest, TargetState};
use hanrig_sep::ZclFrame;
use hanrig_sim::clock::SimTime;
use hanrig_sim::device::DeviceKind;
use hanrig_sim::headend::{JobsHeadEnd, Latency};

const T0: u64 = 1_782_914_400;

fn meters(n: u64) -> Vec<(String, DeviceKind)> {
    (0..n)
        .map(|i| {
            let kind = if i % 2 == 0 {
                DeviceKind::Thermostat
            } else {
                DeviceKind::InHomeDisplay
            };
            (format!("1008901{i:015}"), kind)
        })
        .collect()
}

fn job(
    command: hanrig_sep::Command,
    key: &str,
    targets: Vec<String>,
    expires_at: u64,
) -> JobRequest {
    let cluster = cluster_of(&command).unwrap();
    let mut buf = [0u8; 127];
    let len = ZclFrame::new(cluster, command, 9)
        .unwrap()
        .emit(&mut buf)
        .unwrap();
    JobRequest {
        idempotency_key: key.into(),
        kind: JobKind::Deliver {
            cluster,
            zcl: buf[..len].iter().map(|b| format!("{b:02x}")).collect(),
        },
        targets,
        expires_at,
        callback: None,
    }
}

fn lce() -> LoadControlMessage {
    LoadControlMessage {
        device_class: 0x0001,
        enrollment_group: 0,
        start: None,
        duration_minutes: 30,
        criticality: 1,
        cooling_offset: Some(20),
        heating_offset: None,
        cooling_set_point: None,
        heating_set_point: None,
        load_adjustment: None,
        duty_cycle: None,
        randomize_start: false,
        randomize_end: false,
    }
}

#[test]
fn a_load_control_job_reaches_thermostats_which_answer_and_displays_which_do_not() {
    let start = SimTime::from_unix_seconds(T0);
    let fleet = meters(40);
    let targets: Vec<String> = fleet.iter().map(|(e, _)| e.clone()).collect();
    let latency = Latency {
        min_us: 1_000_000,
        max_us: 5_000_000,
        loss: 0.0,
    };
    let mut headend = JobsHeadEnd::new(&fleet, latency, 7, start);
    let request = job(
        lce().command(77).unwrap(),
        "m1/centerpoint/0",
        targets,
        T0 + 3600,
    );
    let id = headend.submit(&request, start).unwrap().job_id;
    // Idempotent: the same key, the same job.
    assert_eq!(headend.submit(&request, start).unwrap().job_id, id);

    let early = headend.job(&id, start).unwrap();
    assert!(early.results.iter().all(|r| r.state == TargetState::Queued));
    assert!(!early.done);

    let later = headend.job(&id, start.plus(10 * SimTime::SECOND)).unwrap();
    assert!(
        later.done
            || later
                .results
                .iter()
                .any(|r| r.state == TargetState::Delivered)
    );
    for (result, (_, kind)) in later.results.iter().zip(&fleet) {
        match kind {
            DeviceKind::Thermostat => {
                assert_eq!(result.state, TargetState::Acknowledged, "{result:?}");
                assert!(
                    result.detail.starts_with("Report Event Status: "),
                    "{result:?}"
                );
            }
            _ => assert_eq!(result.state, TargetState::Delivered, "{result:?}"),
        }
    }
}

#[test]
fn lost_expired_and_unknown_targets_are_said_so() {
    let start = SimTime::from_unix_seconds(T0);
    let fleet = meters(4);
    let targets: Vec<String> = fleet.iter().map(|(e, _)| e.clone()).collect();
    let text = TextMessage {
        text: "hello".into(),
        confirmation_required: true,
        importance: 0,
        start: None,
        duration_minutes: None,
    };
    // Everything lost.
    let lossy = Latency {
        min_us: 1_000_000,
        max_us: 2_000_000,
        loss: 1.0,
    };
    let mut headend = JobsHeadEnd::new(&fleet, lossy, 1, start);
    let id = headend
        .submit(
            &job(text.command(1).unwrap(), "a", targets.clone(), T0 + 60),
            start,
        )
        .unwrap()
        .job_id;
    let j = headend.job(&id, start.plus(SimTime::SECOND)).unwrap();
    assert!(j.done && j.results.iter().all(|r| r.state == TargetState::Failed));
    assert_eq!(j.results[0].detail, "no route to meter");

    // Slower than the expiry.
    let slow = Latency {
        min_us: 120_000_000,
        max_us: 130_000_000,
        loss: 0.0,
    };
    let mut headend = JobsHeadEnd::new(&fleet, slow, 1, start);
    let id = headend
        .submit(
            &job(text.command(2).unwrap(), "b", targets.clone(), T0 + 60),
            start,
        )
        .unwrap()
        .job_id;
    let j = headend.job(&id, start.plus(61 * SimTime::SECOND)).unwrap();
    assert!(
        j.results.iter().all(|r| r.state == TargetState::Expired),
        "{j:?}"
    );

    // Unknown meters: refused, each named.
    let mut bad = targets;
    bad.push("1008901999999999999999".into());
    let e = headend
        .submit(&job(text.command(3).unwrap(), "c", bad, T0 + 60), start)
        .unwrap_err();
    assert_eq!(e.targets.len(), 1);
    assert_eq!(e.targets[0].0, "1008901999999999999999");
}

#[test]
fn a_devices_answer_acknowledges_only_the_command_it_answers() {
    // A thermostat running a load-control event reports on it; a text sent to it afterwards is
    // delivered, not acknowledged by that report. The event's own job is acknowledged.
    let start = SimTime::from_unix_seconds(T0);
    let fleet = meters(2);
    let thermostat = vec![fleet[0].0.clone()];
    let latency = Latency {
        min_us: 1_000_000,
        max_us: 2_000_000,
        loss: 0.0,
    };
    let mut headend = JobsHeadEnd::new(&fleet, latency, 7, start);
    let event = job(
        lce().command(T0 as u32).unwrap(),
        "lce",
        thermostat.clone(),
        T0 + 3600,
    );
    let lce_job = headend.submit(&event, start).unwrap().job_id;
    let text = TextMessage {
        text: "hello".into(),
        confirmation_required: false,
        importance: 0,
        start: None,
        duration_minutes: Some(5),
    };
    let later = start.plus(10_000_000);
    let text_job = job(
        text.command(T0 as u32 + 1).unwrap(),
        "text",
        thermostat,
        T0 + 3600,
    );
    let text_job = headend.submit(&text_job, later).unwrap().job_id;
    let end = start.plus(40 * 60 * 1_000_000);
    let lce_result = &headend.job(&lce_job, end).unwrap().results[0];
    assert_eq!(
        lce_result.state,
        TargetState::Acknowledged,
        "{lce_result:?}"
    );
    let text_result = &headend.job(&text_job, end).unwrap().results[0];
    assert_ne!(
        text_result.state,
        TargetState::Acknowledged,
        "{text_result:?}"
    );
}

#[test]
fn an_enrollment_group_is_written_and_the_device_answers() {
    use hanrig_gateway::message::{EnrollmentGroup, han_frame};
    let start = SimTime::from_unix_seconds(T0);
    let fleet = meters(2);
    let latency = Latency {
        min_us: 1_000_000,
        max_us: 2_000_000,
        loss: 0.0,
    };
    let mut headend = JobsHeadEnd::new(&fleet, latency, 7, start);
    let frame = han_frame(EnrollmentGroup { group: 5 }.command()).unwrap();
    let mut buf = [0u8; 127];
    let len = frame.emit(&mut buf).unwrap();
    let request = JobRequest {
        idempotency_key: "group".into(),
        kind: JobKind::Deliver {
            cluster: frame.cluster,
            zcl: buf[..len].iter().map(|b| format!("{b:02x}")).collect(),
        },
        targets: vec![fleet[0].0.clone()],
        expires_at: T0 + 3600,
        callback: None,
    };
    let id = headend.submit(&request, start).unwrap().job_id;
    let result = &headend.job(&id, start.plus(60_000_000)).unwrap().results[0];
    assert_eq!(result.state, TargetState::Acknowledged, "{result:?}");
}
