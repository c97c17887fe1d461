//! On-demand reads: asked for within their limits ([`hanrig_usage::odr`]), sent to the meter's
//! TDSP head-end, answered with the register or failed. The rows stay: they are what the limits
//! count.

use hanrig_gateway::esiid::Esiid;
use hanrig_gateway::routing::Tdsp;
use hanrig_usage::day::Day;
use hanrig_usage::odr::{ReadLimits, ReadRefused, ReadState};
use sqlx::Row;

use crate::{Backend, Result, Store, StoreError};

/// An on-demand read as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRecord {
    /// Row ID.
    pub id: i64,
    /// The meter.
    pub esiid: Esiid,
    /// Its TDSP, whose head-end reads it.
    pub tdsp: Tdsp,
    /// Who asked (a resident's user name).
    pub requested_by: String,
    /// When, Unix seconds.
    pub requested_at: i64,
    /// The head-end request that carries it (`""` until sent).
    pub request_id: String,
    /// When it was sent.
    pub sent_at: Option<i64>,
    /// Where it is.
    pub state: ReadState,
}

fn record(row: &sqlx::any::AnyRow) -> Result<ReadRecord> {
    let esiid: String = row.try_get("esiid")?;
    let tdsp: String = row.try_get("tdsp")?;
    let state: String = row.try_get("state")?;
    let id: i64 = row.try_get("id")?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("meter read {id}: {what}"));
    let state = match state.as_str() {
        "pending" => ReadState::Pending,
        "completed" => ReadState::Completed {
            register_wh: row
                .try_get::<Option<i64>, _>("register_wh")?
                .and_then(|w| u64::try_from(w).ok())
                .ok_or_else(|| corrupt("completed without a register"))?,
            read_at: row
                .try_get::<Option<i64>, _>("read_at")?
                .ok_or_else(|| corrupt("completed without a time"))?,
        },
        "failed" => ReadState::Failed {
            reason: row.try_get("reason")?,
        },
        other => return Err(corrupt(&format!("state {other:?}"))),
    };
    Ok(ReadRecord {
        id,
        esiid: esiid.parse().map_err(|e| corrupt(&format!("{e}")))?,
        tdsp: tdsp.parse().map_err(|e| corrupt(&format!("{e}")))?,
        requested_by: row.try_get("requested_by")?,
        requested_at: row.try_get("requested_at")?,
        request_id: row.try_get("request_id")?,
        sent_at: row.try_get("sent_at")?,
        state,
    })
}

impl Store {
    /// Asks for an on-demand read of `esiid` for `by` at `now`, within `limits` (the meter's
    /// reads of the last 60 minutes and of today, its TDSP's of today — Texas days): the new
    /// read, pending, or why it was refused (nothing stored). A meter the repository does not
    /// know is [`StoreError::NotFound`]. Reads of one meter are counted one at a time on both
    /// backends (SQLite has one writer; on PostgreSQL the meter's row is locked), so two at
    /// once cannot both take the last one allowed.
    pub async fn request_read(
        &self,
        esiid: &Esiid,
        by: &str,
        limits: &ReadLimits,
        now: i64,
    ) -> Result<std::result::Result<ReadRecord, ReadRefused>> {
        let today = Day::containing(now)
            .map_err(|e| StoreError::Usage(format!("the time {now}: {e}")))?
            .start();
        let mut tx = self.pool.begin().await?;
        let lock = match self.backend {
            Backend::Sqlite => "SELECT tdsp FROM usage_meters WHERE esiid = $1",
            Backend::Postgres => "SELECT tdsp FROM usage_meters WHERE esiid = $1 FOR UPDATE",
        };
        let Some(row) = sqlx::query(lock)
            .bind(esiid.as_str())
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Err(StoreError::NotFound(format!("meter {esiid}")));
        };
        let tdsp: String = row.try_get("tdsp")?;
        let count = |sql: &'static str, key: String, since: i64| {
            sqlx::query_scalar::<_, i64>(sql).bind(key).bind(since)
        };
        let meter_sql = "SELECT COUNT(*) FROM meter_reads WHERE esiid = $1 AND requested_at > $2";
        let hour = count(meter_sql, esiid.to_string(), now - 3600)
            .fetch_one(&mut *tx)
            .await?;
        if hour >= i64::from(limits.per_meter_hour) {
            return Ok(Err(ReadRefused::Hour));
        }
        let day = count(meter_sql, esiid.to_string(), today - 1)
            .fetch_one(&mut *tx)
            .await?;
        if day >= i64::from(limits.per_meter_day) {
            return Ok(Err(ReadRefused::Day));
        }
        let tdsp_day = count(
            "SELECT COUNT(*) FROM meter_reads WHERE tdsp = $1 AND requested_at > $2",
            tdsp.clone(),
            today - 1,
        )
        .fetch_one(&mut *tx)
        .await?;
        if tdsp_day >= i64::from(limits.per_tdsp_day) {
            return Ok(Err(ReadRefused::TdspDay));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO meter_reads (esiid, tdsp, requested_by, requested_at, state) \
             VALUES ($1, $2, $3, $4, 'pending') RETURNING id",
        )
        .bind(esiid.as_str())
        .bind(&tdsp)
        .bind(by)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        self.announce_work();
        Ok(Ok(self.read(id).await?))
    }

    /// One read.
    pub async fn read(&self, id: i64) -> Result<ReadRecord> {
        let row = sqlx::query("SELECT * FROM meter_reads WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("meter read {id}")))?;
        record(&row)
    }

    /// The latest read asked for of `esiid`, if any.
    pub async fn latest_read(&self, esiid: &Esiid) -> Result<Option<ReadRecord>> {
        sqlx::query("SELECT * FROM meter_reads WHERE esiid = $1 ORDER BY id DESC LIMIT 1")
            .bind(esiid.as_str())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(record)
            .transpose()
    }

    /// The completed read of `esiid` before read `id`, if any.
    pub async fn previous_completed_read(
        &self,
        esiid: &Esiid,
        id: i64,
    ) -> Result<Option<ReadRecord>> {
        sqlx::query(
            "SELECT * FROM meter_reads WHERE esiid = $1 AND id < $2 AND state = 'completed' \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(esiid.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(record)
        .transpose()
    }

    /// `tdsp`'s pending reads not yet sent (`sent` false) or sent and unanswered (`sent` true),
    /// oldest first.
    pub async fn pending_reads(&self, tdsp: Tdsp, sent: bool) -> Result<Vec<ReadRecord>> {
        let and = if sent {
            "request_id <> ''"
        } else {
            "request_id = ''"
        };
        sqlx::query(&format!(
            "SELECT * FROM meter_reads WHERE tdsp = $1 AND state = 'pending' AND {and} ORDER BY id"
        ))
        .bind(tdsp.name())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(record)
        .collect()
    }

    /// Records pending reads `ids` as sent in head-end request `request_id` at `now`; returns
    /// how many moved (a read already sent or finished stays as it is).
    pub async fn mark_reads_sent(&self, ids: &[i64], request_id: &str, now: i64) -> Result<u64> {
        if request_id.is_empty() {
            return Err(StoreError::Usage(
                "an empty request ID names no head-end request".into(),
            ));
        }
        let mut moved = 0;
        for id in ids {
            moved += sqlx::query(
                "UPDATE meter_reads SET request_id = $1, sent_at = $2 \
                 WHERE id = $3 AND state = 'pending' AND request_id = ''",
            )
            .bind(request_id)
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        Ok(moved)
    }

    /// Ends pending read `id` as `outcome` (completed or failed) at `now`; `false` when it had
    /// ended already (a repeated answer changes nothing).
    pub async fn finish_read(&self, id: i64, outcome: &ReadState, now: i64) -> Result<bool> {
        let (state, wh, at, reason) = match outcome {
            ReadState::Pending => {
                return Err(StoreError::Usage(format!(
                    "meter read {id}: a head-end answers completed or failed, not pending"
                )));
            }
            ReadState::Completed {
                register_wh,
                read_at,
            } => (
                "completed",
                Some(i64::try_from(*register_wh).map_err(|_| {
                    StoreError::Usage(format!("meter read {id}: a register of {register_wh} Wh"))
                })?),
                Some(*read_at),
                String::new(),
            ),
            ReadState::Failed { reason } => ("failed", None, None, reason.clone()),
        };
        let done = sqlx::query(
            "UPDATE meter_reads SET state = $1, register_wh = $2, read_at = $3, reason = $4, \
             finished_at = $5 WHERE id = $6 AND state = 'pending'",
        )
        .bind(state)
        .bind(wh)
        .bind(at)
        .bind(reason)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Fails `tdsp`'s reads sent before `sent_before` and still unanswered, saying the meter
    /// was not read in time; returns how many.
    pub async fn expire_reads(&self, tdsp: Tdsp, sent_before: i64, now: i64) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE meter_reads SET state = 'failed', finished_at = $1, \
             reason = 'the head-end did not answer before the read expired' \
             WHERE tdsp = $2 AND state = 'pending' AND request_id <> '' AND sent_at < $3",
        )
        .bind(now)
        .bind(tdsp.name())
        .bind(sent_before)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}
