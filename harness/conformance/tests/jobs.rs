//! `run_cases` side by side: a simulated rig's cases overlap, a lab rig's never do (its one
//! bench holds one DUT).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hanrig_conformance::ctx::CaseError;
use hanrig_conformance::instrument::{Instruments, Sample};
use hanrig_conformance::model::{DutKind, Verdict};
use hanrig_conformance::rig::{Observed, Profile, Rig};
use hanrig_conformance::runner::{run_cases, select};
use hanrig_scenario::mutant::Mutant;
use hanrig_scenario::scenario::Scenario;

/// A rig that hears nothing and counts how many of its runs overlap.
#[derive(Debug)]
struct Counting {
    profile: Profile,
    running: AtomicUsize,
    most: AtomicUsize,
}

impl Counting {
    fn new(real_dut: bool) -> Arc<Counting> {
        Arc::new(Counting {
            profile: Profile {
                name: "counting".into(),
                file: String::new(),
                dut: String::new(),
                radio: String::new(),
                kinds: vec![
                    DutKind::InHomeDisplay,
                    DutKind::Thermostat,
                    DutKind::LoadControl,
                ],
                instruments: Instruments::default(),
                tolerance_s: 0,
                real_dut,
            },
            running: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
        })
    }
}

impl Rig for Counting {
    fn profile(&self) -> &Profile {
        &self.profile
    }

    fn run(
        &self,
        _: &Scenario,
        _: Option<Mutant>,
        _: &mut [Sample],
    ) -> Result<Observed, CaseError> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        // Stay until another run joins (a simulated rig's) or a while has passed (a lab rig's,
        // where none may).
        let until =
            Instant::now() + Duration::from_millis(if self.profile.real_dut { 20 } else { 5_000 });
        while self.most.load(Ordering::SeqCst) < 2 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
        self.running.fetch_sub(1, Ordering::SeqCst);
        Ok(Observed::default())
    }
}

fn most_at_once(real_dut: bool) -> usize {
    let counting = Counting::new(real_dut);
    let rig: Arc<dyn Rig> = counting.clone();
    let cases = select(Some("device"), &[]).unwrap();
    let cases = &cases[..8];
    let results = run_cases(&rig, cases, None, None, 4, |_| {});
    // Every case ran once, in order; a rig that heard nothing passes none.
    assert_eq!(
        results.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        cases.iter().map(|c| c.id).collect::<Vec<_>>()
    );
    assert!(results.iter().all(|r| r.verdict != Verdict::Pass));
    counting.most.load(Ordering::SeqCst)
}

#[test]
fn a_simulated_rig_runs_cases_side_by_side() {
    assert!(most_at_once(false) >= 2);
}

#[test]
fn a_lab_rig_runs_one_case_at_a_time_whatever_is_asked() {
    assert_eq!(most_at_once(true), 1);
}
