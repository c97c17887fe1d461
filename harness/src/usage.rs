//! `hanrig usage …`: the usage repository — ingest the TDSPs' interval and premise files, export
//! a meter's data as Green Button or CSV, apply retention, list meters.

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use hanrig_gateway::esiid::Esiid;
use hanrig_gateway::routing::Tdsp;
use hanrig_gateway_connect::unix_now as now;
use hanrig_gateway_server::usage::{ingest_file, ingest_premises};
use hanrig_gateway_store::{Store, UsageScope};
use hanrig_usage::day::{Day, parse_compact_local};
use hanrig_usage::{Format, espi, export_span, render};
use indicatif::{ProgressBar, ProgressStyle};

use crate::gateway::{DEFAULT_DATABASE, routing};

/// `hanrig usage …`.
#[derive(Debug, Subcommand)]
pub enum UsageCommand {
    /// Ingest daily interval files (the LSE-style CSV of `hanrig_usage::lse`, named
    /// <DUNS>IntervalData<ccyymmddhhmmss><nnn>.lse). Each bad row is reported with its line and
    /// field and the good rows are stored; ingesting a file again changes nothing. Exit code 1
    /// when rows were refused.
    Ingest {
        /// The TDSP that sent the files (oncor, centerpoint, aep-texas-central,
        /// aep-texas-north, tnmp): a block of another TDSP's meter is refused.
        #[arg(long)]
        tdsp: String,
        /// The sending time of files not named by the convention, YYYYMMDDHHMMSS (Texas time):
        /// the revision of their values.
        #[arg(long)]
        sent: Option<String>,
        /// The repository.
        #[arg(long, default_value = DEFAULT_DATABASE)]
        database_url: String,
        /// A routing table (TOML) instead of the built-in Texas one.
        #[arg(long)]
        routing: Option<PathBuf>,
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Ingest premise files (CSV with the header ESIID,METER_NUMBER,ADDRESS,CITY,ZIP,REP; see
    /// `hanrig_usage::premise`): each meter's number, service address and REP of record. Each
    /// bad row is reported with its line and field and the good rows are stored. Exit code 1
    /// when rows were refused.
    Premises {
        /// The TDSP that sent the files: a row of another TDSP's meter is refused.
        #[arg(long)]
        tdsp: String,
        /// The repository.
        #[arg(long, default_value = DEFAULT_DATABASE)]
        database_url: String,
        /// A routing table (TOML) instead of the built-in Texas one.
        #[arg(long)]
        routing: Option<PathBuf>,
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Export a meter's 15-minute data for local days FROM to TO (at most 13 months) as Green
    /// Button ESPI XML or CSV.
    Export {
        /// The meter.
        #[arg(long)]
        esiid: String,
        /// The first day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// The last day, YYYY-MM-DD.
        #[arg(long)]
        to: String,
        /// espi or csv.
        #[arg(long, default_value = "espi")]
        format: String,
        /// Write here instead of to standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The repository.
        #[arg(long, default_value = DEFAULT_DATABASE)]
        database_url: String,
    },
    /// Retention: move intervals over 4 years old to the archive, delete those over 7.
    Purge {
        /// The repository.
        #[arg(long, default_value = DEFAULT_DATABASE)]
        database_url: String,
    },
    /// List the meters (of one TDSP, with --tdsp).
    Meters {
        /// Only this TDSP's.
        #[arg(long)]
        tdsp: Option<String>,
        /// The repository.
        #[arg(long, default_value = DEFAULT_DATABASE)]
        database_url: String,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

async fn open(url: &str) -> Result<Store> {
    Store::open(url)
        .await
        .with_context(|| format!("opening {url}"))
}

fn tdsp(name: &str) -> Result<Tdsp> {
    Tdsp::from_str(name).map_err(|e| anyhow!("--tdsp: {e}"))
}

/// Runs one `hanrig usage` command.
pub fn run(command: UsageCommand) -> Result<String> {
    let rt = runtime()?;
    match command {
        UsageCommand::Ingest {
            tdsp: sender,
            sent,
            database_url,
            routing: table,
            files,
        } => rt.block_on(async {
            let sender = tdsp(&sender)?;
            let sent = sent
                .map(|s| parse_compact_local(&s).map_err(|e| anyhow!("--sent: {e}")))
                .transpose()?;
            let routing = routing(table.as_deref()).map_err(anyhow::Error::msg)?;
            let store = open(&database_url).await?;
            let mut refused = 0;
            let mut out = String::new();
            for path in &files {
                let bar = ProgressBar::new(0).with_style(
                    ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar.set_message(path.display().to_string());
                let report = ingest_file(
                    &store,
                    &routing,
                    sender,
                    path,
                    sent,
                    now(),
                    &mut |read, size| {
                        bar.set_length(size);
                        bar.set_position(read);
                    },
                )
                .await;
                bar.finish_and_clear();
                let report = report?;
                for e in &report.errors {
                    eprintln!("{}: {e}", path.display());
                }
                if report.error_count > report.errors.len() as u64 {
                    eprintln!(
                        "{}: … and {} more refused rows",
                        path.display(),
                        report.error_count - report.errors.len() as u64
                    );
                }
                refused += report.error_count;
                out.push_str(&report.summary());
                out.push('\n');
            }
            if refused > 0 {
                print!("{out}");
                bail!("{refused} rows refused (listed above); every other row is stored");
            }
            Ok(out)
        }),
        UsageCommand::Premises {
            tdsp: sender,
            database_url,
            routing: table,
            files,
        } => rt.block_on(async {
            let sender = tdsp(&sender)?;
            let routing = routing(table.as_deref()).map_err(anyhow::Error::msg)?;
            let store = open(&database_url).await?;
            let (mut refused, mut out) = (0, String::new());
            for path in &files {
                let report = ingest_premises(&store, &routing, sender, path, now()).await?;
                for e in &report.errors {
                    eprintln!("{}: {e}", path.display());
                }
                refused += report.errors.len();
                out.push_str(&report.summary());
                out.push('\n');
            }
            if refused > 0 {
                print!("{out}");
                bail!("{refused} rows refused (listed above); every other row is stored");
            }
            Ok(out)
        }),
        UsageCommand::Export {
            esiid,
            from,
            to,
            format,
            out,
            database_url,
        } => rt.block_on(async {
            let esiid: Esiid = esiid.parse().map_err(|e| anyhow!("--esiid: {e}"))?;
            let (from, to) = (
                Day::parse_iso(&from).map_err(|e| anyhow!("--from: {e}"))?,
                Day::parse_iso(&to).map_err(|e| anyhow!("--to: {e}"))?,
            );
            let format = Format::from_str(&format).map_err(anyhow::Error::msg)?;
            let (start, end) = export_span(from, to).map_err(anyhow::Error::msg)?;
            let store = open(&database_url).await?;
            let meter = store
                .usage_meter(&esiid)
                .await?
                .ok_or_else(|| anyhow!("no meter {esiid} in the repository"))?;
            let intervals = store.intervals(&esiid, start, end).await?;
            let title = if meter.address.is_empty() {
                format!("ESIID {esiid}")
            } else {
                meter.address.clone()
            };
            let text = render(
                format,
                &espi::Meter {
                    esiid: esiid.as_str(),
                    title: &title,
                },
                &intervals,
                now(),
            );
            match out {
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("writing {}", path.display()))?;
                    Ok(format!(
                        "{}: {} intervals of {esiid}, {from} to {to}\n",
                        path.display(),
                        intervals.len()
                    ))
                }
                None => Ok(text),
            }
        }),
        UsageCommand::Purge { database_url } => rt.block_on(async {
            let p = open(&database_url).await?.purge_usage(now()).await?;
            Ok(format!(
                "{} intervals archived (over 4 years old), {} deleted (over 7)\n",
                p.archived, p.deleted
            ))
        }),
        UsageCommand::Meters {
            tdsp: t,
            database_url,
        } => rt.block_on(async {
            let store = open(&database_url).await?;
            let scope = match t {
                Some(t) => UsageScope::Tdsp(tdsp(&t)?),
                None => UsageScope::All,
            };
            Ok(store
                .usage_meters(scope)
                .await?
                .iter()
                .map(|m| {
                    let mut line = format!("{} {} {}", m.esiid, m.tdsp, m.meter_number);
                    if !m.address.is_empty() {
                        line += &format!(" {}, {} {}", m.address, m.city, m.zip);
                    }
                    if !m.rep.is_empty() {
                        line += &format!(" (REP {})", m.rep);
                    }
                    line + "\n"
                })
                .collect())
        }),
    }
}
