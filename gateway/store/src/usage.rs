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

/// One meter's intervals, to store.
#[derive(Debug, Clone, Copy)]
pub struct IntervalBlock<'a> {
    /// The meter.
    pub esiid: &'a Esiid,
    /// Its intervals.
    pub intervals: &'a [Interval],
}

/// One meter's register reads, to store.
#[derive(Debug, Clone, Copy)]
pub struct MeterReads<'a> {
    /// The meter.
    pub esiid: &'a Esiid,
    /// Its daily register reads.
    pub daily: &'a [DailyRead],
    /// Its monthly billing reads.
    pub billing: &'a [BillingRead],
}

/// `($1, $p, $p+1, $p+2, $p+3, $2)` for the `k`th row of a multi-row insert whose rows share
/// the meter ($1) and the revision ($2) and have four values of their own.
fn four_values(k: usize) -> String {
    let p = 3 + k * 4;
    format!("($1, ${p}, ${}, ${}, ${}, $2)", p + 1, p + 2, p + 3)
}

/// What storing several blocks did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlocksStored {
    /// What storing the blocks taken did.
    pub stored: Stored,
    /// The blocks refused, by index, and why (meters of another TDSP).
    pub refused: Vec<(usize, String)>,
}

impl BlocksStored {
    /// For a store of one block: what it did, or why it was refused.
    fn single(self) -> Result<Stored> {
        match self.refused.into_iter().next() {
            Some((_, why)) => Err(StoreError::Usage(why)),
            None => Ok(self.stored),
        }
    }
}

/// Within `tx`, stores one block's intervals in multi-row statements; how many rows changed.
async fn insert_intervals(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: crate::Backend,
    block: &IntervalBlock<'_>,
    revised_at: i64,
) -> Result<u64> {
    let mut stored = 0;
    for chunk in block.intervals.chunks(batch(backend)) {
        let rows: Vec<String> = (0..chunk.len()).map(four_values).collect();
        let sql = format!(
            "INSERT INTO usage_intervals (esiid, channel, start_at, wh, quality, revised_at) VALUES {} \
             ON CONFLICT (esiid, channel, start_at) DO UPDATE SET wh = excluded.wh, \
             quality = excluded.quality, revised_at = excluded.revised_at WHERE {}",
            rows.join(", "),
            replaces("usage_intervals", &["wh"])
        );
        let mut q = sqlx::query(&sql)
            .bind(block.esiid.as_str())
            .bind(revised_at);
        for i in chunk {
            q = q
                .bind(i.channel.letter())
                .bind(i.start)
                .bind(i.wh)
                .bind(i.quality.letter());
        }
        stored += q.execute(&mut **tx).await?.rows_affected();
    }
    Ok(stored)
}

/// The intervals of `blocks` by meter, channel and start, the later of two for one interval
/// kept, and how many were given.
fn latest<'a>(
    blocks: impl Iterator<Item = &'a IntervalBlock<'a>>,
) -> (Vec<(&'a Esiid, &'a Interval)>, u64) {
    let mut rows: Vec<(&Esiid, &Interval)> = blocks
        .flat_map(|b| b.intervals.iter().map(move |i| (b.esiid, i)))
        .collect();
    let given = rows.len() as u64;
    rows.reverse();
    rows.sort_by_key(|(e, i)| (e.as_str(), i.channel, i.start));
    rows.dedup_by_key(|(e, i)| (e.as_str(), i.channel, i.start));
    (rows, given)
}

/// [`Store::store_interval_blocks`] on PostgreSQL: the meters claimed with array parameters,
/// the rows `COPY`ed into a staging table that lives for the transaction, and merged into the
/// repository by one `INSERT … SELECT … ON CONFLICT` under the same rules.
async fn copy_interval_blocks(
    pg: &sqlx::PgPool,
    tdsp: Tdsp,
    blocks: &[IntervalBlock<'_>],
    revised_at: i64,
    now: i64,
) -> Result<BlocksStored> {
    use std::collections::HashMap;
    use std::fmt::Write;
    let mut esiids: Vec<&str> = blocks.iter().map(|b| b.esiid.as_str()).collect();
    esiids.sort_unstable();
    esiids.dedup();
    let mut tx = pg.begin().await?;
    sqlx::query(
        "INSERT INTO usage_meters (esiid, tdsp, meter_number, address, city, zip, rep, updated_at) \
         SELECT e, $2, '', '', '', '', '', $3 FROM UNNEST($1::text[]) AS e ON CONFLICT (esiid) DO NOTHING",
    )
    .bind(&esiids)
    .bind(tdsp.name())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let owners: HashMap<String, String> =
        sqlx::query_as("SELECT esiid, tdsp FROM usage_meters WHERE esiid = ANY($1)")
            .bind(&esiids)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
    let mut done = BlocksStored::default();
    let mut taken = Vec::new();
    for (k, block) in blocks.iter().enumerate() {
        let e = block.esiid.as_str();
        match owners.get(e) {
            Some(o) if o == tdsp.name() => taken.push(block),
            owner => done.refused.push((
                k,
                format!(
                    "meter {e} is {}'s, not {tdsp}'s: its data comes from its own TDSP",
                    owner.map_or("another TDSP", String::as_str)
                ),
            )),
        }
    }
    let (rows, given) = latest(taken.into_iter());
    sqlx::query(
        "CREATE TEMP TABLE usage_stage (esiid TEXT NOT NULL, channel TEXT NOT NULL, \
         start_at BIGINT NOT NULL, wh BIGINT NOT NULL, quality TEXT NOT NULL) ON COMMIT DROP",
    )
    .execute(&mut *tx)
    .await?;
    let mut copy = tx.copy_in_raw("COPY usage_stage FROM STDIN").await?;
    let mut text = String::new();
    for chunk in rows.chunks(10_000) {
        text.clear();
        for (e, i) in chunk {
            let e = e.as_str();
            let _ = writeln!(
                text,
                "{e}\t{}\t{}\t{}\t{}",
                i.channel.letter(),
                i.start,
                i.wh,
                i.quality.letter()
            );
        }
        copy.send(text.as_bytes()).await?;
    }
    copy.finish().await?;
    let stored = sqlx::query(&format!(
        "INSERT INTO usage_intervals (esiid, channel, start_at, wh, quality, revised_at) \
         SELECT esiid, channel, start_at, wh, quality, $1 FROM usage_stage \
         ON CONFLICT (esiid, channel, start_at) DO UPDATE SET wh = excluded.wh, \
         quality = excluded.quality, revised_at = excluded.revised_at WHERE {}",
        replaces("usage_intervals", &["wh"])
    ))
    .bind(revised_at)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    done.stored = Stored {
        stored,
        unchanged: given - stored,
    };
    Ok(done)
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
        match self.put_meters(std::slice::from_ref(meter)).await?.pop() {
            Some((_, why)) => Err(StoreError::Exists(why)),
            None => Ok(()),
        }
    }

    /// Adds meters or changes their premise data, in one transaction; the records naming
    /// another TDSP than the meter's are refused (their indexes returned, with the reason) and
    /// the others stored.
    pub async fn put_meters(&self, meters: &[MeterRecord]) -> Result<Vec<(usize, String)>> {
        let mut tx = self.pool.begin().await?;
        let mut refused = Vec::new();
        for (k, meter) in meters.iter().enumerate() {
            let owner: Option<String> =
                sqlx::query("SELECT tdsp FROM usage_meters WHERE esiid = $1")
                    .bind(meter.esiid.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|r| r.try_get("tdsp"))
                    .transpose()?;
            if let Some(o) = owner.filter(|o| o != meter.tdsp.name()) {
                refused.push((
                    k,
                    format!("meter {} of {o}, not {}", meter.esiid, meter.tdsp),
                ));
                continue;
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
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(refused)
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
        self.store_interval_blocks(tdsp, &[IntervalBlock { esiid, intervals }], revised_at, now)
            .await?
            .single()
    }

    /// Stores several blocks of intervals as revision `revised_at` from `tdsp`'s file, in one
    /// transaction, as [`Store::store_intervals`] stores one: the blocks of meters of another
    /// TDSP are refused (their indexes returned, with the reason) and the others stored. Where
    /// two blocks give the same interval, the later one's value is taken. On PostgreSQL the
    /// rows go through `COPY` into a staging table and one `INSERT … SELECT`.
    pub async fn store_interval_blocks(
        &self,
        tdsp: Tdsp,
        blocks: &[IntervalBlock<'_>],
        revised_at: i64,
        now: i64,
    ) -> Result<BlocksStored> {
        if let Some(pg) = &self.pg {
            return copy_interval_blocks(pg, tdsp, blocks, revised_at, now).await;
        }
        let mut tx = self.pool.begin().await?;
        let mut done = BlocksStored::default();
        let mut foreign: std::collections::HashMap<&Esiid, Option<String>> = Default::default();
        for (k, block) in blocks.iter().enumerate() {
            if !foreign.contains_key(block.esiid) {
                let why = match claim_meter(&mut tx, tdsp, block.esiid, now).await {
                    Ok(()) => None,
                    Err(StoreError::Usage(why)) => Some(why),
                    Err(e) => return Err(e),
                };
                foreign.insert(block.esiid, why);
            }
            if let Some(Some(why)) = foreign.get(block.esiid) {
                done.refused.push((k, why.clone()));
            }
        }
        let taken = blocks
            .iter()
            .filter(|b| foreign.get(b.esiid).is_some_and(Option::is_none));
        let (rows, given) = latest(taken);
        let mut stored = 0;
        for meter in rows.chunk_by(|x, y| x.0 == y.0) {
            let intervals: Vec<Interval> = meter.iter().map(|(_, i)| **i).collect();
            let block = IntervalBlock {
                esiid: meter[0].0,
                intervals: &intervals,
            };
            stored += insert_intervals(&mut tx, self.backend, &block, revised_at).await?;
        }
        done.stored = Stored {
            stored,
            unchanged: given - stored,
        };
        tx.commit().await?;
        Ok(done)
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
        let meter = MeterReads {
            esiid,
            daily: reads,
            billing: &[],
        };
        self.store_one_meters_reads(tdsp, meter, revised_at, now)
            .await
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
        let meter = MeterReads {
            esiid,
            daily: &[],
            billing: reads,
        };
        self.store_one_meters_reads(tdsp, meter, revised_at, now)
            .await
    }

    async fn store_one_meters_reads(
        &self,
        tdsp: Tdsp,
        meter: MeterReads<'_>,
        revised_at: i64,
        now: i64,
    ) -> Result<Stored> {
        self.store_register_reads(tdsp, &[meter], revised_at, now)
            .await?
            .single()
    }

    /// Stores several meters' daily and billing reads as revision `revised_at` from `tdsp`'s
    /// file, in one transaction: the meters of another TDSP are refused (their indexes
    /// returned, with the reason), the others' reads stored under the intervals' rules.
    pub async fn store_register_reads(
        &self,
        tdsp: Tdsp,
        meters: &[MeterReads<'_>],
        revised_at: i64,
        now: i64,
    ) -> Result<BlocksStored> {
        let mut tx = self.pool.begin().await?;
        let mut done = BlocksStored::default();
        for (k, meter) in meters.iter().enumerate() {
            match claim_meter(&mut tx, tdsp, meter.esiid, now).await {
                Ok(()) => {}
                Err(StoreError::Usage(why)) => {
                    done.refused.push((k, why));
                    continue;
                }
                Err(e) => return Err(e),
            }
            let b = batch(self.backend);
            for chunk in meter.daily.chunks(b) {
                let rows: Vec<String> = (0..chunk.len()).map(four_values).collect();
                let sql = format!(
                    "INSERT INTO usage_daily_reads (esiid, read_date, start_wh, end_wh, quality, revised_at) VALUES {} \
                     ON CONFLICT (esiid, read_date) DO UPDATE SET start_wh = excluded.start_wh, end_wh = excluded.end_wh, \
                     quality = excluded.quality, revised_at = excluded.revised_at WHERE {}",
                    rows.join(", "),
                    replaces("usage_daily_reads", &["start_wh", "end_wh"])
                );
                let mut q = sqlx::query(&sql)
                    .bind(meter.esiid.as_str())
                    .bind(revised_at);
                for r in chunk {
                    q = q
                        .bind(r.day.to_string())
                        .bind(r.start_wh)
                        .bind(r.end_wh)
                        .bind(r.quality.letter());
                }
                done.stored.stored += q.execute(&mut *tx).await?.rows_affected();
            }
            for chunk in meter.billing.chunks(b) {
                let rows: Vec<String> = (0..chunk.len()).map(four_values).collect();
                let sql = format!(
                    "INSERT INTO usage_monthly_reads (esiid, start_date, end_date, wh, quality, revised_at) VALUES {} \
                     ON CONFLICT (esiid, start_date) DO UPDATE SET end_date = excluded.end_date, wh = excluded.wh, \
                     quality = excluded.quality, revised_at = excluded.revised_at WHERE {}",
                    rows.join(", "),
                    replaces("usage_monthly_reads", &["end_date", "wh"])
                );
                let mut q = sqlx::query(&sql)
                    .bind(meter.esiid.as_str())
                    .bind(revised_at);
                for r in chunk {
                    q = q
                        .bind(r.start.to_string())
                        .bind(r.end.to_string())
                        .bind(r.wh)
                        .bind(r.quality.letter());
                }
                done.stored.stored += q.execute(&mut *tx).await?.rows_affected();
            }
            done.stored.unchanged += (meter.daily.len() + meter.billing.len()) as u64;
        }
        tx.commit().await?;
        done.stored.unchanged -= done.stored.stored;
        Ok(done)
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

    /// The revision of each of `esiid`'s intervals starting in `from..to` (Unix seconds): its
    /// channel, its start and the sending time of the file that last changed it.
    pub async fn interval_revisions(
        &self,
        esiid: &Esiid,
        from: i64,
        to: i64,
    ) -> Result<Vec<(Channel, i64, i64)>> {
        sqlx::query(
            "SELECT channel, start_at, revised_at FROM usage_intervals \
             WHERE esiid = $1 AND start_at >= $2 AND start_at < $3",
        )
        .bind(esiid.as_str())
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let channel: String = row.try_get("channel")?;
            Ok((
                Channel::from_letter(&channel)
                    .ok_or_else(|| StoreError::Corrupt(format!("interval channel {channel:?}")))?,
                row.try_get("start_at")?,
                row.try_get("revised_at")?,
            ))
        })
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
