//! The audit log: every API call, who made it, what it asked and what it was answered.

use hanrig_gateway::routing::Tdsp;
use sqlx::Row;

use crate::{Result, Store, StoreError};

/// One API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When, Unix seconds.
    pub at: i64,
    /// The company its client certificate names (empty: no certificate the gateway knows).
    pub company: String,
    /// The user name it gave (empty: none), signed in or not.
    pub user: String,
    /// The HTTP method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The answer's status code.
    pub status: u16,
    /// The TDSPs' territories the call touched (a message's deliveries, a device's meter).
    pub tdsps: Vec<Tdsp>,
}

impl Store {
    /// Records `entry`.
    pub async fn record_call(&self, entry: &AuditEntry) -> Result<()> {
        let tdsps: String = entry
            .tdsps
            .iter()
            .map(|t| format!(",{}", t.name()))
            .collect();
        sqlx::query(
            "INSERT INTO audit (at, company, username, method, path, status, tdsps) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(entry.at)
        .bind(&entry.company)
        .bind(&entry.user)
        .bind(&entry.method)
        .bind(&entry.path)
        .bind(i64::from(entry.status))
        .bind(if tdsps.is_empty() { tdsps } else { tdsps + "," })
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The calls from `from` to before `until` (Unix seconds), oldest first, at most `limit`
    /// after the first `offset`: every call when `scope` is `None`, else those of the company
    /// `scope.0` and those that touched the territory `scope.1` (if any).
    pub async fn audit(
        &self,
        from: i64,
        until: i64,
        scope: Option<(&str, Option<Tdsp>)>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        let rows = match scope {
            None => {
                sqlx::query(
                    "SELECT * FROM audit WHERE at >= $1 AND at < $2 ORDER BY id LIMIT $3 OFFSET $4",
                )
                .bind(from)
                .bind(until)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?
            }
            Some((company, tdsp)) => {
                sqlx::query(
                    "SELECT * FROM audit WHERE at >= $1 AND at < $2 AND (company = $3 OR tdsps LIKE $4) ORDER BY id LIMIT $5 OFFSET $6",
                )
                .bind(from)
                .bind(until)
                .bind(company)
                // No territory: a pattern no list holds.
                .bind(tdsp.map_or_else(|| "%,,%".to_string(), |t| format!("%,{},%", t.name())))
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter()
            .map(|row| {
                let tdsps: String = row.try_get("tdsps")?;
                Ok(AuditEntry {
                    at: row.try_get("at")?,
                    company: row.try_get("company")?,
                    user: row.try_get("username")?,
                    method: row.try_get("method")?,
                    path: row.try_get("path")?,
                    status: u16::try_from(row.try_get::<i64, _>("status")?)
                        .map_err(|_| StoreError::Corrupt("audit status".into()))?,
                    tdsps: tdsps
                        .split(',')
                        .filter(|t| !t.is_empty())
                        .map(|t| {
                            t.parse()
                                .map_err(|_| StoreError::Corrupt(format!("audit TDSP {t:?}")))
                        })
                        .collect::<Result<_>>()?,
                })
            })
            .collect()
    }
}
