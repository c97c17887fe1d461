//! Conformance reports: JUnit XML that parses and counts right, HTML that no frame content can
//! inject markup into, JSON that round-trips.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use hanrig_conformance::model::{
    CaseResult, Evidence, FrameRecord, Lane, Mark, RunInfo, Suite, Timeline, Verdict, Window,
};
use hanrig_conformance::report::{html, json, junit_xml, write_reports};
use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use serde_json::json as j;

/// Markup, quotes, an ampersand and an ESC (which XML 1.0 forbids), as a DUT could send them.
const HOSTILE: &str = "<script>alert('x')</script> & \"q\" \u{1b}[31m";

fn info() -> RunInfo {
    RunInfo {
        rig: "bench-1 & co".into(),
        rig_file: "rigs/bench.toml".into(),
        dut: "Acme IHD <v2>".into(),
        radio: "simulated medium".into(),
        mutant: Some("drlc-ignores-cancel".into()),
        version: "0.1.0".into(),
        started: "2025-01-02T03:04:05Z".into(),
    }
}

fn case(id: &str, suite: Suite, title: &str, verdict: Verdict) -> CaseResult {
    CaseResult {
        id: id.into(),
        suite,
        title: title.into(),
        clause: "SE 1.0 D.2.2.3.1".into(),
        preconditions: "DUT joined to the rig's ESI".into(),
        steps: vec!["Send Load Control Event".into(), "Wait 60 s".into()],
        expected: "Report Event Status 0x01 within 5 s".into(),
        verdict,
        message: String::new(),
        expected_observation: None,
        observed: None,
        wall_ms: 12.5,
        virtual_seconds: 3725,
        frames: Vec::new(),
        evidence: Vec::new(),
        timeline: Timeline::default(),
        capture: Some(PathBuf::from(format!("{id}/capture.pcapng"))),
        keys: Some(PathBuf::from(format!("{id}/keys"))),
    }
}

/// Two suites, interleaved; one case of every verdict; the failure full of hostile text.
fn results() -> Vec<CaseResult> {
    let mut fail = case(
        "DEV-DRLC-004",
        Suite::Device,
        "Cancel <immediately>",
        Verdict::Fail,
    );
    fail.message = format!("no Report Event Status 0x06:\n{HOSTILE}");
    fail.expected_observation = Some(format!("expected {HOSTILE}"));
    fail.observed = Some(format!("observed\n{HOSTILE}"));
    fail.wall_ms = 1500.0;
    fail.frames = vec![FrameRecord {
        t_us: 1_700_000_000_000_000,
        time: "2023-11-14T22:13:20Z".into(),
        from: "esi <0x0000>".into(),
        summary: format!("MAC Data | NWK Data | APS Data | ZCL DRLC {HOSTILE}"),
        zcl: Some(j!({"command": "load-control-event", "note": HOSTILE})),
    }];
    let mut na = case(
        "DEV-MSG-002",
        Suite::Device,
        "Display message",
        Verdict::NotApplicable,
    );
    na.message = "the DUT is not an in-home display".into();
    na.capture = None;
    na.keys = None;
    let mut rig = case(
        "MTR-KE-003",
        Suite::Meter,
        "Key establishment",
        Verdict::RigError,
    );
    rig.message = "radio /dev/ttyACM0 did not answer".into();
    vec![
        case(
            "DEV-PRICE-001",
            Suite::Device,
            "Publish Price",
            Verdict::Pass,
        ),
        case("MTR-MET-001", Suite::Meter, "Read summation", Verdict::Pass),
        fail,
        rig,
        na,
    ]
}

/// A parsed XML element: enough of a DOM to assert on.
#[derive(Debug, Default)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Element>,
    text: String,
}

impl Element {
    fn attr(&self, name: &str) -> &str {
        let found = self.attrs.iter().find(|(k, _)| k == name);
        &found
            .unwrap_or_else(|| panic!("<{}> has no {name}", self.name))
            .1
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn one(&self, name: &str) -> &Element {
        let found: Vec<&Element> = self.children.iter().filter(|c| c.name == name).collect();
        assert_eq!(found.len(), 1, "<{}> has one <{name}>", self.name);
        found[0]
    }
}

fn element(start: &BytesStart<'_>) -> Element {
    Element {
        name: String::from_utf8(start.name().as_ref().to_vec()).unwrap(),
        attrs: start
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                let key = String::from_utf8(a.key.as_ref().to_vec()).unwrap();
                (key, a.unescape_value().unwrap().into_owned())
            })
            .collect(),
        ..Element::default()
    }
}

/// Parses `xml` with quick-xml (end names checked, every reference resolved) into its root.
fn parse_xml(xml: &str) -> Element {
    let mut reader = Reader::from_str(xml);
    let mut stack = vec![Element::default()];
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => stack.push(element(&e)),
            Event::Empty(e) => stack.last_mut().unwrap().children.push(element(&e)),
            Event::End(_) => {
                let done = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(done);
            }
            Event::Text(t) => stack.last_mut().unwrap().text += &t.decode().unwrap(),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().unwrap() {
                    Some(c) => c.to_string(),
                    None => resolve_predefined_entity(&r.decode().unwrap())
                        .unwrap()
                        .to_string(),
                };
                stack.last_mut().unwrap().text += &resolved;
            }
            Event::CData(_) => panic!("the report uses no CDATA"),
            Event::Eof => break,
            _ => {}
        }
    }
    let mut document = stack.pop().unwrap();
    assert!(stack.is_empty(), "every element closed");
    assert_eq!(document.children.len(), 1, "one root element");
    document.children.pop().unwrap()
}

fn forbidden_in_xml_1_0(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// `HOSTILE` as it reads back from the XML: the ESC replaced, everything else intact.
fn hostile_read_back() -> String {
    HOSTILE.replace('\u{1b}', "\u{fffd}")
}

#[test]
fn junit_parses_and_counts_each_suites_verdicts() {
    let root = parse_xml(&junit_xml(&info(), &results()));
    assert_eq!(root.name, "testsuites");
    assert_eq!(
        [root.attr("tests"), root.attr("failures")],
        ["5", "1"],
        "root totals"
    );
    assert_eq!([root.attr("errors"), root.attr("skipped")], ["1", "1"]);

    let suites: Vec<&Element> = root.all("testsuite").collect();
    assert_eq!(suites.len(), 2);
    let device = suites[0];
    assert_eq!(device.attr("name"), "device");
    assert_eq!(
        ["tests", "failures", "errors", "skipped", "time"].map(|a| device.attr(a)),
        ["3", "1", "0", "1", "1.525"]
    );
    let meter = suites[1];
    assert_eq!(meter.attr("name"), "meter");
    assert_eq!(
        ["tests", "failures", "errors", "skipped", "time"].map(|a| meter.attr(a)),
        ["2", "0", "1", "0", "0.025"]
    );

    let names: Vec<&str> = device.all("testcase").map(|c| c.attr("name")).collect();
    assert_eq!(
        names,
        [
            "DEV-PRICE-001 Publish Price",
            "DEV-DRLC-004 Cancel <immediately>",
            "DEV-MSG-002 Display message"
        ]
    );
    assert!(
        device
            .all("testcase")
            .all(|c| c.attr("classname") == "hanrig.device")
    );
    assert!(
        meter
            .all("testcase")
            .all(|c| c.attr("classname") == "hanrig.meter")
    );
    let drlc = device.all("testcase").nth(1).unwrap();
    assert_eq!(drlc.attr("time"), "1.500");
}

#[test]
fn junit_properties_describe_the_run() {
    let root = parse_xml(&junit_xml(&info(), &results()));
    for suite in root.all("testsuite") {
        let props: Vec<(&str, &str)> = suite
            .one("properties")
            .all("property")
            .map(|p| (p.attr("name"), p.attr("value")))
            .collect();
        assert_eq!(
            props,
            [
                ("rig", "bench-1 & co"),
                ("rig_file", "rigs/bench.toml"),
                ("dut", "Acme IHD <v2>"),
                ("radio", "simulated medium"),
                ("mutant", "drlc-ignores-cancel"),
                ("hanrig_version", "0.1.0"),
                ("started", "2025-01-02T03:04:05Z"),
            ]
        );
    }
}

#[test]
fn junit_failure_error_and_skipped_carry_the_case_text() {
    let xml = junit_xml(&info(), &results());
    // A newline in an attribute is a reference, or parsers normalise it to a space.
    assert!(xml.contains(r#"<failure message="no Report Event Status 0x06:&#10;&lt;script&gt;"#));
    let root = parse_xml(&xml);
    let cases: Vec<&Element> = root
        .all("testsuite")
        .flat_map(|s| s.all("testcase"))
        .collect();
    let by_id = |id: &str| {
        *cases
            .iter()
            .find(|c| c.attr("name").starts_with(id))
            .unwrap()
    };

    let failure = by_id("DEV-DRLC-004").one("failure");
    let hostile = hostile_read_back();
    assert_eq!(
        failure.attr("message"),
        format!("no Report Event Status 0x06:\n{hostile}")
    );
    assert_eq!(
        failure.text,
        format!("Expected:\nexpected {hostile}\n\nObserved:\nobserved\n{hostile}")
    );

    let error = by_id("MTR-KE-003").one("error");
    assert_eq!(error.attr("message"), "radio /dev/ttyACM0 did not answer");
    let skipped = by_id("DEV-MSG-002").one("skipped");
    assert_eq!(skipped.attr("message"), "the DUT is not an in-home display");

    let pass = by_id("DEV-PRICE-001");
    for verdict in ["failure", "error", "skipped"] {
        assert_eq!(pass.all(verdict).count(), 0, "a pass has no <{verdict}>");
    }
}

#[test]
fn junit_system_out_gives_clause_steps_frames_and_capture() {
    let root = parse_xml(&junit_xml(&info(), &results()));
    let drlc = root.all("testsuite").next().unwrap().all("testcase").nth(1);
    let out = &drlc.unwrap().one("system-out").text;
    for line in [
        "Clause: SE 1.0 D.2.2.3.1",
        "Preconditions: DUT joined to the rig's ESI",
        "  1. Send Load Control Event",
        "  2. Wait 60 s",
        "Expected: Report Event Status 0x01 within 5 s",
        "Frames (1):",
        &format!(
            "  2023-11-14T22:13:20Z esi <0x0000>: MAC Data | NWK Data | APS Data | ZCL DRLC {}",
            hostile_read_back()
        ),
        "Capture: DEV-DRLC-004/capture.pcapng (relative to the report)",
        "Keys: DEV-DRLC-004/keys (relative to the report)",
    ] {
        assert!(out.lines().any(|l| l == line), "{line:?} not in\n{out}");
    }
}

#[test]
fn junit_of_no_cases_is_an_empty_testsuites() {
    let root = parse_xml(&junit_xml(&info(), &[]));
    assert_eq!(root.attr("tests"), "0");
    assert_eq!(root.children.len(), 0);
}

#[test]
fn reports_contain_no_character_xml_1_0_forbids() {
    let (info, results) = (info(), results());
    for report in [junit_xml(&info, &results), html(&info, &results)] {
        assert!(!report.chars().any(forbidden_in_xml_1_0));
    }
}

#[test]
fn html_escapes_frame_and_case_text_so_no_markup_gets_through() {
    let page = html(&info(), &results());
    assert!(!page.contains("<script"), "no script element");
    assert!(!page.contains("<immediately"));
    let escaped =
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot; \u{fffd}[31m";
    assert!(
        page.contains(&format!("ZCL DRLC {escaped}")),
        "frame summary"
    );
    assert!(page.contains(&format!("observed\n{escaped}")), "observed");
    assert!(page.contains("Cancel &lt;immediately&gt;"), "title");
    assert!(page.contains("Acme IHD &lt;v2&gt;"), "run info");
    // The ZCL JSON, pretty-printed and escaped, in a collapsible.
    assert!(
        page.contains(
            "<details><summary>ZCL</summary><pre>{\n  &quot;command&quot;: &quot;load-control-event&quot;,\n  \
             &quot;note&quot;: &quot;&lt;script&gt;"
        ),
        "{page}"
    );
}

#[test]
fn html_says_what_each_verdict_came_from_and_draws_the_case_against_time() {
    let mut fail = case(
        "DEV-DRLC-028",
        Suite::Device,
        "A cancel restores the load",
        Verdict::Fail,
    );
    fail.evidence = vec![
        Evidence {
            source: "air".into(),
            at_s: 660.0,
            what: "Report Event Status <cancelled>".into(),
        },
        Evidence {
            source: "relay-sense line".into(),
            at_s: 661.0,
            what: "is the load output energised? no: de-energised".into(),
        },
    ];
    fail.timeline = Timeline {
        span_s: 7200.0,
        marks: vec![
            Mark {
                at_s: 60.0,
                lane: Lane::ToDut,
                label: "load_control_event".into(),
                judged: false,
                holds: None,
            },
            Mark {
                at_s: 660.0,
                lane: Lane::FromDut,
                label: "report_event_status <x>".into(),
                judged: true,
                holds: None,
            },
            Mark {
                at_s: 661.0,
                lane: Lane::Instrument,
                label: "is the load output energised?".into(),
                judged: true,
                holds: Some(false),
            },
        ],
        windows: vec![Window {
            from_s: 660.0,
            to_s: 661.0,
            label: "Cancelled of event 28".into(),
        }],
    };
    let page = html(&info(), &[fail]);
    let section = section(&page, "DEV-DRLC-028");
    assert!(section.contains("<h4>Verdict from</h4>"));
    assert!(section.contains("<span class=\"source\">relay-sense line</span> at 661.0 s: is the load output energised? no: de-energised"));
    assert!(
        section.contains("Report Event Status &lt;cancelled&gt;"),
        "escaped"
    );
    assert!(section.contains("<svg class=\"timeline\""));
    // One mark per frame and probe, the judged frame filled, the failed probe red.
    assert_eq!(section.matches("<circle class=\"frame\"").count(), 1);
    assert_eq!(section.matches("<circle class=\"frame judged\"").count(), 1);
    assert_eq!(section.matches("<path class=\"probe failed\"").count(), 1);
    assert!(section.contains("<title>660.0 s: report_event_status &lt;x&gt;</title>"));
    // The window at 660–661 s of a 7200 s case: x = 110 + 660/7200 × 760.
    assert!(
        section.contains("<rect class=\"window\" x=\"179.7\""),
        "{section}"
    );
    assert!(section.contains("Cancelled of event 28 in [660, 661] s"));
}

#[test]
fn html_is_self_contained() {
    let page = html(&info(), &results());
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<style>"));
    for external in [
        "<script", "<link", " src=", "url(", "http:", "https:", "@import",
    ] {
        assert!(!page.contains(external), "{external}");
    }
}

/// The part of the page that is `id`'s section.
fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("<section class=\"case\" id=\"case-{id}\">"))
        .unwrap();
    let len = page[start..].find("</section>").unwrap();
    &page[start..start + len]
}

#[test]
fn html_has_one_anchored_section_per_case_linked_from_the_table() {
    let page = html(&info(), &results());
    assert_eq!(page.matches("<section class=\"case\"").count(), 5);
    for case in results() {
        let id = &case.id;
        assert_eq!(page.matches(&format!(" id=\"case-{id}\"")).count(), 1);
        assert_eq!(page.matches(&format!("href=\"#case-{id}\"")).count(), 1);
        let s = section(&page, id);
        assert!(s.contains("<dt>clause</dt><dd>SE 1.0 D.2.2.3.1</dd>"));
        assert!(s.contains("<ol>\n<li>Send Load Control Event</li>\n<li>Wait 60 s</li>\n</ol>"));
        assert!(s.contains("<pre>Report Event Status 0x01 within 5 s</pre>"));
    }
    // The summary: per suite and overall.
    assert!(page.contains(
        "<tr><th>device</th><td class=\"num\">1</td><td class=\"num\">1</td>\
         <td class=\"num\">1</td><td class=\"num\">0</td><td class=\"num\">0</td><td class=\"num\">3</td></tr>"
    ));
    assert!(page.contains(
        "<tr><th>all</th><td class=\"num\">2</td><td class=\"num\">1</td>\
         <td class=\"num\">1</td><td class=\"num\">0</td><td class=\"num\">1</td><td class=\"num\">5</td></tr>"
    ));
    // The case table: verdict in colour, wall ms and virtual time.
    assert!(page.contains(
        "<td><span class=\"verdict rig-error\">RIG ERROR</span></td>\
         <td class=\"num\">12.5</td><td class=\"num\">1:02:05 h</td>"
    ));
}

#[test]
fn html_shows_expected_beside_observed_only_on_failure() {
    let page = html(&info(), &results());
    let fail = section(&page, "DEV-DRLC-004");
    assert!(fail.contains(
        "<dt>verdict</dt><dd><span class=\"verdict fail\">FAIL</span> no Report Event Status 0x06:\n&lt;script&gt;"
    ));
    assert!(fail.contains("<div class=\"compare\">"));
    assert!(fail.contains("<div><h4>Expected</h4><pre>expected &lt;script&gt;"));
    assert!(fail.contains("<div><h4>Observed</h4><pre>observed\n&lt;script&gt;"));
    assert!(fail.contains("<details open><summary>Frames (1)</summary>"));
    assert!(fail.contains("<td>2023-11-14T22:13:20Z</td><td>esi &lt;0x0000&gt;</td>"));
    let pass = section(&page, "DEV-PRICE-001");
    assert!(!pass.contains("compare"));
    assert!(pass.contains("<details><summary>Frames (0)</summary>"));
}

#[test]
fn html_links_capture_and_keys_with_percent_encoded_paths() {
    let mut results = results();
    results[0].capture = Some(PathBuf::from("odd dir/javascript:alert(1)\".pcapng"));
    let page = html(&info(), &results);
    let price = section(&page, "DEV-PRICE-001");
    assert!(price.contains(
        "capture <a href=\"odd%20dir/javascript%3Aalert%281%29%22.pcapng\">\
         odd dir/javascript:alert(1)&quot;.pcapng</a>"
    ));
    assert!(price.contains("keys <a href=\"DEV-PRICE-001/keys\">DEV-PRICE-001/keys</a>"));
    let drlc = section(&page, "DEV-DRLC-004");
    assert!(drlc.contains("<a href=\"DEV-DRLC-004/capture.pcapng\">"));
    assert!(!section(&page, "DEV-MSG-002").contains("<a href"));
}

#[test]
fn json_round_trips_with_summary_counts() {
    let text = json(&info(), &results());
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        value["summary"],
        j!({"passed": 2, "failed": 1, "not_applicable": 1, "skipped": 0, "rig_errors": 1, "total": 5})
    );
    assert_eq!(value["run"]["mutant"], "drlc-ignores-cancel");
    assert_eq!(value["run"]["rig"], "bench-1 & co");
    let cases = value["cases"].as_array().unwrap();
    let verdicts: Vec<&str> = cases
        .iter()
        .map(|c| c["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(
        verdicts,
        ["pass", "pass", "fail", "rig-error", "not-applicable"]
    );
    // JSON keeps every character, the ESC included.
    assert_eq!(cases[2]["observed"], format!("observed\n{HOSTILE}"));
    assert_eq!(cases[2]["frames"][0]["zcl"]["note"], HOSTILE);
    assert_eq!(cases[2]["capture"], "DEV-DRLC-004/capture.pcapng");
    assert!(text.contains("\n  \"run\": {\n"), "pretty-printed");
}

#[test]
fn write_reports_creates_the_directory_and_writes_the_three_reports() {
    let base = std::env::temp_dir().join(format!("hanrig-report-{}", std::process::id()));
    let dir = base.join("nested/run");
    let (info, results) = (info(), results());
    write_reports(&dir, &info, &results).unwrap();
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    assert_eq!(read("report.xml"), junit_xml(&info, &results));
    assert_eq!(read("report.json"), json(&info, &results));
    assert_eq!(read("report.html"), html(&info, &results));
    std::fs::remove_dir_all(&base).unwrap();
}
