//! `hanrig list` and `hanrig run`: the conformance suites.

use std::path::PathBuf;
use std::process::ExitCode;

/// `hanrig list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only this suite: device, meter or e2e.
    #[arg(long)]
    suite: Option<String>,
    /// List the deliberately broken simulated devices instead.
    #[arg(long)]
    mutants: bool,
}

/// `hanrig run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The rig file (rigs/sim.toml runs everything simulated).
    #[arg(long)]
    rig: PathBuf,
    /// Only this suite: device, meter or e2e.
    #[arg(long)]
    suite: Option<String>,
    /// Only these cases (repeatable).
    #[arg(long = "case")]
    cases: Vec<String>,
    /// Write JUnit XML, JSON, HTML and per-case captures here.
    #[arg(long)]
    report_dir: Option<PathBuf>,
    /// Play this mutant as the device under test (simulated rigs).
    #[arg(long)]
    mutant: Option<String>,
    /// Cases run at once on a simulated rig (default: four per core, as the e2e cases mostly
    /// wait on the gateway's chain); a lab rig runs one at a time.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: Option<u16>,
}

/// Lists the cases, or the mutants.
pub fn list(args: ListArgs) -> anyhow::Result<String> {
    hanrig_rig::cli::list(args.suite.as_deref(), args.mutants).map_err(anyhow::Error::msg)
}

/// Runs the cases; the exit code says whether the DUT (1) or the rig (2) failed.
pub fn run(args: &RunArgs) -> ExitCode {
    hanrig_rig::cli::run(
        &args.rig,
        args.suite.as_deref(),
        &args.cases,
        args.report_dir.as_deref(),
        args.mutant.as_deref(),
        args.jobs.map_or_else(
            || 4 * std::thread::available_parallelism().map_or(1, usize::from),
            usize::from,
        ),
    )
}
