//! Routing: which TDSP serves an ESIID (by prefix, from configuration), and which head-end
//! protocol style that TDSP's connector speaks (`../shared/reference/headend-facts.md` §5).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::esiid::Esiid;

/// A Texas transmission and distribution service provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tdsp {
    /// Oncor (Landis+Gyr, RF mesh).
    Oncor,
    /// CenterPoint (Itron OpenWay).
    Centerpoint,
    /// AEP Texas Central.
    AepTexasCentral,
    /// AEP Texas North.
    AepTexasNorth,
    /// Texas-New Mexico Power (cellular meters).
    Tnmp,
}

impl Tdsp {
    /// Every TDSP.
    pub const ALL: [Tdsp; 5] = [
        Tdsp::Oncor,
        Tdsp::Centerpoint,
        Tdsp::AepTexasCentral,
        Tdsp::AepTexasNorth,
        Tdsp::Tnmp,
    ];

    /// The name in configuration and the API.
    pub fn name(self) -> &'static str {
        match self {
            Tdsp::Oncor => "oncor",
            Tdsp::Centerpoint => "centerpoint",
            Tdsp::AepTexasCentral => "aep-texas-central",
            Tdsp::AepTexasNorth => "aep-texas-north",
            Tdsp::Tnmp => "tnmp",
        }
    }

    /// The head-end style its connector speaks.
    pub fn style(self) -> HeadEndStyle {
        match self {
            // Landis+Gyr's Command Center speaks MultiSpeak.
            Tdsp::Oncor => HeadEndStyle::MultiSpeak,
            // Itron OpenWay: submit a request, poll its result, optional push.
            Tdsp::Centerpoint | Tdsp::Tnmp => HeadEndStyle::Jobs,
            // Vendor not found: the neutral standard.
            Tdsp::AepTexasCentral | Tdsp::AepTexasNorth => HeadEndStyle::Cim,
        }
    }
}

impl fmt::Display for Tdsp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Tdsp {
    type Err = RoutingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tdsp::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| RoutingError::UnknownTdsp(s.to_string()))
    }
}

/// The three head-end protocol styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HeadEndStyle {
    /// IEC 61968-9 CIM messages in a 61968-100 envelope: asynchronous `create
    /// EndDeviceControls`, results as EndDeviceEvents to a reply address.
    Cim,
    /// MultiSpeak 4.1: `Initiate*` with a transaction ID and expiry, notifications to a
    /// response URL.
    MultiSpeak,
    /// An OpenWay-like job API: submit, poll results, optional push.
    Jobs,
}

/// Why an ESIID cannot be routed, or the table is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    /// No prefix in the table matches.
    #[error("no TDSP serves ESIID {0}: its prefix is not in the routing table")]
    UnknownPrefix(String),
    /// A TDSP name the gateway does not know.
    #[error(
        "unknown TDSP {0:?}: one of oncor, centerpoint, aep-texas-central, aep-texas-north, tnmp"
    )]
    UnknownTdsp(String),
    /// A prefix that cannot start an ESIID.
    #[error("routing prefix {0:?}: 2 to 17 digits starting with 10")]
    BadPrefix(String),
    /// The same prefix twice.
    #[error("routing prefix {0} is listed twice")]
    Duplicate(String),
    /// The table's text.
    #[error("routing table: {0}")]
    Toml(String),
}

/// The prefix table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    prefixes: Vec<(String, Tdsp)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    prefix: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    prefix: String,
    tdsp: String,
}

impl Routing {
    /// A table from (prefix, TDSP) pairs, checked.
    pub fn new(
        prefixes: impl IntoIterator<Item = (String, Tdsp)>,
    ) -> Result<Routing, RoutingError> {
        let mut table: Vec<(String, Tdsp)> = Vec::new();
        for (prefix, tdsp) in prefixes {
            if !(2..=17).contains(&prefix.len())
                || !prefix.starts_with("10")
                || !prefix.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(RoutingError::BadPrefix(prefix));
            }
            if table.iter().any(|(p, _)| *p == prefix) {
                return Err(RoutingError::Duplicate(prefix));
            }
            table.push((prefix, tdsp));
        }
        // Longest first: the most specific prefix wins.
        table.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        Ok(Routing { prefixes: table })
    }

    /// A table from its TOML text (`[[prefix]] prefix = "…" tdsp = "…"`).
    pub fn from_toml(text: &str) -> Result<Routing, RoutingError> {
        let file: File = toml::from_str(text).map_err(|e| RoutingError::Toml(e.to_string()))?;
        let pairs = file
            .prefix
            .into_iter()
            .map(|e| Ok((e.prefix, e.tdsp.parse()?)))
            .collect::<Result<Vec<_>, RoutingError>>()?;
        Routing::new(pairs)
    }

    /// The gateway's own table (`gateway/routing.toml`).
    pub fn texas() -> Routing {
        // The file is part of the crate's source and is checked by the tests.
        Routing::from_toml(include_str!("../../routing.toml")).unwrap_or(Routing {
            prefixes: Vec::new(),
        })
    }

    /// The TDSP that serves `esiid`.
    pub fn route(&self, esiid: &Esiid) -> Result<Tdsp, RoutingError> {
        self.prefixes
            .iter()
            .find(|(p, _)| esiid.as_str().starts_with(p.as_str()))
            .map(|(_, t)| *t)
            .ok_or_else(|| RoutingError::UnknownPrefix(esiid.to_string()))
    }

    /// The prefixes, longest first.
    pub fn prefixes(&self) -> &[(String, Tdsp)] {
        &self.prefixes
    }
}
