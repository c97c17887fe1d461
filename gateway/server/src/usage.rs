//! Ingest of the TDSPs' daily interval files ([`hanrig_usage::lse`]), used by `hanrig usage
//! ingest` and by the watched directory of `gateway serve` and `lab up`.
//!
//! A file comes from one TDSP (its drop directory, or `--tdsp`); every block whose ESIID is not
//! that TDSP's — by the routing table, or by the meter's record — is refused with its line, and
//! the file's other blocks are stored. Each block is stored in one transaction, so a crash
//! leaves whole blocks, and re-ingesting the file is idempotent.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hanrig_gateway::esiid::Esiid;
use hanrig_gateway::routing::{Routing, Tdsp};
use hanrig_gateway_store::{Store, StoreError, Stored, UsageFile};
use hanrig_usage::lse::{Reader, Record, RowError, parse_file_name};
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

/// One meter's register reads, gathered while the file lists them together and stored in one
/// transaction.
#[derive(Debug, Default)]
struct Waiting {
    /// The meter, and the line of its first read.
    meter: Option<(Esiid, usize)>,
    daily: Vec<DailyRead>,
    billing: Vec<BillingRead>,
}

impl Waiting {
    /// Makes way for a read of `esiid` on `line`: the reads of another meter are stored first.
    async fn add(
        &mut self,
        store: &Store,
        routing: &Routing,
        report: &mut IngestReport,
        now: i64,
        line: usize,
        esiid: &Esiid,
    ) -> Result<(), IngestError> {
        if self.meter.as_ref().is_some_and(|(m, _)| m != esiid) {
            self.flush(store, routing, report, now).await?;
        }
        self.meter.get_or_insert_with(|| (esiid.clone(), line));
        Ok(())
    }

    /// Stores the reads gathered, or refuses them all when the meter is not the file's TDSP's.
    async fn flush(
        &mut self,
        store: &Store,
        routing: &Routing,
        report: &mut IngestReport,
        now: i64,
    ) -> Result<(), IngestError> {
        let Some((esiid, line)) = self.meter.take() else {
            return Ok(());
        };
        let (daily, billing) = (
            std::mem::take(&mut self.daily),
            std::mem::take(&mut self.billing),
        );
        let refuse = |report: &mut IngestReport, message: String| {
            report.refuse(RowError {
                line,
                field: "ESI ID",
                message: format!(
                    "{message}; its {} register reads from this line on skipped",
                    daily.len() + billing.len()
                ),
            })
        };
        if let Some(why) = foreign(routing, report.tdsp, &esiid) {
            refuse(report, why);
            return Ok(());
        }
        let (tdsp, sent_at) = (report.tdsp, report.sent_at);
        let stored = async {
            let mut s = Stored::default();
            if !daily.is_empty() {
                s += store
                    .store_daily_reads(tdsp, &esiid, &daily, sent_at, now)
                    .await?;
            }
            if !billing.is_empty() {
                s += store
                    .store_billing_reads(tdsp, &esiid, &billing, sent_at, now)
                    .await?;
            }
            Ok::<_, StoreError>(s)
        }
        .await;
        match stored {
            Ok(s) => report.reads += s,
            Err(StoreError::Usage(m)) => refuse(report, m),
            Err(e) => return Err(IngestError::Store(format!("{}: {e}", report.name))),
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
    let stored = async {
        while let Some((item, read)) = rx.recv().await {
            progress(read, size);
            let block = match item {
                Ok(Record::Intervals(b)) => b,
                Ok(Record::Daily(r)) => {
                    waiting
                        .add(store, routing, &mut report, now, r.line, &r.esiid)
                        .await?;
                    waiting.daily.push(r.read);
                    continue;
                }
                Ok(Record::Billing(r)) => {
                    waiting
                        .add(store, routing, &mut report, now, r.line, &r.esiid)
                        .await?;
                    waiting.billing.push(r.read);
                    continue;
                }
                Err(errors) => {
                    errors.into_iter().for_each(|e| report.refuse(e));
                    continue;
                }
            };
            waiting.flush(store, routing, &mut report, now).await?;
            report.blocks += 1;
            let refuse_block = |report: &mut IngestReport, message: String| {
                report.refuse(RowError {
                    line: block.line,
                    field: "ESI ID",
                    message: format!(
                        "{message}; the block's {} intervals skipped",
                        block.intervals.len()
                    ),
                })
            };
            if let Some(why) = foreign(routing, tdsp, &block.esiid) {
                refuse_block(&mut report, why);
            } else {
                match store
                    .store_intervals(tdsp, &block.esiid, &block.intervals, sent_at, now)
                    .await
                {
                    Ok(s) => report.stored += s,
                    Err(StoreError::Usage(m)) => refuse_block(&mut report, m),
                    Err(e) => return Err(IngestError::Store(format!("{}: {e}", report.name))),
                }
            }
            block.errors.into_iter().for_each(|e| report.refuse(e));
        }
        waiting.flush(store, routing, &mut report, now).await
    }
    .await;
    if let Err(e) = stored {
        reader.abort();
        return Err(e);
    }
    let _ = reader.await;
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
