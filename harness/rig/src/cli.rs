//! `hanrig list` and `hanrig run`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use hanrig_conformance::rig::Rig;
use hanrig_conformance::runner::{run_cases, run_info, select};
use hanrig_scenario::mutant::Mutant;
use indicatif::{ProgressBar, ProgressStyle};

use hanrig_conformance::model::Verdict;

use crate::OpenRig;

/// `hanrig list`.
pub fn list(suite: Option<&str>, mutants: bool) -> Result<String, String> {
    let mut out = String::new();
    if mutants {
        for (_, name, what) in Mutant::ALL {
            let _ = writeln!(out, "{name:<30} {what}");
        }
        return Ok(out);
    }
    for case in select(suite, &[])? {
        let _ = writeln!(
            out,
            "{:<14} {:<7} {}",
            case.id,
            case.suite.name(),
            case.title
        );
    }
    let _ = writeln!(out, "{} cases", select(suite, &[])?.len());
    Ok(out)
}

/// `hanrig run`: prints a live line per case and a summary; writes reports.
pub fn run(
    rig_path: &Path,
    suite: Option<&str>,
    ids: &[String],
    report_dir: Option<&Path>,
    mutant: Option<&str>,
    jobs: usize,
) -> ExitCode {
    let rig: Arc<dyn Rig> = match OpenRig::open(rig_path) {
        Ok(rig) => Arc::new(rig),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mutant = match mutant.map(|m| Mutant::by_name(m).ok_or(m)) {
        Some(Err(name)) => {
            eprintln!("error: no mutant {name:?}; `hanrig list --mutants` shows them");
            return ExitCode::from(2);
        }
        Some(Ok(_)) if rig.profile().real_dut => {
            eprintln!(
                "error: a lab rig's DUT is the device on its bench; a mutant plays only a simulated DUT"
            );
            return ExitCode::from(2);
        }
        Some(Ok(m)) => Some(m),
        None => None,
    };
    let cases = match select(suite, ids) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let info = run_info(rig.as_ref(), mutant);
    println!(
        "rig {} ({}), DUT: {}{}",
        info.rig,
        info.rig_file,
        info.dut,
        mutant
            .map(|m| format!(", mutant {}", m.name()))
            .unwrap_or_default()
    );
    let bar = ProgressBar::new(cases.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let results = run_cases(&rig, &cases, mutant, report_dir, jobs, |result| {
        let mark = match result.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::NotApplicable => "n/a ",
            Verdict::Skipped => "skip",
            Verdict::RigError => "RIG ",
        };
        let detail = if result.message.is_empty() {
            String::new()
        } else {
            format!(" — {}", result.message)
        };
        let line = format!(
            "{mark} {:<14} {:<58} {:>7.1} ms{detail}",
            result.id, result.title, result.wall_ms
        );
        if bar.is_hidden() {
            println!("{line}");
        } else {
            bar.println(line);
        }
        bar.inc(1);
    });
    bar.finish_and_clear();
    let count = |v: Verdict| results.iter().filter(|r| r.verdict == v).count();
    let (pass, failed, na, skipped, rig_errors) = (
        count(Verdict::Pass),
        count(Verdict::Fail),
        count(Verdict::NotApplicable),
        count(Verdict::Skipped),
        count(Verdict::RigError),
    );
    println!("\nsuite    pass  fail  n/a  skip  rig");
    for s in ["device", "meter", "e2e"] {
        let of = |v: Verdict| {
            results
                .iter()
                .filter(|r| r.suite.name() == s && r.verdict == v)
                .count()
        };
        println!(
            "{s:<8} {:>4}  {:>4}  {:>3}  {:>4}  {:>3}",
            of(Verdict::Pass),
            of(Verdict::Fail),
            of(Verdict::NotApplicable),
            of(Verdict::Skipped),
            of(Verdict::RigError)
        );
    }
    println!(
        "{pass} passed, {failed} failed, {na} not applicable, {skipped} skipped, {rig_errors} rig errors"
    );
    if let Some(dir) = report_dir {
        match hanrig_conformance::report::write_reports(dir, &info, &results) {
            Ok(()) => println!(
                "reports in {}: report.xml, report.json, report.html, captures/",
                dir.display()
            ),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if rig_errors > 0 {
        ExitCode::from(2)
    } else if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
