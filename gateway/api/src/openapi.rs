//! The OpenAPI document as strict as the server: what utoipa derives from the handlers and
//! types, finished with what the derive cannot say.
//!
//! - **Formats**: an ESIID (17 or 22 digits from `10`; one a TDSP of the routing table serves
//!   where a message, agreement or device names it), an EUI64 (16 hex digits, `:` or `-`
//!   anywhere between them), an install code (8, 10, 14 or 18 bytes in hex — its CRC cannot be
//!   said in JSON Schema and is checked by the server), an e-mail address, an
//!   `Idempotency-Key`; IDs in paths from 1.
//! - **A message request names at least one address**, an agreement request is one of two
//!   shapes (an In-Home Device Agreement names no device; a services agreement names one and
//!   at least one message type).
//! - **The answers every operation may give** besides its own: `400` (a path, query or body
//!   that does not parse), `401` (credentials), `403` (permissions), `429` with `Retry-After`
//!   (the company's rate), and for operations with a body `415` (not JSON) and `422`; with a
//!   path ID, `404`.
//!
//! What JSON Schema cannot say is in the descriptions and checked by the server: a rate label
//! of at most 12 bytes of UTF-8, an install code's CRC.

use hanrig_gateway::message::MAX_ADDRESSES;
use hanrig_gateway::routing::Routing;
use serde_json::{Map, Value, json};

/// 16 hex digits, with `:` or `-` anywhere between them (as `Eui64::from_str` reads them).
pub const EUI64: &str = "^[:-]*(?:[0-9A-Fa-f][:-]*){16}$";

/// 17 or 22 digits starting with `10` (as `Esiid::from_str` reads them).
pub const ESIID: &str = "^10(?:[0-9]{15}|[0-9]{20})$";

/// White space as Rust's `char::is_whitespace` (Unicode White_Space) sees it, spelled out:
/// regex engines differ on `\s`.
macro_rules! space {
    () => {
        r"\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
    };
}

/// An install code: 16, 20, 28 or 36 hex digits, with white space, `:` or `-` between them.
pub const INSTALL_CODE: &str = concat!(
    "^[",
    space!(),
    ":-]*(?:",
    "(?:[0-9A-Fa-f][",
    space!(),
    ":-]*){16}|",
    "(?:[0-9A-Fa-f][",
    space!(),
    ":-]*){20}|",
    "(?:[0-9A-Fa-f][",
    space!(),
    ":-]*){28}|",
    "(?:[0-9A-Fa-f][",
    space!(),
    ":-]*){36})$"
);

/// An e-mail address as the agreements check it: something, `@`, a domain with a dot; no
/// white space or control characters.
pub const EMAIL: &str = concat!(
    r"^[^@\x00-\x1F\x7F-\x9F",
    space!(),
    "]+@",
    r"[^@\x00-\x1F\x7F-\x9F",
    space!(),
    "]+",
    r"\.[^@\x00-\x1F\x7F-\x9F",
    space!(),
    "]+$"
);

/// 1–255 visible ASCII characters without `"` or `\`, bare or as an RFC 8941 string.
pub const IDEMPOTENCY_KEY: &str = r#"^(?:[!#-\[\]-~]{1,255}|"[!#-\[\]-~]{1,255}")$"#;

/// An ESIID one of `routing`'s TDSPs serves: its prefixes, each followed by the digits that
/// make 17 or 22.
pub fn routed_esiid(routing: &Routing) -> String {
    let mut alternatives = Vec::new();
    for (prefix, _) in routing.prefixes() {
        for total in [17usize, 22] {
            if let Some(rest) = total.checked_sub(prefix.len()) {
                alternatives.push(format!("{prefix}[0-9]{{{rest}}}"));
            }
        }
    }
    format!("^(?:{})$", alternatives.join("|"))
}

fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    })
}

/// The answers every operation may give, by status.
fn common() -> Vec<(&'static str, Value)> {
    let mut too_many = error(
        "Over the company's rate (20 requests a second, bursts of 40): wait Retry-After seconds",
    );
    too_many["headers"] = json!({
        "Retry-After": {"description": "Seconds until a request is admitted", "schema": {"type": "integer", "minimum": 1}}
    });
    vec![
        (
            "400",
            error("A path, query, header or body that does not parse, named precisely"),
        ),
        (
            "401",
            error(
                "No client certificate the gateway knows, wrong credentials, or a locked certificate",
            ),
        ),
        ("403", error("The user lacks the operation's permission")),
        ("429", too_many),
    ]
}

/// The finished document of `doc` for `routing`.
pub fn finish(doc: utoipa::openapi::OpenApi, routing: &Routing) -> Value {
    let mut doc = serde_json::to_value(doc).unwrap_or(Value::Null);
    let routed = routed_esiid(routing);
    let schemas = &mut doc["components"]["schemas"];
    schemas["Esiid"] = json!({"type": "string", "pattern": ESIID, "description": "An ESIID: 17 or 22 digits starting with 10"});
    schemas["RoutedEsiid"] = json!({"type": "string", "pattern": routed, "description": "An ESIID a TDSP of the gateway's routing table serves (its first digits name the TDSP)"});
    schemas["Eui64"] = json!({"type": "string", "pattern": EUI64, "description": "A device's EUI64: 16 hex digits, ':' or '-' between them allowed"});
    for name in [
        "TextRequest",
        "PriceRequest",
        "LoadControlRequest",
        "CancelAllRequest",
        "EnrollmentGroupRequest",
    ] {
        addressed(&mut schemas[name]);
    }
    if let Some(add) = schemas.get_mut("AddDevice") {
        set(
            add,
            "esiid",
            json!({"$ref": "#/components/schemas/RoutedEsiid"}),
        );
        set(add, "eui64", json!({"$ref": "#/components/schemas/Eui64"}));
        set(
            add,
            "install_code",
            json!({"type": "string", "pattern": INSTALL_CODE, "description": "The install code printed on the device with its CRC (checked)"}),
        );
    }
    schemas["AgreementRequest"] = agreement_request();
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (_, op) in item.iter_mut() {
                operation(path, op);
            }
        }
    }
    doc
}

/// `property` of the object schema `schema` becomes `value`, keeping its description.
fn set(schema: &mut Value, property: &str, value: Value) {
    let Some(p) = schema
        .get_mut("properties")
        .and_then(|p| p.get_mut(property))
    else {
        return;
    };
    let description = p.get("description").cloned();
    *p = value;
    if let (Some(d), Some(o)) = (description, p.as_object_mut()) {
        o.insert("description".into(), d);
    }
}

/// A message request: ESIIDs a TDSP serves, EUI64s, at least one of them, each list at most
/// [`MAX_ADDRESSES`].
fn addressed(schema: &mut Value) {
    for (field, format) in [("esiids", "RoutedEsiid"), ("devices", "Eui64")] {
        if let Some(p) = schema.get_mut("properties").and_then(|p| p.get_mut(field)) {
            p["items"] = json!({"$ref": format!("#/components/schemas/{format}")});
            p["maxItems"] = json!(MAX_ADDRESSES);
        }
    }
    schema["anyOf"] = json!([
        {"required": ["esiids"], "properties": {"esiids": {"minItems": 1}}},
        {"required": ["devices"], "properties": {"devices": {"minItems": 1}}}
    ]);
}

/// `POST /v1/agreements`: one of the two kinds, each with what it names.
fn agreement_request() -> Value {
    let esiid =
        json!({"$ref": "#/components/schemas/RoutedEsiid", "description": "The customer's meter"});
    let email = json!({"type": "string", "pattern": EMAIL, "maxLength": 254, "description": "Where the invitation goes"});
    let types = json!({
        "type": "object",
        "description": "Which messages the agreement allows: at least one",
        "properties": {
            "text": {"type": "boolean"},
            "price": {"type": "boolean"},
            "load_control": {"type": "boolean"}
        },
        "additionalProperties": false,
        "anyOf": [
            {"required": ["text"], "properties": {"text": {"const": true}}},
            {"required": ["price"], "properties": {"price": {"const": true}}},
            {"required": ["load_control"], "properties": {"load_control": {"const": true}}}
        ]
    });
    json!({
        "description": "`POST /v1/agreements`: an Energy Data Agreement (the meter's usage, one time or for 1 to 12 months), an In-Home Device Agreement (the meter: add and remove devices) or an In-Home Device Services Agreement (one device: send it the message types allowed).",
        "oneOf": [
            {
                "type": "object",
                "required": ["kind", "esiid", "customer_email", "term_months"],
                "properties": {
                    "kind": {"const": "energy-data"},
                    "esiid": esiid,
                    "customer_email": email,
                    "term_months": {"type": "integer", "minimum": 0, "maximum": 12, "description": "0: one-time access (it ends with the first read); 1 to 12: months from the customer's acceptance"},
                    "device": {"type": "null"},
                    "message_types": {"type": "null"}
                },
                "additionalProperties": false
            },
            {
                "type": "object",
                "required": ["kind", "esiid", "customer_email"],
                "properties": {
                    "kind": {"const": "in-home-device"},
                    "esiid": esiid,
                    "customer_email": email,
                    "device": {"type": "null"},
                    "message_types": {"type": "null"},
                    "term_months": {"type": "null"}
                },
                "additionalProperties": false
            },
            {
                "type": "object",
                "required": ["kind", "esiid", "device", "customer_email", "message_types"],
                "properties": {
                    "kind": {"const": "in-home-device-services"},
                    "esiid": esiid,
                    "device": {"$ref": "#/components/schemas/Eui64", "description": "The device"},
                    "customer_email": email,
                    "message_types": types,
                    "term_months": {"type": "null"}
                },
                "additionalProperties": false
            }
        ]
    })
}

/// Formats of `op`'s parameters, and the answers every operation may give.
fn operation(path: &str, op: &mut Value) {
    let (mut has_id, mut has_format) = (false, false);
    if let Some(parameters) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for p in parameters {
            let place = p["in"].as_str().unwrap_or_default().to_string();
            match (p["name"].as_str().unwrap_or_default(), place.as_str()) {
                ("id", "path") => {
                    has_id = true;
                    p["schema"] = json!({"type": "integer", "format": "int64", "minimum": 1});
                }
                ("eui64", "path") => {
                    (has_id, has_format) = (true, true);
                    p["schema"] = json!({"$ref": "#/components/schemas/Eui64"});
                }
                ("esiid", "query" | "path") => {
                    has_format = true;
                    p["schema"] = json!({"$ref": "#/components/schemas/Esiid"});
                }
                ("from" | "to", "query") if path.starts_with("/v1/usage/") => {
                    has_format = true;
                    p["schema"] = json!({"type": "string", "format": "date"});
                }
                ("format", "query") if path.starts_with("/v1/usage/") => {
                    has_format = true;
                    p["schema"] = json!({"enum": ["json", "csv", "espi"]});
                }
                ("Idempotency-Key", "header") => {
                    p["schema"] = json!({"type": "string", "pattern": IDEMPOTENCY_KEY});
                }
                _ => {}
            }
        }
    }
    if !path.starts_with("/v1/") {
        return;
    }
    let body = op.get("requestBody").is_some();
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    let mut add = |status: &str, value: Value| {
        if !responses.contains_key(status) {
            responses.insert(status.to_string(), value);
        }
    };
    for (status, value) in common() {
        add(status, value);
    }
    if body {
        add("415", error("The body is not sent as application/json"));
        add("422", error("Bad input, named precisely; nothing stored"));
    }
    if has_id {
        add("404", error("No such resource the caller may see"));
    }
    if has_format {
        add(
            "422",
            error("A parameter out of its format, named precisely"),
        );
    }
    sort(responses);
}

fn sort(map: &mut Map<String, Value>) {
    let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    map.extend(entries);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        regex::Regex::new(pattern).unwrap().is_match(text)
    }

    proptest! {
        /// The document's formats say exactly what the parsers accept.
        #[test]
        fn each_pattern_accepts_what_its_parser_accepts(
            eui in "[0-9a-fA-F:-]{0,24}|[0-9a-g: -]{14,18}",
            esiid in "[0-9]{15,23}|1[0-9a]{16}|10[0-9]{20}",
            code in "[0-9a-fA-F :\\u{b}\\u{85}\\u{1c}-]{14,40}",
            email in "[a-z@. \\u{85}\\u{1f}\\u{7f}]{0,12}",
            key in "[ -~\u{e9}]{0,8}",
        ) {
            prop_assert_eq!(matches(EUI64, &eui), eui.parse::<hanrig_sep::Eui64>().is_ok(), "{}", eui);
            prop_assert_eq!(
                matches(ESIID, &esiid),
                esiid.parse::<hanrig_gateway::esiid::Esiid>().is_ok(),
                "{}", esiid
            );
            // A code of the right shape parses unless its CRC is wrong.
            let parsed = code.parse::<hanrig_sep::install_code::InstallCode>();
            let crc = matches!(parsed, Err(hanrig_sep::install_code::InstallCodeError::BadCrc { .. }));
            prop_assert_eq!(matches(INSTALL_CODE, &code), parsed.is_ok() || crc, "{}", code);
            prop_assert_eq!(matches(EMAIL, &email), crate::agreements::email_ok(&email), "{}", email);
            prop_assert_eq!(
                matches(IDEMPOTENCY_KEY, &key),
                crate::idempotency::parse_key(key.as_bytes()).is_ok(),
                "{}", key
            );
        }
    }

    #[test]
    fn a_routed_esiid_is_one_a_tdsp_of_the_table_serves() {
        let routing = Routing::texas();
        let pattern = routed_esiid(&routing);
        for (esiid, routed) in [
            ("10443720001234567", true),
            ("1008901000140000000000", true),
            ("10999990001234567", false),
            ("1044372000123456", false),
        ] {
            let parsed: Result<hanrig_gateway::esiid::Esiid, _> = esiid.parse();
            let served = parsed.is_ok_and(|e| routing.route(&e).is_ok());
            assert_eq!(served, routed, "{esiid}");
            assert_eq!(matches(&pattern, esiid), routed, "{esiid}");
        }
    }
}
