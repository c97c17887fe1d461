//! Reports of a conformance run: JUnit XML for CI tooling, JSON for machines and one
//! self-contained HTML page for people.
//!
//! Each report is built as a `String` from the run's [`RunInfo`] and [`CaseResult`]s; nothing
//! here runs a case or reads a clock. Every piece of text that comes from a case or a frame is
//! escaped on the way out: no frame content can become markup in the XML or the HTML.

use std::borrow::Cow;
use std::fmt::{self, Display, Write as _};
use std::path::{Path, PathBuf};
use std::{fs, io};

use serde::Serialize;

use super::model::{CaseResult, FrameRecord, Lane, RunInfo, Suite, Timeline, Verdict};

/// Verdict counts over a set of cases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Cases that passed.
    pub passed: usize,
    /// Cases the DUT failed.
    pub failed: usize,
    /// Cases that did not apply to the DUT.
    pub not_applicable: usize,
    /// Cases skipped for an instrument the rig lacks.
    pub skipped: usize,
    /// Cases the rig itself could not run.
    pub rig_errors: usize,
    /// All cases.
    pub total: usize,
}

impl Summary {
    /// Counts the verdicts of `results`.
    pub fn of<'a>(results: impl IntoIterator<Item = &'a CaseResult>) -> Self {
        let mut s = Summary::default();
        for case in results {
            match case.verdict {
                Verdict::Pass => s.passed += 1,
                Verdict::Fail => s.failed += 1,
                Verdict::NotApplicable => s.not_applicable += 1,
                Verdict::Skipped => s.skipped += 1,
                Verdict::RigError => s.rig_errors += 1,
            }
            s.total += 1;
        }
        s
    }
}

/// Writes report.xml (JUnit), report.json and report.html into `dir` (created if needed).
pub fn write_reports(dir: &Path, info: &RunInfo, results: &[CaseResult]) -> io::Result<()> {
    let context = |path: &Path| {
        let path = path.display().to_string();
        move |e: io::Error| io::Error::new(e.kind(), format!("writing {path}: {e}"))
    };
    fs::create_dir_all(dir).map_err(context(dir))?;
    for (name, text) in [
        ("report.xml", junit_xml(info, results)),
        ("report.json", json(info, results)),
        ("report.html", html(info, results)),
    ] {
        let path = dir.join(name);
        fs::write(&path, text).map_err(context(&path))?;
    }
    Ok(())
}

/// The run as JUnit XML: one `<testsuite>` per suite, one `<testcase>` per case; a failure is
/// a `<failure>`, a rig error an `<error>`, a case that does not apply `<skipped>`.
pub fn junit_xml(info: &RunInfo, results: &[CaseResult]) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = write_junit(&mut out, info, results);
    out
}

/// The run as pretty JSON: `{"run": …, "summary": {…}, "cases": […]}`.
pub fn json(info: &RunInfo, results: &[CaseResult]) -> String {
    #[derive(Serialize)]
    struct Report<'a> {
        run: &'a RunInfo,
        summary: Summary,
        cases: Vec<Cow<'a, CaseResult>>,
    }
    let report = Report {
        run: info,
        summary: Summary::of(results),
        cases: results.iter().map(with_utf8_paths).collect(),
    };
    // Non-UTF-8 paths are the only thing in the model serde_json refuses, and they were
    // made lossy above (non-finite floats become null).
    serde_json::to_string_pretty(&report).expect("a report with UTF-8 paths serialises")
}

/// The run as one self-contained HTML page (inline CSS, no script, no external resources).
pub fn html(info: &RunInfo, results: &[CaseResult]) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = write_html(&mut out, info, results);
    out
}

fn write_junit(out: &mut String, info: &RunInfo, results: &[CaseResult]) -> fmt::Result {
    let all = Summary::of(results);
    let total_ms: f64 = results.iter().map(|c| c.wall_ms).sum();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="hanrig" tests="{}" failures="{}" errors="{}" skipped="{}" time="{}">"#,
        all.total,
        all.failed,
        all.rig_errors,
        all.not_applicable + all.skipped,
        seconds(total_ms)
    )?;
    for suite in suites(results) {
        let cases: Vec<&CaseResult> = results.iter().filter(|c| c.suite == suite).collect();
        let s = Summary::of(cases.iter().copied());
        writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{}" errors="{}" skipped="{}" time="{}" timestamp="{}">"#,
            suite.name(),
            s.total,
            s.failed,
            s.rig_errors,
            s.not_applicable + s.skipped,
            seconds(cases.iter().map(|c| c.wall_ms).sum()),
            attr(&info.started)
        )?;
        writeln!(out, "    <properties>")?;
        for (name, value) in run_properties(info) {
            writeln!(
                out,
                r#"      <property name="{}" value="{}"/>"#,
                attr(name),
                attr(value)
            )?;
        }
        writeln!(out, "    </properties>")?;
        for case in cases {
            write_junit_case(out, case)?;
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

fn write_junit_case(out: &mut String, case: &CaseResult) -> fmt::Result {
    writeln!(
        out,
        r#"    <testcase classname="hanrig.{}" name="{} {}" time="{}">"#,
        case.suite.name(),
        attr(&case.id),
        attr(&case.title),
        seconds(case.wall_ms)
    )?;
    let message = if case.message.is_empty() {
        verdict_text(case.verdict)
    } else {
        case.message.as_str()
    };
    match case.verdict {
        Verdict::Pass => {}
        Verdict::Fail => {
            write!(out, r#"      <failure message="{}">"#, attr(message))?;
            match (&case.expected_observation, &case.observed) {
                (None, None) => write!(out, "{}", text(message))?,
                (expected, observed) => write!(
                    out,
                    "Expected:\n{}\n\nObserved:\n{}",
                    text(expected.as_deref().unwrap_or("(not recorded)")),
                    text(observed.as_deref().unwrap_or("(not recorded)"))
                )?,
            }
            writeln!(out, "</failure>")?;
        }
        Verdict::RigError => writeln!(
            out,
            r#"      <error message="{}">{}</error>"#,
            attr(message),
            text(message)
        )?,
        Verdict::NotApplicable | Verdict::Skipped => {
            writeln!(out, r#"      <skipped message="{}"/>"#, attr(message))?
        }
    }
    writeln!(
        out,
        "      <system-out>{}</system-out>",
        text(&system_out(case))
    )?;
    writeln!(out, "    </testcase>")
}

/// The plain-text account of a case that goes in JUnit's `<system-out>`.
fn system_out(case: &CaseResult) -> String {
    let mut s = format!(
        "Clause: {}\nPreconditions: {}\nSteps:\n",
        case.clause, case.preconditions
    );
    for (i, step) in case.steps.iter().enumerate() {
        s += &format!("  {}. {step}\n", i + 1);
    }
    s += &format!(
        "Expected: {}\nVirtual time: {}\nFrames ({}):\n",
        case.expected,
        virtual_time(case.virtual_seconds),
        case.frames.len()
    );
    for f in &case.frames {
        s += &format!("  {} {}: {}\n", f.time, f.from, f.summary);
    }
    for (label, path) in [("Capture", &case.capture), ("Keys", &case.keys)] {
        if let Some(path) = path {
            s += &format!("{label}: {} (relative to the report)\n", path.display());
        }
    }
    s
}

const CSS: &str = "
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
svg.timeline { width: 100%; max-width: 900px; height: auto; background: #fafafa; border: 1px solid #ddd; }
svg.timeline text { font: 11px system-ui, sans-serif; fill: #444; }
svg.timeline line.lane { stroke: #bbb; }
svg.timeline rect.window { fill: #4a90d9; fill-opacity: .18; stroke: #4a90d9; stroke-opacity: .5; }
svg.timeline .frame { fill: #fff; stroke: #777; }
svg.timeline .frame.judged { fill: #2a6fb0; stroke: #2a6fb0; }
svg.timeline .probe { fill: #2e8b57; }
svg.timeline .probe.failed { fill: #c0392b; }
ul.evidence .source { font-weight: 600; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .2em .5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; }
dl.info { display: grid; grid-template-columns: max-content auto; gap: .1em 1em; }
dl.info dt { font-weight: bold; }
dl.info dd { margin: 0; }
pre { background: #f7f7f7; border: 1px solid #ddd; padding: .5em; white-space: pre-wrap; overflow-wrap: anywhere; margin: .2em 0; }
.verdict { font-weight: bold; padding: 0 .4em; border-radius: 3px; color: #fff; white-space: nowrap; }
.pass { background: #2e7d32; }
.fail { background: #c62828; }
.not-applicable { background: #757575; }
.rig-error { background: #ef6c00; }
section.case { border-top: 2px solid #ccc; margin-top: 1.5em; }
.compare { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
";

fn write_html(out: &mut String, info: &RunInfo, results: &[CaseResult]) -> fmt::Result {
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
    )?;
    writeln!(
        out,
        "<title>hanrig conformance report: {}</title>",
        text(&info.rig)
    )?;
    writeln!(out, "<style>{CSS}</style>\n</head>\n<body>")?;

    writeln!(out, "<header>\n<h1>hanrig conformance report</h1>")?;
    writeln!(out, "<dl class=\"info\">")?;
    for (name, value) in run_properties(info) {
        writeln!(out, "<dt>{}</dt><dd>{}</dd>", text(name), text(value))?;
    }
    writeln!(out, "</dl>")?;
    writeln!(
        out,
        "<table class=\"summary\">\n<tr><th>suite</th><th>pass</th><th>fail</th>\
         <th>not applicable</th><th>skipped</th><th>rig error</th><th>total</th></tr>"
    )?;
    let mut rows: Vec<(&str, Summary)> = suites(results)
        .into_iter()
        .map(|suite| {
            let cases = results.iter().filter(|c| c.suite == suite);
            (suite.name(), Summary::of(cases))
        })
        .collect();
    rows.push(("all", Summary::of(results)));
    for (name, s) in rows {
        writeln!(
            out,
            "<tr><th>{name}</th><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            s.passed, s.failed, s.not_applicable, s.skipped, s.rig_errors, s.total
        )?;
    }
    writeln!(out, "</table>\n</header>")?;

    writeln!(out, "<main>\n<h2>Cases</h2>")?;
    writeln!(
        out,
        "<table class=\"cases\">\n<tr><th>ID</th><th>title</th><th>suite</th><th>verdict</th>\
         <th>wall ms</th><th>virtual time</th></tr>"
    )?;
    for case in results {
        writeln!(
            out,
            "<tr><td><a href=\"#{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"num\">{:.1}</td><td class=\"num\">{}</td></tr>",
            attr(&anchor(case)),
            text(&case.id),
            text(&case.title),
            case.suite.name(),
            verdict_badge(case.verdict),
            case.wall_ms,
            virtual_time(case.virtual_seconds)
        )?;
    }
    writeln!(out, "</table>")?;
    for case in results {
        write_html_case(out, case)?;
    }
    writeln!(out, "</main>\n</body>\n</html>")
}

fn write_html_case(out: &mut String, case: &CaseResult) -> fmt::Result {
    writeln!(
        out,
        "<section class=\"case\" id=\"{}\">\n<h3>{} {} {}</h3>",
        attr(&anchor(case)),
        verdict_badge(case.verdict),
        text(&case.id),
        text(&case.title)
    )?;
    writeln!(out, "<dl class=\"info\">")?;
    for (name, value) in [
        ("suite", case.suite.name()),
        ("clause", case.clause.as_str()),
        ("preconditions", case.preconditions.as_str()),
    ] {
        writeln!(out, "<dt>{name}</dt><dd>{}</dd>", text(value))?;
    }
    writeln!(
        out,
        "<dt>verdict</dt><dd>{} {}</dd>\n</dl>\n<h4>Steps</h4>\n<ol>",
        verdict_badge(case.verdict),
        text(&case.message)
    )?;
    for step in &case.steps {
        writeln!(out, "<li>{}</li>", text(step))?;
    }
    writeln!(out, "</ol>")?;
    writeln!(
        out,
        "<h4>Expected</h4>\n<pre>{}</pre>",
        text(&case.expected)
    )?;
    if case.expected_observation.is_some() || case.observed.is_some() {
        writeln!(out, "<div class=\"compare\">")?;
        for (label, value) in [
            ("Expected", &case.expected_observation),
            ("Observed", &case.observed),
        ] {
            writeln!(
                out,
                "<div><h4>{label}</h4><pre>{}</pre></div>",
                text(value.as_deref().unwrap_or("(not recorded)"))
            )?;
        }
        writeln!(out, "</div>")?;
    }
    if !case.evidence.is_empty() {
        writeln!(out, "<h4>Verdict from</h4>\n<ul class=\"evidence\">")?;
        for e in &case.evidence {
            writeln!(
                out,
                "<li><span class=\"source\">{}</span> at {:.1} s: {}</li>",
                text(&e.source),
                e.at_s,
                text(&e.what)
            )?;
        }
        writeln!(out, "</ul>")?;
    }
    if !case.timeline.marks.is_empty() {
        writeln!(out, "<h4>Timeline</h4>")?;
        write_timeline(out, &case.timeline)?;
    }
    let open = if case.verdict == Verdict::Fail {
        " open"
    } else {
        ""
    };
    writeln!(
        out,
        "<details{open}><summary>Frames ({})</summary>",
        case.frames.len()
    )?;
    if !case.frames.is_empty() {
        writeln!(
            out,
            "<table class=\"frames\">\n<tr><th>time</th><th>from</th><th>summary</th></tr>"
        )?;
        for frame in &case.frames {
            write_html_frame(out, frame)?;
        }
        writeln!(out, "</table>")?;
    }
    writeln!(out, "</details>")?;
    let files: Vec<(&str, &PathBuf)> = [("capture", &case.capture), ("keys", &case.keys)]
        .into_iter()
        .filter_map(|(label, path)| Some((label, path.as_ref()?)))
        .collect();
    if !files.is_empty() {
        write!(out, "<p>Files:")?;
        for (label, path) in files {
            write!(
                out,
                " {label} <a href=\"{}\">{}</a>",
                attr(&href(path)),
                text(&path.display().to_string())
            )?;
        }
        writeln!(out, "</p>")?;
    }
    writeln!(out, "</section>")
}

/// A case as an inline SVG against time: one lane for frames from the rig to the DUT, one for
/// the DUT's frames, one for instrument probes; the windows the verdict judged against shaded
/// across the frame lanes. Marks the verdict looked at are filled; a probe that did not hold is
/// red. Every mark carries its time and label as a tooltip.
fn write_timeline(out: &mut String, timeline: &Timeline) -> fmt::Result {
    const LEFT: f64 = 110.0;
    const WIDTH: f64 = 760.0;
    const LANES: [(Lane, &str, f64); 3] = [
        (Lane::ToDut, "rig → DUT", 34.0),
        (Lane::FromDut, "DUT → rig", 62.0),
        (Lane::Instrument, "instruments", 90.0),
    ];
    let span = timeline.span_s.max(1.0);
    let x = |t: f64| LEFT + (t.clamp(0.0, span) / span) * WIDTH;
    writeln!(
        out,
        "<svg class=\"timeline\" viewBox=\"0 0 {} 122\" role=\"img\" aria-label=\"timeline of the case\">",
        LEFT + WIDTH + 20.0
    )?;
    for w in &timeline.windows {
        let (x0, x1) = (x(w.from_s), x(w.to_s));
        writeln!(
            out,
            "<rect class=\"window\" x=\"{x0:.1}\" y=\"22\" width=\"{:.1}\" height=\"52\"><title>{} in [{:.0}, {:.0}] s</title></rect>",
            (x1 - x0).max(2.0),
            text(&w.label),
            w.from_s,
            w.to_s
        )?;
    }
    for (_, name, y) in LANES {
        writeln!(
            out,
            "<text class=\"lane\" x=\"4\" y=\"{:.0}\">{name}</text><line class=\"lane\" x1=\"{LEFT}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\"/>",
            y + 4.0,
            LEFT + WIDTH
        )?;
    }
    for m in &timeline.marks {
        let Some((_, _, y)) = LANES.iter().find(|(lane, _, _)| *lane == m.lane) else {
            continue;
        };
        let class = match (m.lane, m.holds, m.judged) {
            (Lane::Instrument, Some(false), _) => "probe failed",
            (Lane::Instrument, _, _) => "probe",
            (_, _, true) => "frame judged",
            _ => "frame",
        };
        let tip = format!("{:.1} s: {}", m.at_s, m.label);
        if m.lane == Lane::Instrument {
            let cx = x(m.at_s);
            writeln!(
                out,
                "<path class=\"{class}\" d=\"M{cx:.1} {:.1} l5 5 l-5 5 l-5 -5 z\"><title>{}</title></path>",
                y - 5.0,
                text(&tip)
            )?;
        } else {
            writeln!(
                out,
                "<circle class=\"{class}\" cx=\"{:.1}\" cy=\"{y}\" r=\"4\"><title>{}</title></circle>",
                x(m.at_s),
                text(&tip)
            )?;
        }
    }
    writeln!(
        out,
        "<text class=\"axis\" x=\"{LEFT}\" y=\"116\">0 s</text><text class=\"axis\" x=\"{}\" y=\"116\" text-anchor=\"end\">{:.0} s</text>\n</svg>",
        LEFT + WIDTH,
        span
    )
}

fn write_html_frame(out: &mut String, frame: &FrameRecord) -> fmt::Result {
    write!(
        out,
        "<tr><td>{}</td><td>{}</td><td><code>{}</code>",
        text(&frame.time),
        text(&frame.from),
        text(&frame.summary)
    )?;
    if let Some(zcl) = &frame.zcl {
        let pretty = serde_json::to_string_pretty(zcl).unwrap_or_else(|_| zcl.to_string());
        write!(
            out,
            "<details><summary>ZCL</summary><pre>{}</pre></details>",
            text(&pretty)
        )?;
    }
    writeln!(out, "</td></tr>")
}

/// The suites present in `results`, in order of first appearance.
fn suites(results: &[CaseResult]) -> Vec<Suite> {
    let mut suites = Vec::new();
    for case in results {
        if !suites.contains(&case.suite) {
            suites.push(case.suite);
        }
    }
    suites
}

fn run_properties(info: &RunInfo) -> Vec<(&'static str, &str)> {
    let mut p = vec![
        ("rig", info.rig.as_str()),
        ("rig_file", info.rig_file.as_str()),
        ("dut", info.dut.as_str()),
        ("radio", info.radio.as_str()),
    ];
    if let Some(mutant) = &info.mutant {
        p.push(("mutant", mutant.as_str()));
    }
    p.push(("hanrig_version", info.version.as_str()));
    p.push(("started", info.started.as_str()));
    p
}

/// The verdict's name, as in the JSON and as the HTML's CSS class.
fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::NotApplicable => "not-applicable",
        Verdict::Skipped => "skipped",
        Verdict::RigError => "rig-error",
    }
}

fn verdict_text(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::NotApplicable => "not applicable",
        Verdict::Skipped => "skipped",
        Verdict::RigError => "rig error",
    }
}

fn verdict_badge(v: Verdict) -> String {
    format!(
        "<span class=\"verdict {}\">{}</span>",
        verdict_class(v),
        verdict_text(v).to_uppercase()
    )
}

fn anchor(case: &CaseResult) -> String {
    format!("case-{}", case.id)
}

/// JUnit's `time`: seconds with millisecond precision.
fn seconds(ms: f64) -> String {
    format!("{:.3}", if ms.is_finite() { ms / 1000.0 } else { 0.0 })
}

/// `45 s`, `12:03 min`, `3:00:00 h`, `2 d 01:00:00`.
fn virtual_time(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, _) => format!("{m}:{s:02} min"),
        (0, _, _) => format!("{h}:{m:02}:{s:02} h"),
        _ => format!("{d} d {h:02}:{m:02}:{s:02}"),
    }
}

/// A relative path as a link target: every byte outside `A-Z a-z 0-9 - . _ ~ /`
/// percent-encoded, so no path can carry a scheme (`javascript:`), a query or a fragment.
fn href(path: &Path) -> String {
    let mut s = String::new();
    for b in path.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                s.push(char::from(b))
            }
            _ => s += &format!("%{b:02X}"),
        }
    }
    s
}

/// The case with its file paths made UTF-8 (lossily), so that it serialises.
fn with_utf8_paths(case: &CaseResult) -> Cow<'_, CaseResult> {
    let utf8 = |p: &Option<PathBuf>| p.as_ref().is_none_or(|p| p.to_str().is_some());
    if utf8(&case.capture) && utf8(&case.keys) {
        return Cow::Borrowed(case);
    }
    let lossy = |p: &Option<PathBuf>| {
        p.as_ref()
            .map(|p| PathBuf::from(p.to_string_lossy().into_owned()))
    };
    Cow::Owned(CaseResult {
        capture: lossy(&case.capture),
        keys: lossy(&case.keys),
        ..case.clone()
    })
}

/// Text escaped for XML 1.0 element content and HTML text.
fn text(s: &str) -> Escaped<'_> {
    Escaped {
        s,
        attribute: false,
    }
}

/// Text escaped for an XML or HTML attribute value in double quotes.
fn attr(s: &str) -> Escaped<'_> {
    Escaped { s, attribute: true }
}

/// Markup characters become references; characters XML 1.0 forbids (C0 controls other than
/// tab, newline and CR; U+FFFE, U+FFFF) become U+FFFD. CR is always a reference, and so are
/// tab and newline in attributes, so that parsers' whitespace normalisation keeps them.
struct Escaped<'a> {
    s: &'a str,
    attribute: bool,
}

impl Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.s.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                '\r' => f.write_str("&#13;")?,
                '\t' if self.attribute => f.write_str("&#9;")?,
                '\n' if self.attribute => f.write_str("&#10;")?,
                '\t' | '\n' => f.write_char(c)?,
                '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => f.write_char('\u{fffd}')?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}
