//! Ingest of the TDSPs' daily interval files ([`hanrig_usage::lse`]), used by `hanrig usage
//! ingest` and by the watched directory of `gateway serve` and `lab up`.
//!
//! A file comes from one TDSP (its drop directory, or `--tdsp`); every block whose ESIID is not
//! that TDSP's — by the routing table, or by the meter's record — is refused with its line, and
//! the file's other blocks are stored. Consecutive blocks are stored together, up to
//! [`BATCH_INTERVALS`] intervals in one transaction (on PostgreSQL through `COPY`), and
//! register reads up to [`BATCH_READS`] in one; so a crash leaves whole blocks, and
//! re-ingesting the file is idempotent.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hanrig_gateway::esiid::Esiid;
use hanrig_gateway::routing::{Routing, Tdsp};
use hanrig_gateway_store::{IntervalBlock, MeterReads, MeterRecord, Store, Stored, UsageFile};
use hanrig_usage::lse::{Block, Reader, Record, RowError, parse_file_name};
use hanrig_usage::{BillingRead, DailyRead};

/// Row errors kept in a report (all are counted).
pub const MAX_REPORTED_ERRORS: usize = 1_000;

/// Why a file was not ingested.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// The file cannot be taken: unreadable, or its name gives no sending time.
    #[error("{0}")]
    File(String),
    /// The repository failed; the blocks stored so far stay, and ingesting the file again
    /// completes it.
    #[error("{0}")]
    Store(String),
}

/// What ingesting one file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestReport {
    /// The file's name.
    pub name: String,
    /// The TDSP that sent it.
    pub tdsp: Tdsp,
    /// Its sending time, the revision of its values (Unix seconds).
    pub sent_at: i64,
    /// Blocks read (refused ones included).
    pub blocks: u64,
    /// What storing its intervals did.
    pub stored: Stored,
    /// What storing its daily and billing reads did.
    pub reads: Stored,
    /// Rows refused, all counted.
    pub error_count: u64,
    /// The first [`MAX_REPORTED_ERRORS`] of them.
    pub errors: Vec<RowError>,
}

impl IngestReport {
    fn refuse(&mut self, e: RowError) {
        self.error_count += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(e);
        }
    }

    /// One line for people.
    pub fn summary(&self) -> String {
        format!(
            "{}: {} blocks from {}, {} intervals stored, {} unchanged, {} register reads stored, {} unchanged, {} rows refused",
            self.name,
            self.blocks,
            self.tdsp,
            self.stored.stored,
            self.stored.unchanged,
            self.reads.stored,
            self.reads.unchanged,
            self.error_count
        )
    }
}

/// Intervals gathered from consecutive blocks before they are stored in one transaction.
pub const BATCH_INTERVALS: usize = 50_000;

/// Refuses `block` as a whole.
fn refuse_block(report: &mut IngestReport, block: &Block, message: String) {
    report.refuse(RowError {
        line: block.line,
        field: "ESI ID",
        message: format!(
            "{message}; the block's {} intervals skipped",
            block.intervals.len()
        ),
    })
}

/// Stores the blocks gathered in one transaction; a block of another TDSP's meter is refused
/// with its line. Each block's refused rows go to the report.
async fn store_batch(
    store: &Store,
    report: &mut IngestReport,
    batch: &mut Vec<Block>,
    now: i64,
) -> Result<(), IngestError> {
    if batch.is_empty() {
        return Ok(());
    }
    let blocks: Vec<IntervalBlock<'_>> = batch
        .iter()
        .map(|b| IntervalBlock {
            esiid: &b.esiid,
            intervals: &b.intervals,
        })
        .collect();
    let done = store
        .store_interval_blocks(report.tdsp, &blocks, report.sent_at, now)
        .await
        .map_err(|e| IngestError::Store(format!("{}: {e}", report.name)))?;
    report.stored += done.stored;
    for (k, why) in done.refused {
        refuse_block(report, &batch[k], why);
    }
    for block in batch.drain(..) {
        block.errors.into_iter().for_each(|e| report.refuse(e));
    }
    Ok(())
}

/// Why `esiid` is not `tdsp`'s meter by the routing table, if it is not.
fn foreign(routing: &Routing, tdsp: Tdsp, esiid: &Esiid) -> Option<String> {
    match routing.route(esiid) {
        Ok(t) if t == tdsp => None,
        Ok(t) => Some(format!(
            "{esiid} is {t}'s meter (by its prefix), not {tdsp}'s"
        )),
        Err(e) => Some(e.to_string()),
    }
}

/// One meter's reads as the file lists them together.
#[derive(Debug)]
struct Gathered {
    esiid: Esiid,
    /// The line of its first read.
    line: usize,
    daily: Vec<DailyRead>,
    billing: Vec<BillingRead>,
}

/// Register reads gathered, meter by meter as the file lists them, and stored together.
#[derive(Debug, Default)]
struct Waiting {
    meters: Vec<Gathered>,
    reads: usize,
}

/// Register reads gathered before they are stored in one transaction.
pub const BATCH_READS: usize = 5_000;

impl Waiting {
    /// The reads of `esiid`, whose read is on `line`.
    fn of(&mut self, line: usize, esiid: &Esiid) -> &mut Gathered {
        self.reads += 1;
        if self.meters.last().is_none_or(|m| m.esiid != *esiid) {
            self.meters.push(Gathered {
                esiid: esiid.clone(),
                line,
                daily: Vec::new(),
                billing: Vec::new(),
            });
        }
        let last = self.meters.len() - 1;
        &mut self.meters[last]
    }

    /// Stores the reads gathered if there are [`BATCH_READS`] of them, or all of them at the
    /// end of the file.
    async fn flush(
        &mut self,
        store: &Store,
        routing: &Routing,
        report: &mut IngestReport,
        now: i64,
        end: bool,
    ) -> Result<(), IngestError> {
        if self.reads == 0 || (self.reads < BATCH_READS && !end) {
            return Ok(());
        }
        let meters = std::mem::take(&mut self.meters);
        self.reads = 0;
        let refuse = |report: &mut IngestReport, m: &Gathered, message: String| {
            report.refuse(RowError {
                line: m.line,
                field: "ESI ID",
                message: format!(
                    "{message}; its {} register reads from this line on skipped",
                    m.daily.len() + m.billing.len()
                ),
            })
        };
        let mut taken = Vec::new();
        for m in &meters {
            match foreign(routing, report.tdsp, &m.esiid) {
                Some(why) => refuse(report, m, why),
                None => taken.push(m),
            }
        }
        let reads: Vec<MeterReads<'_>> = taken
            .iter()
            .map(|m| MeterReads {
                esiid: &m.esiid,
                daily: &m.daily,
                billing: &m.billing,
            })
            .collect();
        let done = store
            .store_register_reads(report.tdsp, &reads, report.sent_at, now)
            .await
            .map_err(|e| IngestError::Store(format!("{}: {e}", report.name)))?;
        report.reads += done.stored;
        for (k, why) in done.refused {
            refuse(report, taken[k], why);
        }
        Ok(())
    }
}

/// Ingests the file at `path` from `tdsp`. Its revision time comes from its name
/// (`<DUNS>IntervalData<ccyymmddhhmmss><nnn>.lse`) unless `sent` gives it. `progress` is told
/// the bytes read so far and the file's size. Fails only when the file cannot be taken at all
/// or the repository fails; refused rows are in the report.
pub async fn ingest_file(
    store: &Store,
    routing: &Routing,
    tdsp: Tdsp,
    path: &Path,
    sent: Option<i64>,
    now: i64,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<IngestReport, IngestError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sent_at = match sent {
        Some(t) => t,
        None => parse_file_name(&name).map_err(IngestError::File)?.sent,
    };
    let file = std::fs::File::open(path)
        .map_err(|e| IngestError::File(format!("{}: {e}", path.display())))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    // The file is read on a blocking thread, a record at a time, while records are stored.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(Result<Record, Vec<RowError>>, u64)>(8);
    let reader = tokio::task::spawn_blocking(move || {
        let mut records = Reader::new(std::io::BufReader::new(file));
        while let Some(item) = records.next() {
            if tx.blocking_send((item, records.bytes_read())).is_err() {
                break;
            }
        }
    });
    let mut report = IngestReport {
        name,
        tdsp,
        sent_at,
        blocks: 0,
        stored: Stored::default(),
        reads: Stored::default(),
        error_count: 0,
        errors: Vec::new(),
    };
    let mut waiting = Waiting::default();
    let (mut batch, mut batched) = (Vec::new(), 0);
    let stored = async {
        while let Some((item, read)) = rx.recv().await {
            progress(read, size);
            let block = match item {
                Ok(Record::Intervals(b)) => b,
                Ok(Record::Daily(r)) => {
                    waiting.of(r.line, &r.esiid).daily.push(r.read);
                    waiting
                        .flush(store, routing, &mut report, now, false)
                        .await?;
                    continue;
                }
                Ok(Record::Billing(r)) => {
                    waiting.of(r.line, &r.esiid).billing.push(r.read);
                    waiting
                        .flush(store, routing, &mut report, now, false)
                        .await?;
                    continue;
                }
                Err(errors) => {
                    errors.into_iter().for_each(|e| report.refuse(e));
                    continue;
                }
            };
            report.blocks += 1;
            if let Some(why) = foreign(routing, tdsp, &block.esiid) {
                refuse_block(&mut report, &block, why);
                block.errors.iter().for_each(|e| report.refuse(e.clone()));
                continue;
            }
            batched += block.intervals.len();
            batch.push(block);
            if batched >= BATCH_INTERVALS {
                store_batch(store, &mut report, &mut batch, now).await?;
                batched = 0;
            }
        }
        store_batch(store, &mut report, &mut batch, now).await?;
        waiting.flush(store, routing, &mut report, now, true).await
    }
    .await;
    if let Err(e) = stored {
        reader.abort();
        return Err(e);
    }
    let _ = reader.await;
    report.errors.sort_by_key(|e| e.line);
    store
        .record_usage_file(&UsageFile {
            name: report.name.clone(),
            tdsp,
            sent_at,
            ingested_at: now,
            blocks: report.blocks,
            stored: report.stored,
            errors: report.error_count,
        })
        .await
        .map_err(|e| IngestError::Store(e.to_string()))?;
    Ok(report)
}

/// What ingesting one premise file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PremiseReport {
    /// The file's name.
    pub name: String,
    /// Meters added or updated.
    pub stored: u64,
    /// Rows refused, with their line and field.
    pub errors: Vec<RowError>,
}

impl PremiseReport {
    /// One line for people.
    pub fn summary(&self) -> String {
        format!(
            "{}: {} meters' premises stored, {} rows refused",
            self.name,
            self.stored,
            self.errors.len()
        )
    }
}

/// Ingests the premise file at `path` from `tdsp` ([`hanrig_usage::premise`]): each good row
/// adds its meter or updates its premise, in one transaction; a row of another TDSP's meter —
/// by the routing table or the meter's record — is refused with its line, as is each bad row.
/// Fails only when the file cannot be read or the repository fails.
pub async fn ingest_premises(
    store: &Store,
    routing: &Routing,
    tdsp: Tdsp,
    path: &Path,
    now: i64,
) -> Result<PremiseReport, IngestError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = std::fs::File::open(path)
        .map_err(|e| IngestError::File(format!("{}: {e}", path.display())))?;
    let rows = tokio::task::spawn_blocking(move || {
        hanrig_usage::premise::read(std::io::BufReader::new(file))
    })
    .await
    .map_err(|e| IngestError::File(format!("{}: {e}", path.display())))?;
    let mut errors = Vec::new();
    let mut meters = Vec::new();
    let mut lines = Vec::new();
    for row in rows {
        match row {
            Err(e) => errors.push(e),
            Ok(p) => {
                if let Some(why) = foreign(routing, tdsp, &p.esiid) {
                    errors.push(RowError {
                        line: p.line,
                        field: "ESIID",
                        message: why,
                    });
                    continue;
                }
                lines.push(p.line);
                meters.push(MeterRecord {
                    esiid: p.esiid,
                    tdsp,
                    meter_number: p.meter_number,
                    address: p.address,
                    city: p.city,
                    zip: p.zip,
                    rep: p.rep,
                    updated_at: now,
                });
            }
        }
    }
    let refused = store
        .put_meters(&meters)
        .await
        .map_err(|e| IngestError::Store(format!("{name}: {e}")))?;
    let stored = (meters.len() - refused.len()) as u64;
    for (k, why) in refused {
        errors.push(RowError {
            line: lines[k],
            field: "ESIID",
            message: why,
        });
    }
    errors.sort_by_key(|e| e.line);
    Ok(PremiseReport {
        name,
        stored,
        errors,
    })
}

/// The drop directory's layout: `<dir>/<tdsp>/` for each TDSP's files; a file ingested moves to
/// `<dir>/<tdsp>/done/`, with `<name>.errors.txt` beside it when rows were refused; a file that
/// could not be read at all moves to `<dir>/<tdsp>/failed/` with its reason.
#[derive(Debug, Clone)]
pub struct DropDirectory {
    /// The directory.
    pub dir: PathBuf,
    /// How often it is looked at.
    pub every: Duration,
}

impl DropDirectory {
    /// Creates the TDSPs' subdirectories.
    pub fn prepare(&self) -> Result<(), String> {
        for t in Tdsp::ALL {
            for sub in ["", "done", "failed"] {
                let d = self.dir.join(t.name()).join(sub);
                std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
            }
        }
        Ok(())
    }

    /// Ingests every `.lse` file waiting, by name; returns the reports. A repository failure
    /// stops the sweep and leaves the file where it is, for the next sweep.
    pub async fn sweep(
        &self,
        store: &Store,
        routing: &Routing,
        now: i64,
    ) -> Result<Vec<IngestReport>, String> {
        let mut reports = Vec::new();
        for t in Tdsp::ALL {
            let dir = self.dir.join(t.name());
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.to_string_lossy().contains(".lse"))
                .collect();
            files.sort();
            for path in files {
                let name = path
                    .file_name()
                    .map(|n| n.to_os_string())
                    .unwrap_or_default();
                match ingest_file(store, routing, t, &path, None, now, &mut |_, _| {}).await {
                    Ok(report) => {
                        let done = dir.join("done").join(&name);
                        if !report.errors.is_empty() {
                            let mut text: String =
                                report.errors.iter().map(|e| format!("{e}\n")).collect();
                            text.push_str(&format!("{}\n", report.summary()));
                            let mut errors = done.clone().into_os_string();
                            errors.push(".errors.txt");
                            std::fs::write(&errors, text).map_err(|e| e.to_string())?;
                        }
                        std::fs::rename(&path, &done).map_err(|e| e.to_string())?;
                        reports.push(report);
                    }
                    Err(IngestError::Store(e)) => return Err(e),
                    Err(IngestError::File(reason)) => {
                        let failed = dir.join("failed").join(&name);
                        let mut why = failed.clone().into_os_string();
                        why.push(".reason.txt");
                        std::fs::write(&why, format!("{reason}\n")).map_err(|e| e.to_string())?;
                        std::fs::rename(&path, &failed).map_err(|e| e.to_string())?;
                    }
                }
            }
        }
        Ok(reports)
    }

    /// Sweeps every [`DropDirectory::every`] until `stopped`.
    pub async fn watch(
        self,
        store: Store,
        routing: Routing,
        clock: fn() -> i64,
        mut stopped: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            if let Err(e) = self.sweep(&store, &routing, clock()).await {
                eprintln!(
                    "hanrig gateway: usage drop directory {}: {e}",
                    self.dir.display()
                );
            }
            tokio::select! {
                () = tokio::time::sleep(self.every) => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
        }
    }
}
