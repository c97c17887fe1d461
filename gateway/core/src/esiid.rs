//! Electric Service Identifiers: the statewide number of a point of delivery in Texas, 17 or 22
//! digits starting with "10" (the first digits name the TDSP; see [`crate::routing`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a string is not an ESIID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EsiidError {
    /// Not 17 or 22 characters.
    #[error("ESIID {0:?}: {1} characters; an ESIID has 17 or 22 digits")]
    Length(String, usize),
    /// A character that is not a digit.
    #[error("ESIID {0:?}: character {1} is not a digit")]
    NotDigit(String, usize),
    /// Does not start with "10".
    #[error("ESIID {0:?}: does not start with 10, as every Texas ESIID does")]
    Prefix(String),
}

/// A checked ESIID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Esiid(String);

impl Esiid {
    /// Its digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Esiid {
    type Err = EsiidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n = s.chars().count();
        if n != 17 && n != 22 {
            return Err(EsiidError::Length(s.to_string(), n));
        }
        if let Some(i) = s.chars().position(|c| !c.is_ascii_digit()) {
            return Err(EsiidError::NotDigit(s.to_string(), i + 1));
        }
        if !s.starts_with("10") {
            return Err(EsiidError::Prefix(s.to_string()));
        }
        Ok(Esiid(s.to_string()))
    }
}

impl TryFrom<String> for Esiid {
    type Error = EsiidError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Esiid> for String {
    fn from(e: Esiid) -> String {
        e.0
    }
}

impl fmt::Display for Esiid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
