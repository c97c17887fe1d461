//! Energy Data, In-Home Device and In-Home Device Services agreements: invitations, the
//! customer's answer, their end, and what they allow.

use std::collections::HashSet;

use hanrig_gateway::agreement::{
    AgreementError, AgreementKind, AgreementState, EndReason, MessageTypes, Term,
};
use hanrig_gateway::esiid::Esiid;
use hanrig_sep::Eui64;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError};

/// An agreement as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementRecord {
    /// Row ID.
    pub id: i64,
    /// The third party.
    pub company: String,
    /// What it allows.
    pub kind: AgreementKind,
    /// The meter.
    pub esiid: Esiid,
    /// The device, for a services agreement.
    pub device: Option<Eui64>,
    /// The message types a services agreement allows.
    pub message_types: MessageTypes,
    /// Where the invitation went.
    pub customer_email: String,
    /// The invitation's secret (the customer's accept/reject links carry it).
    pub token: String,
    /// The state as stored (an invitation's expiry is [`AgreementState::at`] the time read,
    /// an Energy Data Agreement's term [`AgreementRecord::state_at`]).
    pub state: AgreementState,
    /// An Energy Data Agreement's term.
    pub term: Option<Term>,
    /// When an accepted Energy Data Agreement's term of months ends, Unix seconds.
    pub ends_at: Option<i64>,
    /// When it was created, Unix seconds.
    pub created_at: i64,
}

impl AgreementRecord {
    /// Its state at `now`: an invitation 30 days old has expired, and an Energy Data
    /// Agreement whose term is over has ended.
    pub fn state_at(&self, now: i64) -> AgreementState {
        match self.state.at(now as u64) {
            AgreementState::Accepted if self.ends_at.is_some_and(|end| now >= end) => {
                AgreementState::Ended {
                    reason: EndReason::TermEnded,
                }
            }
            other => other,
        }
    }
}

fn types_text(t: MessageTypes) -> String {
    [
        (t.text, "text"),
        (t.price, "price"),
        (t.load_control, "load-control"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, n)| *n)
    .collect::<Vec<_>>()
    .join(",")
}

fn corrupt(what: &str, text: &str) -> StoreError {
    StoreError::Corrupt(format!("agreement {what} {text:?}"))
}

fn agreement_row(row: &AnyRow) -> Result<AgreementRecord> {
    let kind: String = row.try_get("kind")?;
    let esiid: String = row.try_get("esiid")?;
    let eui: String = row.try_get("eui64")?;
    let types: String = row.try_get("message_types")?;
    let state: String = row.try_get("state")?;
    Ok(AgreementRecord {
        id: row.try_get("id")?,
        company: row.try_get("company")?,
        kind: match kind.as_str() {
            "in-home-device" => AgreementKind::InHomeDevice,
            "in-home-device-services" => AgreementKind::InHomeDeviceServices,
            "energy-data" => AgreementKind::EnergyData,
            _ => return Err(corrupt("kind", &kind)),
        },
        esiid: esiid.parse().map_err(|_| corrupt("ESIID", &esiid))?,
        device: if eui.is_empty() {
            None
        } else {
            Some(eui.parse().map_err(|_| corrupt("EUI64", &eui))?)
        },
        message_types: MessageTypes {
            text: types.split(',').any(|t| t == "text"),
            price: types.split(',').any(|t| t == "price"),
            load_control: types.split(',').any(|t| t == "load-control"),
        },
        customer_email: row.try_get("customer_email")?,
        token: row.try_get("token")?,
        state: serde_json::from_str(&state).map_err(|_| corrupt("state", &state))?,
        term: row
            .try_get::<Option<i64>, _>("term_months")?
            .map(|m| {
                u8::try_from(m)
                    .ok()
                    .and_then(|m| Term::from_months(m).ok())
                    .ok_or_else(|| corrupt("term", &m.to_string()))
            })
            .transpose()?,
        ends_at: row.try_get("ends_at")?,
        created_at: row.try_get("created_at")?,
    })
}

const SELECT: &str =
    "SELECT a.*, c.name AS company FROM agreements a JOIN companies c ON c.id = a.company_id";

/// A new agreement's terms.
#[derive(Debug, Clone)]
pub struct Invitation<'a> {
    /// The inviting third party.
    pub company: &'a str,
    /// What it asks for.
    pub kind: AgreementKind,
    /// The meter.
    pub esiid: &'a Esiid,
    /// The device (services agreements).
    pub device: Option<Eui64>,
    /// The message types (services agreements).
    pub message_types: MessageTypes,
    /// The term (Energy Data Agreements).
    pub term: Option<Term>,
    /// Where the invitation goes.
    pub customer_email: &'a str,
    /// The invitation's secret.
    pub token: &'a str,
}

impl Store {
    /// Records an invitation if the meter has room for one more agreement of its kind (five
    /// device agreements of each kind, counting open invitations and agreements in force, of
    /// any third party; Energy Data Agreements without limit).
    pub async fn invite(&self, invitation: &Invitation<'_>, now: i64) -> Result<AgreementRecord> {
        let company = self.company(invitation.company).await?;
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(&format!("{SELECT} WHERE a.esiid = $1 AND a.kind = $2"))
            .bind(invitation.esiid.as_str())
            .bind(invitation.kind.name())
            .fetch_all(&mut *tx)
            .await?;
        let others = rows.iter().map(agreement_row).collect::<Result<Vec<_>>>()?;
        let limited = others.iter().filter(|a| a.kind.limited()).map(|a| a.state);
        let state = AgreementState::invite(now as u64, limited)?;
        let id: i64 = sqlx::query(
            "INSERT INTO agreements (company_id, kind, esiid, eui64, message_types, customer_email, token, state, state_name, term_months, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
        )
        .bind(company.id)
        .bind(invitation.kind.name())
        .bind(invitation.esiid.as_str())
        .bind(invitation.device.map(|d| d.to_string()).unwrap_or_default())
        .bind(types_text(invitation.message_types))
        .bind(invitation.customer_email)
        .bind(invitation.token)
        .bind(serde_json::to_string(&state).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .bind(state.name())
        .bind(invitation.term.map(|t| i64::from(t.months())))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        tx.commit().await?;
        self.agreement(id).await
    }

    /// The agreement with row `id`.
    pub async fn agreement(&self, id: i64) -> Result<AgreementRecord> {
        let row = sqlx::query(&format!("{SELECT} WHERE a.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("agreement {id}")))?;
        agreement_row(&row)
    }

    /// The agreement whose invitation carries `token`.
    pub async fn agreement_by_token(&self, token: &str) -> Result<AgreementRecord> {
        let row = sqlx::query(&format!("{SELECT} WHERE a.token = $1"))
            .bind(token)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound("invitation".into()))?;
        agreement_row(&row)
    }

    /// `company`'s agreements, on `esiid` only if given, oldest first.
    pub async fn agreements(
        &self,
        company: &str,
        esiid: Option<&Esiid>,
    ) -> Result<Vec<AgreementRecord>> {
        self.agreements_page(company, esiid, 0, i64::MAX).await
    }

    /// [`Store::agreements`], at most `limit` after the first `offset`.
    pub async fn agreements_page(
        &self,
        company: &str,
        esiid: Option<&Esiid>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<AgreementRecord>> {
        let rows =
            match esiid {
                Some(e) => sqlx::query(&format!(
                    "{SELECT} WHERE c.name = $1 AND a.esiid = $2 ORDER BY a.id LIMIT $3 OFFSET $4"
                ))
                .bind(company)
                .bind(e.as_str())
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?,
                None => {
                    sqlx::query(&format!(
                        "{SELECT} WHERE c.name = $1 ORDER BY a.id LIMIT $2 OFFSET $3"
                    ))
                    .bind(company)
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&self.pool)
                    .await?
                }
            };
        rows.iter().map(agreement_row).collect()
    }

    /// Moves agreement `id` by `step` (resend, accept, reject, end) from its state at `now`;
    /// an Energy Data Agreement of months accepted now runs until that many months from now.
    pub async fn step_agreement(
        &self,
        id: i64,
        now: i64,
        step: impl FnOnce(AgreementState, u64) -> std::result::Result<AgreementState, AgreementError>,
    ) -> Result<AgreementRecord> {
        let record = self.agreement(id).await?;
        let before = record.state_at(now);
        let state = step(before, now as u64)?;
        self.set_agreement_state(id, state, now).await?;
        if let (AgreementState::Invited { .. }, AgreementState::Accepted, Some(Term::Months(n))) =
            (before, state, record.term)
        {
            sqlx::query("UPDATE agreements SET ends_at = $1 WHERE id = $2")
                .bind(hanrig_usage::day::plus_months(now, n))
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        self.agreement(id).await
    }

    /// The customer extends Energy Data Agreement `id`, in force at `now`, by `months` (1–12)
    /// from its end (SMT Table 8: "extend Energy Data Agreement"): it then ends that much later
    /// (its `term` stays the one the invitation offered),
    /// but never more than 12 months after `now` — the longest term an agreement is given.
    /// A one-time agreement, one not in force, or another kind cannot be extended.
    pub async fn extend_agreement(&self, id: i64, months: u8, now: i64) -> Result<AgreementRecord> {
        use hanrig_usage::day::plus_months;
        let a = self.agreement(id).await?;
        let refuse = |why: String| Err(StoreError::Usage(format!("agreement {id}: {why}")));
        if a.kind != AgreementKind::EnergyData {
            return refuse(format!(
                "an {} agreement has no term to extend",
                a.kind.name()
            ));
        }
        if a.state_at(now) != AgreementState::Accepted {
            return refuse(format!("it is {}, not in force", a.state_at(now).name()));
        }
        let (Some(Term::Months(_)), Some(ends_at)) = (a.term, a.ends_at) else {
            return refuse("a one-time agreement cannot be extended".into());
        };
        if !(1..=12).contains(&months) {
            return refuse(format!("an extension is 1 to 12 months, not {months}"));
        }
        let (until, limit) = (plus_months(ends_at, months), plus_months(now, 12));
        if until > limit {
            return refuse(format!(
                "extended by {months} months it would end more than 12 months from now"
            ));
        }
        // The term stays what the invitation offered; the end moves.
        sqlx::query("UPDATE agreements SET ends_at = $1, updated_at = $2 WHERE id = $3")
            .bind(until)
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        self.agreement(id).await
    }

    /// `company`'s Energy Data Agreement in force on `esiid` at `now`, if it has one (the
    /// latest accepted).
    pub async fn energy_data_agreement(
        &self,
        company: &str,
        esiid: &Esiid,
        now: i64,
    ) -> Result<Option<AgreementRecord>> {
        Ok(self
            .agreements(company, Some(esiid))
            .await?
            .into_iter()
            .rev()
            .find(|a| {
                a.kind == AgreementKind::EnergyData && a.state_at(now) == AgreementState::Accepted
            }))
    }

    async fn set_agreement_state(&self, id: i64, state: AgreementState, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE agreements SET state = $1, state_name = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(serde_json::to_string(&state).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .bind(state.name())
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ends every open invitation and agreement in force on `device` (it was removed), or on
    /// the whole meter when `device` is `None` (the customer moved out) — only `company`'s
    /// when one is given; returns how many.
    pub async fn end_agreements(
        &self,
        esiid: &Esiid,
        device: Option<Eui64>,
        company: Option<&str>,
        reason: EndReason,
        now: i64,
    ) -> Result<usize> {
        let rows = sqlx::query(&format!(
            "{SELECT} WHERE a.esiid = $1 AND a.state_name IN ('invited', 'accepted')"
        ))
        .bind(esiid.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut ended = 0;
        for a in rows.iter().map(agreement_row) {
            let a = a?;
            // A device's removal ends its services agreements and the meter's In-Home Device
            // agreements that concern it are kept: they are about the HAN, not the device.
            if (device.is_some() && a.device != device) || company.is_some_and(|c| a.company != c) {
                continue;
            }
            if let Ok(state) = a.state.end(now as u64, reason) {
                self.set_agreement_state(a.id, state, now).await?;
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// What `company`'s services agreements in force allow for `kind` of message
    /// (`text`, `price`, `load-control`): the meters and the devices.
    pub async fn permitted(
        &self,
        company: &str,
        kind: &str,
        now: i64,
    ) -> Result<(HashSet<Esiid>, HashSet<Eui64>)> {
        let _ = now; // Only an invitation's state depends on the time; accepted ones are in force.
        // Only what the check needs: at 10,000 agreements, parsing whole rows would cost more
        // than the rest of accepting the message.
        let rows = sqlx::query(
            "SELECT a.esiid, a.eui64 FROM agreements a JOIN companies c ON c.id = a.company_id \
             WHERE c.name = $1 AND a.kind = 'in-home-device-services' AND a.state_name = 'accepted' \
             AND (',' || a.message_types || ',') LIKE $2",
        )
        .bind(company)
        .bind(format!("%,{kind},%"))
        .fetch_all(&self.pool)
        .await?;
        let (mut meters, mut devices) = (HashSet::new(), HashSet::new());
        for row in &rows {
            let esiid: String = row.try_get("esiid")?;
            let eui: String = row.try_get("eui64")?;
            meters.insert(esiid.parse().map_err(|_| corrupt("ESIID", &esiid))?);
            if !eui.is_empty() {
                devices.insert(eui.parse().map_err(|_| corrupt("EUI64", &eui))?);
            }
        }
        Ok((meters, devices))
    }

    /// Whether `company` holds an In-Home Device Agreement in force on `esiid`.
    pub async fn may_manage_devices(&self, company: &str, esiid: &Esiid, now: i64) -> Result<bool> {
        Ok(self
            .agreements(company, Some(esiid))
            .await?
            .iter()
            .any(|a| a.kind == AgreementKind::InHomeDevice && a.state.in_force(now as u64)))
    }
}
