//! Who may do what (SMT overview §5.6, Table 6 "Access to SMT HAN Functions").
//!
//! A company is a third party, a REP, a TDSP or the regulator; its users hold permissions, and
//! a user may hold only what Table 6 lets the company's kind do. A company's administrator
//! holds every permission its kind allows and manages the company's users ("other users must
//! receive authorization from an administrator associated with their organization").
//!
//! ```
//! use hanrig_gateway::access::{CompanyKind, Permission};
//! assert!(CompanyKind::ThirdParty.allows(Permission::SendMessages));
//! assert!(!CompanyKind::Tdsp.allows(Permission::SendMessages));
//! assert!(CompanyKind::Tdsp.allows(Permission::Devices));
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// What kind of company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CompanyKind {
    /// A third party (an energy-services company, or a REP acting as one).
    ThirdParty,
    /// A retail electric provider: for the HAN, a third party (SMT overview §5.5.1).
    Rep,
    /// A transmission and distribution service provider.
    Tdsp,
    /// The regulator (PUCT).
    Regulatory,
}

/// One HAN function of Table 6, as a permission a user holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// In-Home Device and In-Home Device Services agreement requests.
    Agreements,
    /// Add and remove in-home devices.
    Devices,
    /// Search, list and view devices, their status and history.
    ViewDevices,
    /// Send price signals, text messages and load-control events and their cancels; update
    /// utility enrollment groups.
    SendMessages,
    /// View HAN message history and request the HAN message log report.
    ViewMessages,
    /// In-home device statistics and agreement-rejection reports.
    Statistics,
    /// Read meters' usage under Energy Data Agreements.
    Usage,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 7] = [
        Permission::Agreements,
        Permission::Devices,
        Permission::ViewDevices,
        Permission::SendMessages,
        Permission::ViewMessages,
        Permission::Statistics,
        Permission::Usage,
    ];

    /// The name the API and the admin command use.
    pub fn name(self) -> &'static str {
        match self {
            Permission::Agreements => "agreements",
            Permission::Devices => "devices",
            Permission::ViewDevices => "view-devices",
            Permission::SendMessages => "send-messages",
            Permission::ViewMessages => "view-messages",
            Permission::Statistics => "statistics",
            Permission::Usage => "usage",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Permission {
    type Err = AccessError;
    fn from_str(s: &str) -> Result<Permission, AccessError> {
        Permission::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| AccessError::UnknownPermission(s.to_string()))
    }
}

impl CompanyKind {
    /// Every kind.
    pub const ALL: [CompanyKind; 4] = [
        CompanyKind::ThirdParty,
        CompanyKind::Rep,
        CompanyKind::Tdsp,
        CompanyKind::Regulatory,
    ];

    /// The name the admin command uses.
    pub fn name(self) -> &'static str {
        match self {
            CompanyKind::ThirdParty => "third-party",
            CompanyKind::Rep => "rep",
            CompanyKind::Tdsp => "tdsp",
            CompanyKind::Regulatory => "regulatory",
        }
    }

    /// Whether Table 6 lets this kind of company do `p`: third parties (REPs included) use
    /// every HAN API function and view their devices and message history; a TDSP adds,
    /// removes and views devices and reads statistics; the regulator reads statistics.
    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            CompanyKind::ThirdParty | CompanyKind::Rep => p != Statistics,
            // A TDSP reads its territory's usage (SMT overview §7).
            CompanyKind::Tdsp => matches!(p, Devices | ViewDevices | Statistics | Usage),
            CompanyKind::Regulatory => p == Statistics,
        }
    }

    /// Everything this kind allows: what its administrators hold.
    pub fn permissions(self) -> BTreeSet<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|&p| self.allows(p))
            .collect()
    }
}

impl fmt::Display for CompanyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CompanyKind {
    type Err = AccessError;
    fn from_str(s: &str) -> Result<CompanyKind, AccessError> {
        CompanyKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| AccessError::UnknownKind(s.to_string()))
    }
}

/// Why a grant or a name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// Not a company kind.
    #[error("unknown company kind {0:?}: use third-party, rep, tdsp or regulatory")]
    UnknownKind(String),
    /// Not a permission.
    #[error(
        "unknown permission {0:?}: use agreements, devices, view-devices, send-messages, view-messages or statistics"
    )]
    UnknownPermission(String),
    /// Table 6 does not let this kind of company do it.
    #[error("a {kind} company cannot hold the {permission} permission (SMT Table 6)")]
    NotForKind {
        /// The company's kind.
        kind: CompanyKind,
        /// The permission asked for.
        permission: Permission,
    },
    /// A user name outside SMT's rule (BR-017.002) or one HTTP Basic cannot carry.
    #[error(
        "user name {0:?}: use 5 to 100 letters, digits and special characters, without slashes, quotes, ':' or spaces"
    )]
    UserName(String),
    /// A password outside SMT's rule (BR-017.003); why.
    #[error("password: {0}")]
    Password(String),
    /// A territory given to a company that is not a TDSP.
    #[error("a {kind} company has no TDSP territory")]
    Territory {
        /// The company's kind.
        kind: CompanyKind,
    },
    /// A company name that is empty, too long or has control characters.
    #[error("company name {0:?}: use 1 to 100 printable characters")]
    CompanyName(String),
}

/// The permissions a user gets: all its company's kind allows for an administrator, else
/// those asked for, each of which the kind must allow.
pub fn grant(
    kind: CompanyKind,
    admin: bool,
    asked: &[Permission],
) -> Result<BTreeSet<Permission>, AccessError> {
    if admin {
        return Ok(kind.permissions());
    }
    asked
        .iter()
        .map(|&permission| {
            if kind.allows(permission) {
                Ok(permission)
            } else {
                Err(AccessError::NotForKind { kind, permission })
            }
        })
        .collect()
}

/// Checks a user name (SMT BR-017.002): 5 to 100 letters, digits and special characters,
/// except slashes and single and double quotes; nor ':' (HTTP Basic cannot carry it), spaces
/// or anything outside printable ASCII.
pub fn check_user_name(name: &str) -> Result<(), AccessError> {
    let ok = (5..=100).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_graphic() && !"/\\'\":".contains(c));
    if ok {
        Ok(())
    } else {
        Err(AccessError::UserName(name.to_string()))
    }
}

/// Checks a new password for `user` (SMT BR-017.003): 6 to 24 letters and digits, case
/// sensitive, and not the user name (in any case).
pub fn check_password(user: &str, password: &str) -> Result<(), AccessError> {
    let why = if !(6..=24).contains(&password.len()) {
        "use 6 to 24 characters"
    } else if !password.chars().all(|c| c.is_ascii_alphanumeric()) {
        "use letters and digits only"
    } else if password.eq_ignore_ascii_case(user) {
        "it cannot be the user name"
    } else {
        return Ok(());
    };
    Err(AccessError::Password(why.to_string()))
}

/// Checks a company name.
pub fn check_company_name(name: &str) -> Result<(), AccessError> {
    let ok = (1..=100).contains(&name.chars().count()) && !name.chars().any(char::is_control);
    if ok && name.trim() == name {
        Ok(())
    } else {
        Err(AccessError::CompanyName(name.to_string()))
    }
}

/// Formats permissions as the store keeps them: names joined by ','.
pub fn join(permissions: &BTreeSet<Permission>) -> String {
    permissions
        .iter()
        .map(|p| p.name())
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses [`join`]'s form back.
pub fn split(s: &str) -> Result<BTreeSet<Permission>, AccessError> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(str::parse)
        .collect()
}
