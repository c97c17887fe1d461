//! Runs cases on a rig and collects results: the case loop, and the capture of every case.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Instant;

use hanrig_scenario::clock::SimTime;
use hanrig_scenario::mutant::Mutant;
use hanrig_sep::capture::{KeyFile, PcapngWriter};

use super::air::{Party, What};
use super::cases::{CASES, Case};
use super::ctx::secs;
use super::ctx::{CaseError, Ctx};
use super::instrument::Reading;
use super::model::{
    CaseResult, Evidence, FrameRecord, Lane, Mark, RunInfo, Suite, Timeline, Verdict,
};
use super::rig::{Capture, Rig};
use hanrig_capture::{CapturedFrame, decode_frame, summary};

/// Cases selected by suite and IDs (all when none given); unknown IDs are an error.
pub fn select(suite: Option<&str>, ids: &[String]) -> Result<Vec<&'static Case>, String> {
    if let Some(s) = suite
        && !matches!(s, "device" | "meter" | "e2e")
    {
        return Err(format!("suite {s:?} is not device, meter or e2e"));
    }
    for id in ids {
        if !CASES.iter().any(|c| c.id.eq_ignore_ascii_case(id)) {
            return Err(format!("no case {id:?}; `hanrig list` shows them"));
        }
    }
    Ok(CASES
        .iter()
        .filter(|c| suite.is_none_or(|s| c.suite.name() == s))
        .filter(|c| ids.is_empty() || ids.iter().any(|id| c.id.eq_ignore_ascii_case(id)))
        .copied()
        .collect())
}

/// Runs `cases` on `jobs` threads at once (1: one after another; a lab rig's one bench takes
/// one at a time whatever is asked). Each result goes to `done` as its case finishes; all come
/// back in the order of `cases`.
pub fn run_cases(
    rig: &Arc<dyn Rig>,
    cases: &[&'static Case],
    mutant: Option<Mutant>,
    report_dir: Option<&Path>,
    jobs: usize,
    mut done: impl FnMut(&CaseResult),
) -> Vec<CaseResult> {
    let jobs = if rig.profile().real_dut {
        1
    } else {
        jobs.clamp(1, cases.len().max(1))
    };
    let next = AtomicUsize::new(0);
    let (sender, finished) = mpsc::channel();
    let mut results: Vec<Option<CaseResult>> = cases.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let (sender, next) = (sender.clone(), &next);
            scope.spawn(move || {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(index) else { break };
                    let result = run_case(rig, case, mutant, report_dir);
                    if sender.send((index, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        for (index, result) in finished {
            done(&result);
            results[index] = Some(result);
        }
    });
    results.into_iter().flatten().collect()
}

/// Runs one case.
pub fn run_case(
    rig: &Arc<dyn Rig>,
    case: &Case,
    mutant: Option<Mutant>,
    report_dir: Option<&Path>,
) -> CaseResult {
    let started = Instant::now();
    let mut result = CaseResult {
        id: case.id.to_string(),
        suite: case.suite,
        title: case.title.to_string(),
        clause: case.clause.to_string(),
        preconditions: case.preconditions.to_string(),
        steps: case.steps.iter().map(|s| s.to_string()).collect(),
        expected: case.expected.to_string(),
        verdict: Verdict::Pass,
        message: String::new(),
        expected_observation: None,
        observed: None,
        wall_ms: 0.0,
        virtual_seconds: 0,
        frames: Vec::new(),
        evidence: Vec::new(),
        timeline: Timeline::default(),
        capture: None,
        keys: None,
    };
    if !rig.profile().supports(case.dut) {
        result.verdict = Verdict::NotApplicable;
        result.message = format!("the rig's DUT is not a {:?}", case.dut);
        return result;
    }
    // A device mutant replaces device DUTs, a meter mutant meter DUTs.
    let mutant = mutant.filter(|m| match case.suite {
        Suite::Device => !m.is_meter(),
        Suite::Meter => m.is_meter(),
        Suite::E2e => false,
    });
    let mut ctx = Ctx::new(Arc::clone(rig), mutant);
    match (case.run)(&mut ctx) {
        Ok(()) => {}
        Err(CaseError::Fail {
            message,
            expected,
            observed,
        }) => {
            result.verdict = Verdict::Fail;
            result.message = message;
            result.expected_observation = Some(expected);
            result.observed = Some(observed);
        }
        Err(CaseError::Rig(message)) => {
            result.verdict = Verdict::RigError;
            result.message = message;
        }
        Err(CaseError::Skip(message)) => {
            result.verdict = Verdict::Skipped;
            result.message = message;
        }
    }
    (result.evidence, result.timeline) = evidence_and_timeline(&ctx);
    if let Some(capture) = &ctx.capture {
        let mut keys: KeyFile = capture.keys.clone();
        result.frames = capture
            .frames
            .iter()
            .enumerate()
            .map(|(index, (t_us, bytes))| {
                let v = decode_frame(
                    &CapturedFrame {
                        timestamp_us: *t_us,
                        bytes: bytes.clone(),
                    },
                    index,
                    &mut keys,
                );
                let from = match (&v["nwk"]["src"], &v["mac"]["src"]) {
                    (serde_json::Value::Number(n), _) => {
                        format!("0x{:04x}", n.as_u64().unwrap_or(0))
                    }
                    (_, serde_json::Value::String(s)) => s.clone(),
                    (_, other) => other.to_string(),
                };
                FrameRecord {
                    t_us: *t_us,
                    time: SimTime(*t_us).utc().to_string(),
                    from,
                    summary: summary(&v),
                    zcl: v.get("zcl").cloned(),
                }
            })
            .collect();
        let first = capture.frames.first().map_or(0, |c| c.0);
        result.virtual_seconds = ctx.end_us.saturating_sub(first) / 1_000_000;
        if let Some(dir) = report_dir {
            let (pcap, keyfile) = (
                PathBuf::from("captures").join(format!("{}.pcapng", case.id)),
                PathBuf::from("captures").join(format!("{}.keys", case.id)),
            );
            if write_capture(dir, &pcap, &keyfile, capture).is_ok() {
                result.capture = Some(pcap);
                result.keys = Some(keyfile);
            }
        }
    }
    result.wall_ms = started.elapsed().as_secs_f64() * 1e3;
    result
}

/// What a case's verdict came from, and the case drawn against time: the frames between rig and
/// DUT (those the verdict looked at marked), the probes with their readings, the windows.
fn evidence_and_timeline(ctx: &Ctx) -> (Vec<Evidence>, Timeline) {
    let judged = ctx.judged.borrow();
    let mut evidence: Vec<Evidence> = Vec::new();
    for (t_us, what) in judged.iter() {
        let item = Evidence {
            source: "air".into(),
            at_s: secs(*t_us),
            what: what.clone(),
        };
        if !evidence
            .iter()
            .any(|e| e.at_s == item.at_s && e.what == item.what)
        {
            evidence.push(item);
        }
    }
    let mut marks: Vec<Mark> = ctx
        .air
        .frames
        .iter()
        .filter_map(|h| {
            let lane = match (h.from, h.to) {
                (Party::Rig(_), Party::Dut) => Lane::ToDut,
                (Party::Dut, Party::Rig(_)) => Lane::FromDut,
                _ => return None,
            };
            let label = match &h.what {
                What::Zcl(z) => match &z.frame {
                    Ok(f) => f.command.name().to_string(),
                    Err(e) => format!("malformed: {e}"),
                },
                What::AssociationRequest => "association request".into(),
                What::AssociationResponse { status, .. } => {
                    format!("association response {status:#04x}")
                }
                What::TransportKey => "transport key".into(),
                What::Other => return None,
            };
            Some(Mark {
                at_s: secs(h.t_us),
                lane,
                judged: judged.iter().any(|(t, _)| *t == h.t_us),
                label,
                holds: None,
            })
        })
        .collect();
    for s in &ctx.samples {
        let at_s = s.at_ms as f64 / 1000.0;
        let (holds, answer) = match &s.reading {
            Some(Reading::Answered { holds, saw }) => (
                Some(*holds),
                format!("{}: {saw}", if *holds { "yes" } else { "no" }),
            ),
            Some(Reading::Unavailable(why)) => (None, format!("unavailable: {why}")),
            None => (None, "not probed".into()),
        };
        evidence.push(Evidence {
            source: s.probe.instrument().name().into(),
            at_s,
            what: format!("{} {answer}", s.probe.question()),
        });
        marks.push(Mark {
            at_s,
            lane: Lane::Instrument,
            label: s.probe.question(),
            judged: true,
            holds,
        });
    }
    evidence.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    let windows = ctx.windows.borrow().clone();
    let end = secs(ctx.end_us);
    let span_s = marks
        .iter()
        .map(|m| m.at_s)
        .chain(windows.iter().map(|w| w.to_s))
        .fold(end, f64::max);
    (
        evidence,
        Timeline {
            span_s,
            marks,
            windows,
        },
    )
}

fn write_capture(dir: &Path, pcap: &Path, keys: &Path, capture: &Capture) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("captures"))?;
    let file = std::fs::File::create(dir.join(pcap))?;
    let mut writer = PcapngWriter::new(std::io::BufWriter::new(file), "hanrig run")?;
    for (t_us, frame) in &capture.frames {
        writer.write_frame(*t_us, frame)?;
    }
    writer.finish()?;
    std::fs::write(dir.join(keys), capture.keys.to_text())
}

/// What a run is, for reports.
pub fn run_info(rig: &dyn Rig, mutant: Option<Mutant>) -> RunInfo {
    let profile = rig.profile();
    RunInfo {
        rig: profile.name.clone(),
        rig_file: profile.file.clone(),
        dut: profile.dut.clone(),
        radio: profile.radio.clone(),
        mutant: mutant.map(|m| m.name().to_string()),
        version: env!("CARGO_PKG_VERSION").to_string(),
        started: SimTime(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros() as u64)
                .unwrap_or(0),
        )
        .utc()
        .to_string(),
    }
}
