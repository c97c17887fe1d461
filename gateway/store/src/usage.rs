//! The usage repository: meters and premises, 15-minute intervals with their revisions,
//! retention, and who may read which meter.

use std::str::FromStr;

use hanrig_gateway::esiid::Esiid;
use hanrig_gateway::routing::Tdsp;
use hanrig_usage::day::Day;
use hanrig_usage::{BillingRead, Channel, DailyRead, Interval, Quality};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError, batch};

/// A meter and its premise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterRecord {
    /// The ESIID.
    pub esiid: Esiid,
    /// The TDSP that reads it: its files write the meter's data, its users read it.
    pub tdsp: Tdsp,
    /// The meter's number ('' until known).
    pub meter_number: String,
    /// Street address ('' until known).
    pub address: String,
    /// City.
    pub city: String,
    /// ZIP code.
    pub zip: String,
    /// The retail electric provider of record ('' if none is known).
    pub rep: String,
    /// Last change, Unix seconds.
    pub updated_at: i64,
}

/// Who reads usage, and so which meters they see (seed Table 8): a TDSP only its own meters,
/// a REP only its customers', a customer only their own.
#[derive(Debug, Clone, Copy)]
pub enum UsageScope<'a> {
    /// The operator: every meter.
    All,
    /// A TDSP's users.
    Tdsp(Tdsp),
    /// A REP's users: the meters it is REP of record for.
    Rep(&'a str),
    /// A customer: these meters.
    Meters(&'a [Esiid]),
}

/// What storing a block of intervals did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stored {
    /// Intervals new to the repository or that replaced an earlier value.
    pub stored: u64,
    /// Intervals that changed nothing: the same value again, an older revision, or an estimate
    /// where an actual value is stored.
    pub unchanged: u64,
}

impl std::ops::AddAssign for Stored {
    fn add_assign(&mut self, other: Stored) {
        self.stored += other.stored;
        self.unchanged += other.unchanged;
    }
}

/// A value a later revision replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// The value, Wh.
    pub wh: i64,
    /// Its quality.
    pub quality: Quality,
    /// Its revision time.
    pub revised_at: i64,
    /// The revision that replaced it.
    pub replaced_by: i64,
}

/// What a purge did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Intervals moved from the online table to the archive (over 4 years old).
    pub archived: u64,
    /// Intervals deleted from the archive (over 7 years old).
    pub deleted: u64,
}

/// An interval file ingested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageFile {
    /// Its name.
    pub name: String,
    /// The TDSP that sent it.
    pub tdsp: Tdsp,
    /// Its sending time (the revision of its values).
    pub sent_at: i64,
    /// When it was ingested.
    pub ingested_at: i64,
    /// Blocks read.
    pub blocks: u64,
    /// What storing its intervals did.
    pub stored: Stored,
    /// Rows refused.
    pub errors: u64,
}

fn meter_row(row: &AnyRow) -> Result<MeterRecord> {
    let text = |c: &str| -> Result<String> { Ok(row.try_get::<String, _>(c)?) };
    let esiid = text("esiid")?;
    let tdsp = text("tdsp")?;
    Ok(MeterRecord {
        esiid: esiid
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("usage_meters {esiid}: {e}")))?,
        tdsp: Tdsp::from_str(&tdsp).map_err(|e| StoreError::Corrupt(format!("{e}")))?,
        meter_number: text("meter_number")?,
        address: text("address")?,
        city: text("city")?,
        zip: text("zip")?,
        rep: text("rep")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn interval_row(row: &AnyRow) -> Result<Interval> {
    let channel: String = row.try_get("channel")?;
    let quality: String = row.try_get("quality")?;
    Ok(Interval {
        start: row.try_get("start_at")?,
        channel: Channel::from_letter(&channel)
            .ok_or_else(|| StoreError::Corrupt(format!("interval channel {channel:?}")))?,
        wh: row.try_get("wh")?,
        quality: Quality::from_letter(&quality)
            .ok_or_else(|| StoreError::Corrupt(format!("interval quality {quality:?}")))?,
    })
}

/// Within `tx`, makes sure `esiid` is `tdsp`'s meter: one not yet known is added for it, one
/// of another TDSP is refused.
async fn claim_meter(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tdsp: Tdsp,
    esiid: &Esiid,
    now: i64,
) -> Result<()> {
    let owner: Option<String> = sqlx::query("SELECT tdsp FROM usage_meters WHERE esiid = $1")
        .bind(esiid.as_str())
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get("tdsp"))
        .transpose()?;
    match owner {
        Some(o) if o != tdsp.name() => Err(StoreError::Usage(format!(
            "meter {esiid} is {o}'s, not {tdsp}'s: its data comes from its own TDSP"
        ))),
        Some(_) => Ok(()),
        None => {
            sqlx::query(
                "INSERT INTO usage_meters (esiid, tdsp, meter_number, address, city, zip, rep, updated_at) \
                 VALUES ($1, $2, '', '', '', '', '', $3)",
            )
            .bind(esiid.as_str())
            .bind(tdsp.name())
            .bind(now)
            .execute(&mut **tx)
            .await?;
            Ok(())
        }
    }
}

fn day_of(row: &AnyRow, column: &str) -> Result<Day> {
    let text: String = row.try_get(column)?;
    Day::parse_iso(&text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn quality_of(row: &AnyRow) -> Result<Quality> {
    let q: String = row.try_get("quality")?;
    Quality::from_letter(&q).ok_or_else(|| StoreError::Corrupt(format!("quality {q:?}")))
}

/// The condition under which a later read replaces a stored one (`t` the table): its revision
/// is not older, it would not turn an actual value into an estimate, and it changes something.
fn replaces(t: &str, values: &[&str]) -> String {
    let changed: Vec<String> = values
        .iter()
        .chain(&["quality"])
        .map(|c| format!("excluded.{c} <> {t}.{c}"))
        .collect();
    format!(
        "excluded.revised_at >= {t}.revised_at AND NOT (excluded.quality = 'E' AND {t}.quality = 'A') \
         AND ({})",
        changed.join(" OR ")
    )
}

/// Seconds in the retention periods' years (the purge is at day granularity; a year of 365.25
/// days keeps every leap day).
const YEAR: i64 = 31_557_600;
/// Intervals stay online this long, then move to the archive.
pub const ONLINE_YEARS: i64 = 4;
/// Intervals are kept this long in all, then deleted.
pub const KEPT_YEARS: i64 = 7;

impl Store {
    /// Adds a meter or changes its premise data. A meter's TDSP never changes: a record
    /// naming another TDSP is refused.
    pub async fn put_meter(&self, meter: &MeterRecord) -> Result<()> {
        if let Some(old) = self.usage_meter(&meter.esiid).await?
            && old.tdsp != meter.tdsp
        {
            return Err(StoreError::Exists(format!(
                "meter {} of {}",
                meter.esiid, old.tdsp
            )));
        }
        sqlx::query(
            "INSERT INTO usage_meters (esiid, tdsp, meter_number, address, city, zip, rep, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (esiid) DO UPDATE SET meter_number = excluded.meter_number, address = excluded.address, \
             city = excluded.city, zip = excluded.zip, rep = excluded.rep, updated_at = excluded.updated_at",
        )
        .bind(meter.esiid.as_str())
        .bind(meter.tdsp.name())
        .bind(&meter.meter_number)
        .bind(&meter.address)
        .bind(&meter.city)
        .bind(&meter.zip)
        .bind(&meter.rep)
        .bind(meter.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One meter.
    pub async fn usage_meter(&self, esiid: &Esiid) -> Result<Option<MeterRecord>> {
        sqlx::query("SELECT * FROM usage_meters WHERE esiid = $1")
            .bind(esiid.as_str())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(meter_row)
            .transpose()
    }

    /// The meters `scope` may see, by ESIID.
    pub async fn usage_meters(&self, scope: UsageScope<'_>) -> Result<Vec<MeterRecord>> {
        let rows = match scope {
            UsageScope::All => {
                sqlx::query("SELECT * FROM usage_meters ORDER BY esiid")
                    .fetch_all(&self.pool)
                    .await?
            }
            UsageScope::Tdsp(t) => {
                sqlx::query("SELECT * FROM usage_meters WHERE tdsp = $1 ORDER BY esiid")
                    .bind(t.name())
                    .fetch_all(&self.pool)
                    .await?
            }
            UsageScope::Rep(rep) => {
                sqlx::query(
                    "SELECT * FROM usage_meters WHERE rep = $1 AND rep <> '' ORDER BY esiid",
                )
                .bind(rep)
                .fetch_all(&self.pool)
                .await?
            }
            UsageScope::Meters(list) => {
                let mut rows = Vec::new();
                for chunk in list.chunks(batch(self.backend)) {
                    let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
                    let sql = format!(
                        "SELECT * FROM usage_meters WHERE esiid IN ({}) ORDER BY esiid",
                        marks.join(", ")
                    );
                    let mut q = sqlx::query(&sql);
                    for e in chunk {
                        q = q.bind(e.as_str());
                    }
                    rows.extend(q.fetch_all(&self.pool).await?);
                }
                rows
            }
        };
        let mut meters: Vec<MeterRecord> = rows.iter().map(meter_row).collect::<Result<_>>()?;
        meters.sort_by(|a, b| a.esiid.as_str().cmp(b.esiid.as_str()));
        Ok(meters)
    }

    /// Stores `esiid`'s intervals as revision `revised_at` from `tdsp`'s file, in one
    /// transaction. A meter not yet known is added for `tdsp`; a meter of another TDSP is
    /// refused and nothing is stored. A value replaces the stored one only if its revision is
    /// not older and it would not turn an actual value into an estimate; each replaced value
    /// goes to the history.
    pub async fn store_intervals(
        &self,
        tdsp: Tdsp,
        esiid: &Esiid,
        intervals: &[Interval],
        revised_at: i64,
        now: i64,
    ) -> Result<Stored> {
        let mut tx = self.pool.begin().await?;
        claim_meter(&mut tx, tdsp, esiid, now).await?;
        let mut stored = 0;
        for chunk in intervals.chunks(batch(self.backend)) {
            let mut sql = String::from(
                "INSERT INTO usage_intervals (esiid, channel, start_at, wh, quality, revised_at) VALUES ",
            );
            for k in 0..chunk.len() {
                let p = 3 + k * 4;
                if k > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!(
                    "($1, ${p}, ${}, ${}, ${}, $2)",
                    p + 1,
                    p + 2,
                    p + 3
                ));
            }
            sql.push_str(&format!(
                " ON CONFLICT (esiid, channel, start_at) DO UPDATE SET wh = excluded.wh, \
                 quality = excluded.quality, revised_at = excluded.revised_at WHERE {}",
                replaces("usage_intervals", &["wh"])
            ));
            let mut q = sqlx::query(&sql).bind(esiid.as_str()).bind(revised_at);
            for i in chunk {
                q = q
                    .bind(i.channel.letter())
                    .bind(i.start)
                    .bind(i.wh)
                    .bind(i.quality.letter());
            }
            stored += q.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(Stored {
            stored,
            unchanged: intervals.len() as u64 - stored,
        })
    }

    /// Stores `esiid`'s daily register reads as revision `revised_at` from `tdsp`'s file, in
    /// one transaction, as [`Store::store_intervals`] stores intervals (a read replaces the
    /// stored one of its day under the same rules; no history is kept of reads).
    pub async fn store_daily_reads(
        &self,
        tdsp: Tdsp,
        esiid: &Esiid,
        reads: &[DailyRead],
        revised_at: i64,
        now: i64,
    ) -> Result<Stored> {
        let mut tx = self.pool.begin().await?;
        claim_meter(&mut tx, tdsp, esiid, now).await?;
        let mut stored = 0;
        for chunk in reads.chunks(batch(self.backend)) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|k| {
                    let p = 3 + k * 4;
                    format!("($1, ${p}, ${}, ${}, ${}, $2)", p + 1, p + 2, p + 3)
                })
                .collect();
            let sql = format!(
                "INSERT INTO usage_daily_reads (esiid, read_date, start_wh, end_wh, quality, revised_at) VALUES {} \
                 ON CONFLICT (esiid, read_date) DO UPDATE SET start_wh = excluded.start_wh, end_wh = excluded.end_wh, \
                 quality = excluded.quality, revised_at = excluded.revised_at WHERE {}",
                rows.join(", "),
                replaces("usage_daily_reads", &["start_wh", "end_wh"])
            );
            let mut q = sqlx::query(&sql).bind(esiid.as_str()).bind(revised_at);
            for r in chunk {
                q = q
                    .bind(r.day.to_string())
                    .bind(r.start_wh)
                    .bind(r.end_wh)
                    .bind(r.quality.letter());
            }
            stored += q.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(Stored {
            stored,
            unchanged: reads.len() as u64 - stored,
        })
    }

    /// Stores `esiid`'s monthly billing reads as revision `revised_at` from `tdsp`'s file, as
    /// [`Store::store_daily_reads`] does (a period is known by its start date).
    pub async fn store_billing_reads(
        &self,
        tdsp: Tdsp,
        esiid: &Esiid,
        reads: &[BillingRead],
        revised_at: i64,
        now: i64,
    ) -> Result<Stored> {
        let mut tx = self.pool.begin().await?;
        claim_meter(&mut tx, tdsp, esiid, now).await?;
        let mut stored = 0;
        for chunk in reads.chunks(batch(self.backend)) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|k| {
                    let p = 3 + k * 4;
                    format!("($1, ${p}, ${}, ${}, ${}, $2)", p + 1, p + 2, p + 3)
                })
                .collect();
            let sql = format!(
                "INSERT INTO usage_monthly_reads (esiid, start_date, end_date, wh, quality, revised_at) VALUES {} \
                 ON CONFLICT (esiid, start_date) DO UPDATE SET end_date = excluded.end_date, wh = excluded.wh, \
                 quality = excluded.quality, revised_at = excluded.revised_at WHERE {}",
                rows.join(", "),
                replaces("usage_monthly_reads", &["end_date", "wh"])
            );
            let mut q = sqlx::query(&sql).bind(esiid.as_str()).bind(revised_at);
            for r in chunk {
                q = q
                    .bind(r.start.to_string())
                    .bind(r.end.to_string())
                    .bind(r.wh)
                    .bind(r.quality.letter());
            }
            stored += q.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(Stored {
            stored,
            unchanged: reads.len() as u64 - stored,
        })
    }

    /// `esiid`'s daily register reads of the days `from..=to`, by day, each with its revision
    /// time.
    pub async fn daily_reads(
        &self,
        esiid: &Esiid,
        from: Day,
        to: Day,
    ) -> Result<Vec<(DailyRead, i64)>> {
        sqlx::query(
            "SELECT read_date, start_wh, end_wh, quality, revised_at FROM usage_daily_reads \
             WHERE esiid = $1 AND read_date >= $2 AND read_date <= $3 ORDER BY read_date",
        )
        .bind(esiid.as_str())
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok((
                DailyRead {
                    day: day_of(row, "read_date")?,
                    start_wh: row.try_get("start_wh")?,
                    end_wh: row.try_get("end_wh")?,
                    quality: quality_of(row)?,
                },
                row.try_get("revised_at")?,
            ))
        })
        .collect()
    }

    /// `esiid`'s monthly billing reads whose periods overlap the days `from..=to` (a period
    /// covers its start date up to the day before its end date), by start, each with its
    /// revision time.
    pub async fn billing_reads(
        &self,
        esiid: &Esiid,
        from: Day,
        to: Day,
    ) -> Result<Vec<(BillingRead, i64)>> {
        sqlx::query(
            "SELECT start_date, end_date, wh, quality, revised_at FROM usage_monthly_reads \
             WHERE esiid = $1 AND start_date <= $3 AND end_date > $2 ORDER BY start_date",
        )
        .bind(esiid.as_str())
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok((
                BillingRead {
                    start: day_of(row, "start_date")?,
                    end: day_of(row, "end_date")?,
                    wh: row.try_get("wh")?,
                    quality: quality_of(row)?,
                },
                row.try_get("revised_at")?,
            ))
        })
        .collect()
    }

    /// `esiid`'s intervals starting in `from..to` (Unix seconds), both channels, by channel and
    /// start.
    pub async fn intervals(&self, esiid: &Esiid, from: i64, to: i64) -> Result<Vec<Interval>> {
        sqlx::query(
            "SELECT channel, start_at, wh, quality FROM usage_intervals \
             WHERE esiid = $1 AND start_at >= $2 AND start_at < $3 ORDER BY channel, start_at",
        )
        .bind(esiid.as_str())
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(interval_row)
        .collect()
    }

    /// The values later revisions replaced for one interval, oldest first.
    pub async fn interval_history(
        &self,
        esiid: &Esiid,
        channel: Channel,
        start: i64,
    ) -> Result<Vec<Revision>> {
        sqlx::query(
            "SELECT wh, quality, revised_at, replaced_by FROM usage_interval_history \
             WHERE esiid = $1 AND channel = $2 AND start_at = $3 ORDER BY replaced_by, revised_at",
        )
        .bind(esiid.as_str())
        .bind(channel.letter())
        .bind(start)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let quality: String = row.try_get("quality")?;
            Ok(Revision {
                wh: row.try_get("wh")?,
                quality: Quality::from_letter(&quality)
                    .ok_or_else(|| StoreError::Corrupt(format!("quality {quality:?}")))?,
                revised_at: row.try_get("revised_at")?,
                replaced_by: row.try_get("replaced_by")?,
            })
        })
        .collect()
    }

    /// Retention: intervals that started over 4 years before `now` move to the archive, and
    /// archived ones over 7 years old are deleted, in one transaction. Revision history goes
    /// with its interval's deletion.
    pub async fn purge_usage(&self, now: i64) -> Result<Purged> {
        let online_from = now - ONLINE_YEARS * YEAR;
        let kept_from = now - KEPT_YEARS * YEAR;
        let mut tx = self.pool.begin().await?;
        let archived = sqlx::query(
            "INSERT INTO usage_intervals_archive (esiid, channel, start_at, wh, quality, revised_at) \
             SELECT esiid, channel, start_at, wh, quality, revised_at FROM usage_intervals WHERE start_at < $1 \
             ON CONFLICT (esiid, channel, start_at) DO NOTHING",
        )
        .bind(online_from)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("DELETE FROM usage_intervals WHERE start_at < $1")
            .bind(online_from)
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM usage_intervals_archive WHERE start_at < $1")
            .bind(kept_from)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM usage_interval_history WHERE start_at < $1")
            .bind(kept_from)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Purged { archived, deleted })
    }

    /// Records an ingested file.
    pub async fn record_usage_file(&self, file: &UsageFile) -> Result<()> {
        sqlx::query(
            "INSERT INTO usage_files (name, tdsp, sent_at, ingested_at, blocks, stored, unchanged, errors) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&file.name)
        .bind(file.tdsp.name())
        .bind(file.sent_at)
        .bind(file.ingested_at)
        .bind(file.blocks as i64)
        .bind(file.stored.stored as i64)
        .bind(file.stored.unchanged as i64)
        .bind(file.errors as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The files ingested, newest first.
    pub async fn usage_files(&self) -> Result<Vec<UsageFile>> {
        sqlx::query("SELECT * FROM usage_files ORDER BY id DESC")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                let tdsp: String = row.try_get("tdsp")?;
                let n = |c: &str| -> Result<u64> { Ok(row.try_get::<i64, _>(c)?.max(0) as u64) };
                Ok(UsageFile {
                    name: row.try_get("name")?,
                    tdsp: Tdsp::from_str(&tdsp).map_err(|e| StoreError::Corrupt(format!("{e}")))?,
                    sent_at: row.try_get("sent_at")?,
                    ingested_at: row.try_get("ingested_at")?,
                    blocks: n("blocks")?,
                    stored: Stored {
                        stored: n("stored")?,
                        unchanged: n("unchanged")?,
                    },
                    errors: n("errors")?,
                })
            })
            .collect()
    }
}
