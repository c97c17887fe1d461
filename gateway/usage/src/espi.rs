//! Green Button: NAESB REQ.21 ESPI usage as an Atom feed.
//!
//! One feed per meter: its UsagePoint (electricity), the Texas LocalTimeParameters, and per
//! channel a MeterReading, its ReadingType (15-minute deltas in Wh, forward for consumption,
//! reverse for surplus generation) and one IntervalBlock per local day. Resources are separate
//! entries joined by Atom links, each typed, as readers such as `greenbutton-objects` require;
//! times are UTC Unix seconds, so the repeated fall-back hour is two distinct hours (DST is
//! described by LocalTimeParameters, never baked into the times).

use std::fmt::Write;

use uuid::Uuid;

use crate::day::{Day, rfc3339};
use crate::{Channel, Interval, Quality};

/// Texas' LocalTimeParameters: UTC−6, one hour of DST from the second Sunday of March at 02:00
/// (rule `360E2000`) to the first Sunday of November at 02:00 (`B40E2000`).
pub const TEXAS_TZ_OFFSET: i32 = -21_600;
/// DST start rule: month 3, day-of-month 8 onwards, Sunday, 02:00 (bitmap, see espi.xsd
/// `DstRuleType`).
pub const DST_START_RULE: &str = "360E2000";
/// DST end rule: month 11, first Sunday, 02:00.
pub const DST_END_RULE: &str = "B40E2000";

/// What the feed says of its meter.
#[derive(Debug, Clone)]
pub struct Meter<'a> {
    /// The ESIID.
    pub esiid: &'a str,
    /// A title for people (the premise's address, or the ESIID).
    pub title: &'a str,
}

fn id(esiid: &str, resource: &str) -> String {
    let name = format!("hanrig:usage:{esiid}:{resource}");
    format!(
        "urn:uuid:{}",
        Uuid::new_v5(&Uuid::NAMESPACE_URL, name.as_bytes())
    )
}

/// Escapes text for XML content and attributes.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

struct Entry<'a> {
    id: String,
    links: Vec<(&'static str, String, &'static str)>,
    title: &'a str,
    content: String,
}

fn entry(out: &mut String, e: &Entry<'_>, stamp: &str) {
    let _ = writeln!(out, "  <entry>\n    <id>{}</id>", e.id);
    for (rel, href, ty) in &e.links {
        let _ = writeln!(
            out,
            "    <link rel=\"{rel}\" href=\"{}\" type=\"{ty}\"/>",
            esc(href)
        );
    }
    let _ = writeln!(
        out,
        "    <title>{}</title>\n    <content>\n{}    </content>\n    <published>{stamp}</published>\n    <updated>{stamp}</updated>\n  </entry>",
        esc(e.title),
        e.content
    );
}

/// The feed of `meter`'s `intervals` (any order, both channels), generated at `now` (Unix
/// seconds).
pub fn feed(meter: &Meter<'_>, intervals: &[Interval], now: i64) -> String {
    let stamp = rfc3339(now);
    let base = format!("/espi/1_1/resource/RetailCustomer/{}", meter.esiid);
    let up = format!("{base}/UsagePoint/1");
    let ltp = "/espi/1_1/resource/LocalTimeParameters/1".to_string();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n  <id>{}</id>\n  <title>Green Button usage, ESIID {}</title>\n  <updated>{stamp}</updated>\n  <link rel=\"self\" href=\"{}/UsagePoint\" type=\"espi-feed/UsagePoint\"/>",
        id(meter.esiid, "feed"),
        esc(meter.esiid),
        esc(&base)
    );
    let espi = |body: String| format!("      {body}\n");
    entry(
        &mut out,
        &Entry {
            id: id(meter.esiid, "UsagePoint"),
            links: vec![
                ("self", up.clone(), "espi-entry/UsagePoint"),
                ("up", format!("{base}/UsagePoint"), "espi-feed/UsagePoint"),
                (
                    "related",
                    format!("{up}/MeterReading"),
                    "espi-feed/MeterReading",
                ),
                ("related", ltp.clone(), "espi-entry/LocalTimeParameters"),
            ],
            title: meter.title,
            content: espi(
                "<UsagePoint xmlns=\"http://naesb.org/espi\"><ServiceCategory><kind>0</kind></ServiceCategory></UsagePoint>"
                    .into(),
            ),
        },
        &stamp,
    );
    entry(
        &mut out,
        &Entry {
            id: id(meter.esiid, "LocalTimeParameters"),
            links: vec![
                ("self", ltp, "espi-entry/LocalTimeParameters"),
                (
                    "up",
                    "/espi/1_1/resource/LocalTimeParameters".into(),
                    "espi-feed/LocalTimeParameters",
                ),
            ],
            title: "Texas (America/Chicago)",
            content: espi(format!(
                "<LocalTimeParameters xmlns=\"http://naesb.org/espi\"><dstEndRule>{DST_END_RULE}</dstEndRule><dstOffset>3600</dstOffset><dstStartRule>{DST_START_RULE}</dstStartRule><tzOffset>{TEXAS_TZ_OFFSET}</tzOffset></LocalTimeParameters>"
            )),
        },
        &stamp,
    );
    let mut sorted: Vec<&Interval> = intervals.iter().collect();
    sorted.sort_by_key(|i| (i.channel, i.start));
    for (n, channel) in Channel::ALL.into_iter().enumerate() {
        let of: Vec<&Interval> = sorted
            .iter()
            .copied()
            .filter(|i| i.channel == channel)
            .collect();
        if of.is_empty() {
            continue;
        }
        let n = n + 1;
        let reading = format!("{up}/MeterReading/{n}");
        let reading_type = format!("/espi/1_1/resource/ReadingType/{}-{n}", meter.esiid);
        entry(
            &mut out,
            &Entry {
                id: id(meter.esiid, &format!("MeterReading/{n}")),
                links: vec![
                    ("self", reading.clone(), "espi-entry/MeterReading"),
                    ("up", format!("{up}/MeterReading"), "espi-feed/MeterReading"),
                    (
                        "related",
                        format!("{reading}/IntervalBlock"),
                        "espi-feed/IntervalBlock",
                    ),
                    ("related", reading_type.clone(), "espi-entry/ReadingType"),
                ],
                title: match channel {
                    Channel::Consumption => "Fifteen-minute electricity consumption",
                    Channel::Generation => "Fifteen-minute surplus generation",
                },
                content: espi("<MeterReading xmlns=\"http://naesb.org/espi\"/>".into()),
            },
            &stamp,
        );
        let flow = match channel {
            Channel::Consumption => 1,
            Channel::Generation => 19,
        };
        entry(
            &mut out,
            &Entry {
                id: id(meter.esiid, &format!("ReadingType/{n}")),
                links: vec![
                    ("self", reading_type, "espi-entry/ReadingType"),
                    (
                        "up",
                        "/espi/1_1/resource/ReadingType".into(),
                        "espi-feed/ReadingType",
                    ),
                ],
                title: "Energy per 15 minutes, Wh",
                content: espi(format!(
                    "<ReadingType xmlns=\"http://naesb.org/espi\"><accumulationBehaviour>4</accumulationBehaviour><commodity>1</commodity><dataQualifier>12</dataQualifier><flowDirection>{flow}</flowDirection><intervalLength>900</intervalLength><kind>12</kind><powerOfTenMultiplier>0</powerOfTenMultiplier><timeAttribute>0</timeAttribute><uom>72</uom></ReadingType>"
                )),
            },
            &stamp,
        );
        // One block per local day.
        let mut days: Vec<(Day, Vec<&Interval>)> = Vec::new();
        for i in of {
            let Ok(day) = Day::containing(i.start) else {
                continue;
            };
            match days.last_mut() {
                Some((d, list)) if *d == day => list.push(i),
                _ => days.push((day, vec![i])),
            }
        }
        for (day, list) in days {
            let mut body = format!(
                "<IntervalBlock xmlns=\"http://naesb.org/espi\"><interval><duration>{}</duration><start>{}</start></interval>",
                day.end() - day.start(),
                day.start()
            );
            for i in list {
                let quality = match i.quality {
                    Quality::Actual => "",
                    // ESPI QualityOfReading 8: estimated using historical data.
                    Quality::Estimated => "<ReadingQuality><quality>8</quality></ReadingQuality>",
                };
                let _ = write!(
                    body,
                    "<IntervalReading>{quality}<timePeriod><duration>900</duration><start>{}</start></timePeriod><value>{}</value></IntervalReading>",
                    i.start, i.wh
                );
            }
            body.push_str("</IntervalBlock>");
            let block = format!("{reading}/IntervalBlock/{}", day.date().strftime("%Y%m%d"));
            entry(
                &mut out,
                &Entry {
                    id: id(meter.esiid, &format!("IntervalBlock/{n}/{day}")),
                    links: vec![
                        ("self", block, "espi-entry/IntervalBlock"),
                        (
                            "up",
                            format!("{reading}/IntervalBlock"),
                            "espi-feed/IntervalBlock",
                        ),
                    ],
                    title: "",
                    content: espi(body),
                },
                &stamp,
            );
        }
    }
    out.push_str("</feed>\n");
    out
}
