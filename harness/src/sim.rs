//! `hanrig sim`.

use std::fmt::Write as _;
use std::path::Path;

use hanrig_sim::scenario::Scenario;

/// Runs a scenario file and writes its outputs into `out`.
pub fn run(scenario: &Path, out: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(scenario)
        .map_err(|e| format!("reading {}: {e}", scenario.display()))?;
    let scenario_def =
        Scenario::parse(&text).map_err(|e| format!("{}: {e}", scenario.display()))?;
    let started = std::time::Instant::now();
    let run = scenario_def
        .run()
        .map_err(|e| format!("{}: {e}", scenario.display()))?;
    let elapsed = started.elapsed();
    run.write(out).map_err(|e| e.to_string())?;
    let mut summary = format!(
        "scenario {}: {} frames, {} events in {:.1} ms of wall time\n",
        scenario_def.name,
        run.capture.len(),
        run.log.events.len(),
        elapsed.as_secs_f64() * 1e3
    );
    for device in &scenario_def.devices {
        let joined = run.log.find(Some(&device.name), "joined").next().is_some();
        let _ = writeln!(
            summary,
            "  {:<16} {}",
            device.name,
            if joined { "joined" } else { "NOT joined" }
        );
    }
    let _ = writeln!(
        summary,
        "wrote {0}/capture.pcapng, {0}/keys, {0}/events.jsonl",
        out.display()
    );
    Ok(summary)
}
