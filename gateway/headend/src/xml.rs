//! The XML both SOAP styles ride on: a small element tree read with quick-xml's
//! namespace-aware reader and written with its escaping, SOAP 1.1 envelopes, and xsd:dateTime.
//!
//! Parsing keeps each element's path from the root, so an error names what is missing where
//! (`Envelope/Body/RequestMessage/Header/Verb is missing`). Element names are matched by
//! local name inside a document whose envelope and message namespaces have been checked.
//!
//! Every document comes from outside (a head-end's answer, a callback anyone can post), so
//! reading is bounded: at most [`MAX_DOCUMENT_BYTES`], [`MAX_DEPTH`] levels and
//! [`MAX_ELEMENTS`] elements, names of at most [`MAX_NAME_BYTES`]. A path is a link to its
//! parent's, never a copy, so the tree costs memory in proportion to the document and a
//! document over a limit is refused as soon as the reader reaches it.

use quick_xml::escape::escape;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use std::sync::Arc;

/// The largest document read (a head-end's answer or a callback body), bytes.
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;
/// The deepest nesting read: SOAP envelopes of both styles stay under 12 levels.
pub const MAX_DEPTH: usize = 32;
/// The most elements one document may hold.
pub const MAX_ELEMENTS: usize = 200_000;
/// The longest element or attribute name, bytes.
pub const MAX_NAME_BYTES: usize = 128;

/// SOAP 1.1's envelope namespace.
pub const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Not well-formed XML.
    #[error("not well-formed XML: {0}")]
    Malformed(String),
    /// A required element or attribute is absent.
    #[error("{0} is missing")]
    Missing(String),
    /// A value that does not read as what it must be.
    #[error("{path}: {value:?} {reason}")]
    Invalid {
        /// Where.
        path: String,
        /// What was there.
        value: String,
        /// What it must be.
        reason: String,
    },
    /// A document over one of the reader's limits.
    #[error("document refused: {0}")]
    TooLarge(String),
    /// A well-formed document of another kind.
    #[error("{path}: expected {expected}, found {found}")]
    Unexpected {
        /// Where.
        path: String,
        /// What this parser reads.
        expected: String,
        /// What the document holds.
        found: String,
    },
}

/// Where an element is: its local name and its parent's place (shared, not copied).
#[derive(Debug, Default)]
pub(crate) struct Place {
    parent: Option<Arc<Place>>,
    name: String,
}

/// A parsed element: resolved namespace, local name, attributes (local names), children, text.
#[derive(Debug, Clone, Default)]
pub(crate) struct Element {
    pub ns: String,
    place: Arc<Place>,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    /// Its local name.
    pub fn name(&self) -> &str {
        &self.place.name
    }

    /// Its path from the root, e.g. `Envelope/Body/CreatedEndDeviceEvents`.
    pub fn path(&self) -> String {
        let mut names = Vec::new();
        let mut at = Some(&self.place);
        while let Some(place) = at {
            names.push(place.name.as_str());
            at = place.parent.as_ref();
        }
        names.reverse();
        names.join("/")
    }

    /// The first child called `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name() == name)
    }

    /// The first child called `name`, or an error naming it.
    pub fn req(&self, name: &str) -> Result<&Element, XmlError> {
        self.child(name)
            .ok_or_else(|| XmlError::Missing(format!("{}/{name}", self.path())))
    }

    /// Every child called `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name() == name)
    }

    /// The trimmed text of child `name`, or an error naming it.
    pub fn text_of(&self, name: &str) -> Result<&str, XmlError> {
        Ok(self.req(name)?.text.trim())
    }

    /// The trimmed text of child `name`, if present.
    pub fn opt_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }

    /// Attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Attribute `name`, or an error naming it.
    pub fn req_attr(&self, name: &str) -> Result<&str, XmlError> {
        self.attr(name)
            .ok_or_else(|| XmlError::Missing(format!("{}/@{name}", self.path())))
    }

    /// The error for a value of child or attribute `what` that does not read.
    pub fn invalid(&self, what: &str, value: &str, reason: &str) -> XmlError {
        XmlError::Invalid {
            path: format!("{}/{what}", self.path()),
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }

    /// The first child element (the operation in a SOAP body).
    pub fn first(&self) -> Result<&Element, XmlError> {
        self.children
            .first()
            .ok_or_else(|| XmlError::Missing(format!("{}/*", self.path())))
    }

    /// Checks this element's namespace.
    pub fn expect_ns(&self, ns: &str) -> Result<(), XmlError> {
        if self.ns == ns {
            Ok(())
        } else {
            Err(XmlError::Unexpected {
                path: self.path(),
                expected: format!("namespace {ns}"),
                found: format!("namespace {:?}", self.ns),
            })
        }
    }
}

/// Reads `xml` into a tree (comments, processing instructions and the declaration skipped).
pub(crate) fn parse(xml: &str) -> Result<Element, XmlError> {
    if xml.len() > MAX_DOCUMENT_BYTES {
        return Err(XmlError::TooLarge(format!(
            "{} bytes, over the limit of {MAX_DOCUMENT_BYTES}",
            xml.len()
        )));
    }
    let mut reader = NsReader::from_str(xml);
    let malformed = |e: &dyn std::fmt::Display| XmlError::Malformed(e.to_string());
    let mut stack: Vec<Element> = Vec::new();
    let mut elements = 0usize;
    loop {
        let (resolved, event) = reader.read_resolved_event().map_err(|e| malformed(&e))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let ns = match resolved {
                    ResolveResult::Bound(ns) => String::from_utf8_lossy(ns.as_ref()).into_owned(),
                    ResolveResult::Unbound => String::new(),
                    ResolveResult::Unknown(p) => {
                        return Err(XmlError::Malformed(format!(
                            "undeclared namespace prefix {:?}",
                            String::from_utf8_lossy(&p)
                        )));
                    }
                };
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(XmlError::TooLarge(format!(
                        "more than {MAX_ELEMENTS} elements"
                    )));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooLarge(format!(
                        "elements nested deeper than {MAX_DEPTH} levels (at byte {})",
                        reader.buffer_position()
                    )));
                }
                if e.name().as_ref().len() > MAX_NAME_BYTES {
                    return Err(XmlError::TooLarge(format!(
                        "an element name longer than {MAX_NAME_BYTES} bytes (at byte {})",
                        reader.buffer_position()
                    )));
                }
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let place = Arc::new(Place {
                    parent: stack.last().map(|p| Arc::clone(&p.place)),
                    name,
                });
                let mut attrs = Vec::new();
                for a in e.attributes() {
                    let a = a.map_err(|e| malformed(&e))?;
                    if a.key.as_ref().len() > MAX_NAME_BYTES {
                        return Err(XmlError::TooLarge(format!(
                            "an attribute name longer than {MAX_NAME_BYTES} bytes"
                        )));
                    }
                    if a.key.as_namespace_binding().is_some() {
                        continue;
                    }
                    let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
                    let value = a
                        .decode_and_unescape_value(reader.decoder())
                        .map_err(|e| malformed(&e))?
                        .into_owned();
                    attrs.push((key, value));
                }
                let element = Element {
                    ns,
                    place,
                    attrs,
                    ..Element::default()
                };
                if matches!(event, Event::Empty(_)) {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(element),
                        None => return Ok(element),
                    }
                } else {
                    stack.push(element);
                }
            }
            Event::End(_) => {
                let done = stack
                    .pop()
                    .ok_or_else(|| XmlError::Malformed("unbalanced end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Ok(done),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    let text = t.xml_content().map_err(|e| malformed(&e))?;
                    top.text.push_str(&text);
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    let name = r.decode().map_err(|e| malformed(&e))?;
                    let ch = match name.as_ref() {
                        "lt" => "<".to_string(),
                        "gt" => ">".to_string(),
                        "amp" => "&".to_string(),
                        "apos" => "'".to_string(),
                        "quot" => "\"".to_string(),
                        other => match r.resolve_char_ref().map_err(|e| malformed(&e))? {
                            Some(c) => c.to_string(),
                            None => {
                                return Err(XmlError::Malformed(format!(
                                    "unknown entity &{other};"
                                )));
                            }
                        },
                    };
                    top.text.push_str(&ch);
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&c));
                }
            }
            Event::Eof => {
                return Err(XmlError::Malformed(
                    "the document ends before its root element does".into(),
                ));
            }
            _ => {}
        }
    }
}

/// An element to write.
#[derive(Debug, Clone)]
pub(crate) struct El {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<El>,
    text: Option<String>,
}

impl El {
    /// An element named `name` (a prefix included, if any).
    pub fn new(name: &str) -> El {
        El {
            name: name.to_string(),
            attrs: Vec::new(),
            children: Vec::new(),
            text: None,
        }
    }

    /// With an attribute.
    pub fn attr(mut self, key: &str, value: impl std::fmt::Display) -> El {
        self.attrs.push((key.to_string(), value.to_string()));
        self
    }

    /// With a child.
    pub fn child(mut self, child: El) -> El {
        self.children.push(child);
        self
    }

    /// With children.
    pub fn children(mut self, children: impl IntoIterator<Item = El>) -> El {
        self.children.extend(children);
        self
    }

    /// With a child holding only `text`.
    pub fn leaf(self, name: &str, text: impl std::fmt::Display) -> El {
        self.child(El::new(name).text(text))
    }

    /// With a text-only child when `text` is there.
    pub fn opt_leaf(self, name: &str, text: Option<impl std::fmt::Display>) -> El {
        match text {
            Some(t) => self.leaf(name, t),
            None => self,
        }
    }

    /// With text content.
    pub fn text(mut self, text: impl std::fmt::Display) -> El {
        self.text = Some(text.to_string());
        self
    }

    fn write(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        for (k, v) in &self.attrs {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            out.push_str(&escape(v.as_str()));
            out.push('"');
        }
        if self.children.is_empty() && self.text.is_none() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        if let Some(t) = &self.text {
            out.push_str(&escape(t.as_str()));
        }
        for c in &self.children {
            c.write(out);
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }

    /// The document: an XML declaration and this element.
    pub fn document(&self) -> String {
        let mut out = String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        self.write(&mut out);
        out
    }
}

/// A SOAP 1.1 envelope around `body`, with `header` in `soap:Header` if given.
pub(crate) fn envelope(header: Option<El>, body: El) -> String {
    let mut env = El::new("soap:Envelope").attr("xmlns:soap", SOAP_NS);
    if let Some(h) = header {
        env = env.child(El::new("soap:Header").child(h));
    }
    env.child(El::new("soap:Body").child(body)).document()
}

/// A SOAP 1.1 envelope's header entries (if any) and body, checked.
pub(crate) fn open_envelope(xml: &str) -> Result<(Option<Element>, Element), XmlError> {
    let mut root = parse(xml)?;
    if root.name() != "Envelope" {
        return Err(XmlError::Unexpected {
            path: root.path(),
            expected: "a SOAP Envelope".into(),
            found: root.name().to_string(),
        });
    }
    root.expect_ns(SOAP_NS)?;
    root.req("Body")?;
    let mut header = None;
    let mut body = None;
    for c in std::mem::take(&mut root.children) {
        match c.name() {
            "Header" if c.ns == SOAP_NS => header = Some(c),
            "Body" if c.ns == SOAP_NS => body = Some(c),
            _ => {}
        }
    }
    let body = body.ok_or_else(|| XmlError::Missing("Envelope/Body".into()))?;
    Ok((header, body))
}

/// A SOAP 1.1 Fault: `faultcode` `soap:Client` (the request was wrong) or `soap:Server`,
/// and `faultstring` saying why.
pub fn fault(client: bool, reason: &str) -> String {
    envelope(
        None,
        El::new("soap:Fault")
            .leaf(
                "faultcode",
                if client { "soap:Client" } else { "soap:Server" },
            )
            .leaf("faultstring", reason),
    )
}

/// A SOAP 1.1 Fault as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Whether the fault is the sender's (`faultcode` `Client` or a `Client.…` subcode): the
    /// request as written will never be accepted. Otherwise (`Server`, and any other code)
    /// the receiver failed and the same request may succeed later.
    pub client: bool,
    /// Its `faultstring`.
    pub reason: String,
}

/// The Fault, if `xml` is a SOAP 1.1 Fault.
pub fn read_fault(xml: &str) -> Option<Fault> {
    let (_, body) = open_envelope(xml).ok()?;
    let fault = body.child("Fault")?;
    if fault.ns != SOAP_NS {
        return None;
    }
    let code = fault.opt_text("faultcode").unwrap_or_default();
    let local = code.rsplit_once(':').map_or(code, |(_, l)| l);
    Some(Fault {
        client: local == "Client" || local.starts_with("Client."),
        reason: fault
            .opt_text("faultstring")
            .unwrap_or_default()
            .to_string(),
    })
}

/// `unix` seconds as xsd:dateTime in UTC (`2026-07-01T14:00:00Z`).
pub fn datetime(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// An xsd:dateTime (`YYYY-MM-DDThh:mm:ss`, optional fraction, `Z` or `±hh:mm`; none means
/// UTC) as Unix seconds, fractions dropped; `None` when it is not one or is before 1970.
pub fn parse_datetime(s: &str) -> Option<u64> {
    let b = s.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &b[19..];
    if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest = &rest[1 + digits..];
    }
    let offset = match rest {
        [] | [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| -> Option<i64> {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            };
            let off = two(*h1, *h2)? * 3600 + two(*m1, *m2)? * 60;
            if *sign == b'+' { off } else { -off }
        }
        _ => return None,
    };
    // days_from_civil.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + mi * 60 + se - offset).ok()
}

/// Reads child `name` of `e` as an xsd:dateTime.
pub(crate) fn datetime_of(e: &Element, name: &str) -> Result<u64, XmlError> {
    let text = e.text_of(name)?;
    parse_datetime(text).ok_or_else(|| e.invalid(name, text, "is not an xsd:dateTime"))
}

/// Reads child `name` of `e` as a number.
pub(crate) fn number_of<T: std::str::FromStr>(e: &Element, name: &str) -> Result<T, XmlError> {
    let text = e.text_of(name)?;
    text.parse()
        .map_err(|_| e.invalid(name, text, "is not a number in range"))
}

/// Reads child `name` of `e`, if present, as a number.
pub(crate) fn opt_number_of<T: std::str::FromStr>(
    e: &Element,
    name: &str,
) -> Result<Option<T>, XmlError> {
    match e.child(name) {
        Some(_) => number_of(e, name).map(Some),
        None => Ok(None),
    }
}

/// Reads child `name` of `e` as an xsd:boolean.
pub(crate) fn bool_of(e: &Element, name: &str) -> Result<bool, XmlError> {
    match e.text_of(name)? {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(e.invalid(name, other, "is not an xsd:boolean")),
    }
}

/// A register of `wh` Wh as the head-ends write it: kWh with three decimals (`9751.212`).
pub fn kwh(wh: u64) -> String {
    format!("{}.{:03}", wh / 1000, wh % 1000)
}

/// A register in kWh (`9751.212`, `9751.2`, `9751`) as Wh; `None` for anything else — a sign,
/// an exponent, more than three decimals (finer than a Wh) or more than a `u64` of Wh.
pub fn parse_kwh(s: &str) -> Option<u64> {
    let s = s.trim();
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 3 {
        return None;
    }
    let milli: u64 = format!("{fraction:0<3}").parse().ok()?;
    whole
        .parse::<u64>()
        .ok()?
        .checked_mul(1000)?
        .checked_add(milli)
}

/// Bytes as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex as bytes; `None` for an odd length or a non-hex digit.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_round_trip_and_offsets_apply() {
        for t in [0u64, 951_782_400, 1_782_914_400, 4_102_444_800] {
            assert_eq!(parse_datetime(&datetime(t)), Some(t), "{}", datetime(t));
        }
        assert_eq!(datetime(1_782_914_400), "2026-07-01T14:00:00Z");
        assert_eq!(
            parse_datetime("2026-07-01T09:00:00.250-05:00"),
            Some(1_782_914_400)
        );
        assert_eq!(parse_datetime("2026-07-01 14:00:00Z"), None);
        assert_eq!(parse_datetime("2026-13-01T14:00:00Z"), None);
    }

    #[test]
    fn entities_and_paths_survive_parsing() {
        let e = parse(r#"<a xmlns="urn:x"><b k="1&amp;2">x &lt; y &#65;</b></a>"#).unwrap();
        let b = e.req("b").unwrap();
        assert_eq!((b.ns.as_str(), b.path().as_str()), ("urn:x", "a/b"));
        assert_eq!(b.text, "x < y A");
        assert_eq!(b.attr("k"), Some("1&2"));
        assert_eq!(e.req("c").unwrap_err().to_string(), "a/c is missing");
        assert!(matches!(parse("<a><b></a>"), Err(XmlError::Malformed(_))));
        assert!(matches!(parse("<a>"), Err(XmlError::Malformed(_))));
        assert_eq!(
            read_fault(&fault(true, "bad <thing>")).map(|f| (f.client, f.reason)),
            Some((true, "bad <thing>".to_string()))
        );
        assert_eq!(
            read_fault(&fault(false, "busy")).map(|f| (f.client, f.reason)),
            Some((false, "busy".to_string()))
        );
        let subcode = fault(true, "who?").replace("soap:Client", "s:Client.Authentication");
        assert_eq!(read_fault(&subcode).map(|f| f.client), Some(true));
        assert_eq!(read_fault(&envelope(None, El::new("x"))), None);
    }

    /// The nested-element attack of the gateway security issue: 60 KB of `<a>` opened 12,000
    /// deep. Each path used to copy its parent's (quadratic memory: ~430 MB); now the reader
    /// refuses at the first level over the limit, naming it.
    #[test]
    fn deep_nesting_is_refused_at_the_limit() {
        let attack = "<a>".repeat(20_000) + &"</a>".repeat(20_000);
        let err = parse(&attack).unwrap_err();
        assert!(
            matches!(&err, XmlError::TooLarge(why) if why.contains("deeper than 32 levels")),
            "{err}"
        );
        // The limit itself is fine, with every path intact.
        let deep = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        let mut e = &parse(&deep).unwrap();
        while let Some(c) = e.child("a") {
            e = c;
        }
        assert_eq!(e.path(), vec!["a"; MAX_DEPTH].join("/"));
    }

    #[test]
    fn too_many_elements_long_names_and_oversized_documents_are_refused() {
        let wide = format!("<a>{}</a>", "<b/>".repeat(MAX_ELEMENTS));
        assert!(matches!(parse(&wide), Err(XmlError::TooLarge(w)) if w.contains("elements")));
        let fits = format!("<a>{}</a>", "<b/>".repeat(MAX_ELEMENTS - 1));
        assert_eq!(parse(&fits).unwrap().children.len(), MAX_ELEMENTS - 1);
        let name = "n".repeat(MAX_NAME_BYTES + 1);
        assert!(matches!(
            parse(&format!("<{name}/>")),
            Err(XmlError::TooLarge(_))
        ));
        assert!(matches!(
            parse(&format!("<a {name}=\"1\"/>")),
            Err(XmlError::TooLarge(_))
        ));
        let big = format!("<a>{}</a>", "x".repeat(MAX_DOCUMENT_BYTES));
        let err = parse(&big).unwrap_err();
        assert!(err.to_string().contains("over the limit"), "{err}");
    }

    #[test]
    fn registers_in_kwh_round_trip_to_the_watt_hour_and_anything_else_is_refused() {
        for wh in [0u64, 1, 999, 1000, 9_751_212, u64::MAX] {
            assert_eq!(parse_kwh(&kwh(wh)), Some(wh), "{wh}");
        }
        assert_eq!(kwh(9_751_212), "9751.212");
        assert_eq!(parse_kwh("9751.2"), Some(9_751_200));
        assert_eq!(parse_kwh(" 12 "), Some(12_000));
        for bad in [
            "",
            ".5",
            "-1",
            "+1",
            "1e3",
            "1.2345",
            "1.2.3",
            "1,5",
            "18446744073709552",
        ] {
            assert_eq!(parse_kwh(bad), None, "{bad:?}");
        }
    }
}
