//! Pairing on the simulated head-ends, sans-IO: refusals, idempotency, loss and the window.

#![allow(clippy::unwrap_used)]

use hanrig_headend::jobs::{JobKind, JobRequest, TargetState};
use hanrig_sep::install_code::InstallCode;
use hanrig_sim::clock::SimTime;
use hanrig_sim::device::DeviceKind;
use hanrig_sim::headend::{INSTALL_CODE, JobsHeadEnd, Latency, device_eui};

const T0: u64 = 1_782_914_400;
const METER: &str = "1008901000000000000001";

fn headend(loss: f64) -> JobsHeadEnd {
    let latency = Latency {
        min_us: 1_000_000,
        max_us: 2_000_000,
        loss,
    };
    JobsHeadEnd::new(
        &[(METER.to_string(), DeviceKind::InHomeDisplay)],
        latency,
        7,
        SimTime::from_unix_seconds(T0),
    )
}

fn provision(key: &str, meter: &str, code: &InstallCode) -> JobRequest {
    JobRequest {
        idempotency_key: key.into(),
        kind: JobKind::Provision {
            eui64: device_eui(METER).to_string(),
            install_code: code.to_string(),
        },
        targets: vec![meter.into()],
        expires_at: T0 + 600,
        callback: None,
    }
}

#[test]
fn a_pairing_registers_once_and_the_same_key_starts_nothing_twice() {
    let mut he = headend(0.0);
    let code = InstallCode::from_body(&INSTALL_CODE).unwrap();
    let at = |s: u64| SimTime::from_unix_seconds(T0 + s);
    let job = he
        .submit(&provision("d1", METER, &code), at(0))
        .unwrap()
        .job_id;
    assert_eq!(
        he.submit(&provision("d1", METER, &code), at(1))
            .unwrap()
            .job_id,
        job
    );
    assert_eq!(
        he.job(&job, at(0)).unwrap().results[0].state,
        TargetState::Queued
    );
    let done = he.job(&job, at(3)).unwrap();
    assert!(done.done, "{done:?}");
    assert_eq!(
        (done.results[0].state, done.results[0].detail.as_str()),
        (TargetState::Acknowledged, "registered")
    );
    assert!(
        he.job("job-2", at(3)).is_none(),
        "the second submit made no job"
    );
}

#[test]
fn another_code_waits_for_the_window_then_fails_and_a_lost_request_has_no_route() {
    let wrong = InstallCode::from_body(&[0x11; 16]).unwrap();
    let mut he = headend(0.0);
    let at = |s: u64| SimTime::from_unix_seconds(T0 + s);
    let job = he
        .submit(&provision("d2", METER, &wrong), at(0))
        .unwrap()
        .job_id;
    assert_eq!(
        he.job(&job, at(599)).unwrap().results[0].state,
        TargetState::Sent
    );
    let r = &he.job(&job, at(601)).unwrap().results[0];
    assert_eq!(r.state, TargetState::Failed);
    assert!(
        r.detail.contains("before the pairing window closed"),
        "{r:?}"
    );

    let mut lost = headend(1.0);
    let code = InstallCode::from_body(&INSTALL_CODE).unwrap();
    let job = lost
        .submit(&provision("d3", METER, &code), at(0))
        .unwrap()
        .job_id;
    let r = &lost.job(&job, at(1)).unwrap().results[0];
    assert_eq!(
        (r.state, r.detail.as_str()),
        (TargetState::Failed, "no route to meter")
    );
}

#[test]
fn an_unknown_meter_a_device_as_meter_and_a_bad_code_are_refused_saying_why() {
    let mut he = headend(0.0);
    let code = InstallCode::from_body(&INSTALL_CODE).unwrap();
    let now = SimTime::from_unix_seconds(T0);
    let e = he
        .submit(&provision("a", "1008901999999999999999", &code), now)
        .unwrap_err();
    assert_eq!(e.targets[0].1, "no such meter at this head-end");
    let eui = device_eui(METER).to_string();
    let e = he.submit(&provision("b", &eui, &code), now).unwrap_err();
    assert_eq!(e.targets[0].0, eui, "a device is no meter to pair on");
    let mut bad = provision("c", METER, &code);
    bad.kind = JobKind::Provision {
        eui64: device_eui(METER).to_string(),
        install_code: "83FED3407A939723A5C639B26916D505C3B6".into(),
    };
    let e = he.submit(&bad, now).unwrap_err();
    assert!(e.error.contains("install_code"), "{e:?}");
}
