//! # hanrig-gateway-store: the gateway's repository
//!
//! Devices and their history, HAN messages and their deliveries — one row per address, written
//! in the same transaction as the message, before the API answers — and every report that comes
//! back. SQLite is the embedded default (`sqlite://gateway.db?mode=rwc`); PostgreSQL
//! (`postgres://…`) carries the same schema. The domain rules come from `hanrig-gateway`: a
//! device request is admitted only if the meter has room, a delivery's status only moves
//! forward.
//!
//! ```no_run
//! # async fn demo() -> Result<(), hanrig_gateway_store::StoreError> {
//! let store = hanrig_gateway_store::Store::open("sqlite://gateway.db?mode=rwc").await?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::str::FromStr;

use hanrig_gateway::delivery::DeliveryStatus;
use hanrig_gateway::device::{DeviceError, DeviceRequest, DeviceState, RemovalReason};
use hanrig_gateway::esiid::Esiid;
use hanrig_gateway::message::Address;
use hanrig_gateway::routing::Tdsp;
use hanrig_sep::Eui64;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Row};

mod access;
mod agreements;
mod audit;
mod reads;
mod residents;
mod usage;
pub use access::{
    CERTIFICATE_LOCK_SECONDS, CERTIFICATE_LOCKOUT_FAILURES, CompanyRecord, LOCKOUT_FAILURES,
    LOCKOUT_WINDOW_SECONDS, UserRecord,
};
pub use agreements::{AgreementRecord, Invitation};
pub use audit::AuditEntry;
pub use reads::ReadRecord;
pub use residents::{RESIDENT_LOCKOUT_FAILURES, RESIDENT_LOCKOUT_WINDOW, ResidentRecord};
pub use usage::{
    BlocksStored, IntervalBlock, KEPT_YEARS, MeterReads, MeterRecord, ONLINE_YEARS, Purged,
    Revision, Stored, UsageFile, UsageScope,
};

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// Rows one multi-row statement carries: on SQLite, sqlx's parameter binding grows with the
/// square of the parameters a statement has, so smaller statements win (100 measured best of
/// 50/100/200/500); on PostgreSQL each statement is a round trip, so larger ones win.
const fn batch(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 100,
        Backend::Postgres => 500,
    }
}

/// What went wrong in the repository.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names no supported database.
    #[error("database URL {0:?}: use sqlite://FILE?mode=rwc or postgres://USER@HOST/DB")]
    Url(String),
    /// The database refused or failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("migrating the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A device request the domain rules refuse (recorded in the history all the same).
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// A row the gateway cannot read back.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// No such record.
    #[error("{0} not found")]
    NotFound(String),
    /// A record that exists already.
    #[error("{0} exists already")]
    Exists(String),
    /// An agreement step the rules refuse.
    #[error(transparent)]
    Agreement(#[from] hanrig_gateway::agreement::AgreementError),
    /// A name or grant the access rules refuse.
    #[error(transparent)]
    Access(#[from] hanrig_gateway::access::AccessError),
    /// Usage data the rules refuse (a meter of another TDSP).
    #[error("usage: {0}")]
    Usage(String),
    /// A provisioning step that does not fit the device's state (see
    /// [`Store::mark_device_sent`], [`Store::finish_provisioning`]).
    #[error("provisioning: {0}")]
    Provisioning(String),
}

type Result<T> = std::result::Result<T, StoreError>;

/// Which database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (embedded).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The repository.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// On PostgreSQL, a pool of the driver's own connections for what the generic one cannot
    /// do: `COPY` and array parameters (bulk ingest).
    pg: Option<sqlx::PgPool>,
    secret: std::sync::Arc<[u8]>,
    /// Counts the new work committed through this process's handles (a message's deliveries
    /// queued, a device to provision), so that its connectors start at once instead of at
    /// their next poll ([`Store::work`]). Other processes on the same database are not told:
    /// their connectors find the work when they poll.
    work: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
}

/// A device as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Row ID.
    pub id: i64,
    /// The meter.
    pub esiid: Esiid,
    /// The TDSP serving it.
    pub tdsp: Tdsp,
    /// The device.
    pub eui64: Eui64,
    /// Its install code, as given.
    pub install_code: String,
    /// Its type, as the API names it.
    pub device_type: String,
    /// Its description.
    pub description: String,
    /// Its state.
    pub state: DeviceState,
    /// Last change, Unix seconds.
    pub updated_at: i64,
    /// The company that asked for it ('' if none was recorded).
    pub company: String,
    /// The head-end request carrying it to its meter (job ID, CorrelationID or
    /// transactionID); '' until the connector has sent it ([`Store::mark_device_sent`]).
    pub job: String,
}

/// One line of a device's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// When, Unix seconds.
    pub at: i64,
    /// What: requested, refused, provisioned, failed, removed.
    pub event: String,
    /// Details (the reason).
    pub detail: String,
}

/// A message to store with its deliveries.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    /// The sending company.
    pub company: &'a str,
    /// Its kind (`price`, `text`, `load-control`, …).
    pub kind: &'a str,
    /// The request as received, JSON.
    pub request: &'a str,
    /// The cluster of the SE command.
    pub cluster: u16,
    /// The SE command's ZCL frame, as every address receives it.
    pub command: &'a [u8],
}

/// How long an `Idempotency-Key` is remembered: 24 hours.
pub const IDEMPOTENCY_SECONDS: i64 = 24 * 3600;

/// A message's `Idempotency-Key`, as [`Store::accept_message_once`] remembers it.
#[derive(Debug, Clone, Copy)]
pub struct Idempotent<'a> {
    /// The key the client sent.
    pub key: &'a str,
    /// A digest of the request the key came with.
    pub fingerprint: &'a str,
    /// The answer to give again, JSON.
    pub answer: &'a str,
}

/// What a company's `Idempotency-Key` was first used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remembered {
    /// The digest of that request.
    pub fingerprint: String,
    /// The message it created.
    pub message_id: i64,
    /// The answer it got, JSON.
    pub answer: String,
}

/// What [`Store::accept_message_once`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acceptance {
    /// Stored, as the message with this ID.
    Stored(i64),
    /// Nothing stored: the key was used before (perhaps by a request that raced this one).
    Remembered(Remembered),
}

/// A delivery as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// Row ID.
    pub id: i64,
    /// The message.
    pub message_id: i64,
    /// The address: an ESIID or an EUI64.
    pub address: String,
    /// The TDSP it goes through.
    pub tdsp: Tdsp,
    /// Where it is.
    pub status: DeliveryStatus,
    /// The latest report's detail.
    pub detail: String,
    /// The head-end job or transaction it went out in (empty until sent).
    pub job: String,
    /// Its last change, Unix seconds.
    pub updated_at: i64,
}

/// A message as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    /// Row ID.
    pub id: i64,
    /// The sending company.
    pub company: String,
    /// Its kind.
    pub kind: String,
    /// The request as stored (JSON).
    pub request: String,
    /// The SE command's cluster.
    pub cluster: u16,
    /// The SE command's ZCL frame.
    pub command: Vec<u8>,
    /// When it was accepted, Unix seconds.
    pub created_at: i64,
}

/// A message's deliveries, counted by status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Addresses.
    pub total: u64,
    /// Queued.
    pub queued: u64,
    /// Sent.
    pub sent: u64,
    /// Delivered.
    pub delivered: u64,
    /// Device-acknowledged.
    pub device_acknowledged: u64,
    /// Failed.
    pub failed: u64,
}

fn status_of(name: &str) -> Result<DeliveryStatus> {
    use DeliveryStatus::*;
    [Queued, Sent, Delivered, DeviceAcknowledged, Failed]
        .into_iter()
        .find(|s| s.name() == name)
        .ok_or_else(|| StoreError::Corrupt(format!("delivery status {name:?}")))
}

fn device_state(state: &str, reason: &str) -> Result<DeviceState> {
    Ok(match state {
        "pending" => DeviceState::Pending,
        "provisioned" => DeviceState::Provisioned,
        "failed" => DeviceState::Failed {
            reason: reason.to_string(),
        },
        "removed" => DeviceState::Removed {
            reason: removal_of(reason)?,
        },
        other => return Err(StoreError::Corrupt(format!("device state {other:?}"))),
    })
}

const REMOVALS: [(RemovalReason, &str); 5] = [
    (RemovalReason::CustomerRequest, "customer-request"),
    (RemovalReason::DeviceReplaced, "device-replaced"),
    (RemovalReason::DeviceFailed, "device-failed"),
    (RemovalReason::MoveOut, "move-out"),
    (RemovalReason::ServiceEnded, "service-ended"),
];

fn removal_name(reason: RemovalReason) -> &'static str {
    REMOVALS
        .iter()
        .find(|(r, _)| *r == reason)
        .map_or("customer-request", |(_, n)| n)
}

fn removal_of(name: &str) -> Result<RemovalReason> {
    REMOVALS
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(r, _)| *r)
        .ok_or_else(|| StoreError::Corrupt(format!("removal reason {name:?}")))
}

fn state_columns(state: &DeviceState) -> (&'static str, String) {
    match state {
        DeviceState::Pending => ("pending", String::new()),
        DeviceState::Provisioned => ("provisioned", String::new()),
        DeviceState::Failed { reason } => ("failed", reason.clone()),
        DeviceState::Removed { reason } => ("removed", removal_name(*reason).to_string()),
    }
}

fn device_row(row: &AnyRow) -> Result<DeviceRecord> {
    let text = |c: &str| -> Result<String> { Ok(row.try_get::<String, _>(c)?) };
    let esiid = text("esiid")?;
    let eui = text("eui64")?;
    let tdsp = text("tdsp")?;
    Ok(DeviceRecord {
        id: row.try_get("id")?,
        esiid: esiid
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("{e}")))?,
        tdsp: Tdsp::from_str(&tdsp).map_err(|e| StoreError::Corrupt(format!("{e}")))?,
        eui64: eui
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("EUI64 {eui:?}")))?,
        install_code: text("install_code")?,
        device_type: text("device_type")?,
        description: text("description")?,
        state: device_state(&text("state")?, &text("reason")?)?,
        updated_at: row.try_get("updated_at")?,
        company: text("company")?,
        job: text("job")?,
    })
}

fn delivery_row(row: &AnyRow) -> Result<DeliveryRecord> {
    let tdsp: String = row.try_get("tdsp")?;
    Ok(DeliveryRecord {
        id: row.try_get("id")?,
        message_id: row.try_get("message_id")?,
        address: row.try_get("address")?,
        tdsp: Tdsp::from_str(&tdsp).map_err(|e| StoreError::Corrupt(format!("{e}")))?,
        status: status_of(&row.try_get::<String, _>("status")?)?,
        detail: row.try_get("detail")?,
        job: row.try_get("job")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn unhex(text: &str) -> Result<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| StoreError::Corrupt(format!("hex {text:?}")))
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The installation's secret, made at random and kept the first time.
async fn installation_secret(pool: &AnyPool) -> Result<std::sync::Arc<[u8]>> {
    use ring::rand::SecureRandom;
    let mut fresh = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut fresh)
        .map_err(|_| StoreError::Corrupt("no randomness for the installation secret".into()))?;
    let fresh: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
    sqlx::query("INSERT INTO installation (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
        .bind(fresh)
        .execute(pool)
        .await?;
    let secret: String = sqlx::query("SELECT secret FROM installation WHERE id = 1")
        .fetch_one(pool)
        .await?
        .try_get("secret")?;
    let bytes = (0..secret.len())
        .step_by(2)
        .map(|i| {
            secret
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| StoreError::Corrupt("the installation secret is not 32 hex bytes".into()))?;
    Ok(bytes.into())
}

impl Store {
    /// Opens the database at `url` and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::Url(url.to_string()));
        };
        let sqlite = backend == Backend::Sqlite;
        let pool = AnyPoolOptions::new()
            // SQLite takes one writer at a time; a single connection keeps writes in order.
            .max_connections(if sqlite { 1 } else { 8 })
            // SQLite keeps a write-ahead log, synced at every commit: as durable as the rollback
            // journal (what is committed is on disk before the API answers) with fewer syncs
            // per commit. The log lives beside the database (`-wal`, `-shm`); an in-memory
            // database keeps its own journal.
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA synchronous = FULL")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        match backend {
            Backend::Sqlite => SQLITE.run(&pool).await?,
            Backend::Postgres => POSTGRES.run(&pool).await?,
        }
        let secret = installation_secret(&pool).await?;
        let pg = match backend {
            Backend::Postgres => Some(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(2)
                    .connect_lazy(url)?,
            ),
            Backend::Sqlite => None,
        };
        Ok(Store {
            pool,
            backend,
            pg,
            secret,
            work: std::sync::Arc::new(tokio::sync::watch::Sender::new(0)),
        })
    }

    /// Changes whenever new work for the connectors is committed through this `Store` (or a
    /// clone): a message's deliveries queued, a device to provision.
    pub fn work(&self) -> tokio::sync::watch::Receiver<u64> {
        self.work.subscribe()
    }

    fn announce_work(&self) {
        self.work.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The next SE message / issuer event ID: never below `now` (Unix seconds), always above
    /// every ID given before — by this process or an earlier one on the same repository.
    pub async fn next_issuer_id(&self, now: i64) -> Result<u32> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "UPDATE issuer SET last = MAX(last + 1, $1) WHERE id = 1 RETURNING last"
            }
            Backend::Postgres => {
                "UPDATE issuer SET last = GREATEST(last + 1, $1) WHERE id = 1 RETURNING last"
            }
        };
        let last: i64 = sqlx::query(sql)
            .bind(now.clamp(0, i64::from(u32::MAX)))
            .fetch_one(&self.pool)
            .await?
            .try_get("last")?;
        u32::try_from(last)
            .map_err(|_| StoreError::Corrupt(format!("issuer IDs are spent (last {last})")))
    }

    /// This installation's secret (32 random bytes, made when the repository was first
    /// opened): the key that signs its head-end request IDs.
    pub fn installation_secret(&self) -> &[u8] {
        &self.secret
    }

    /// Which database it is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    async fn history(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        esiid: &str,
        eui: &str,
        at: i64,
        event: &str,
        detail: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO device_history (esiid, eui64, at, event, detail) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(esiid)
        .bind(eui)
        .bind(at)
        .bind(event)
        .bind(detail)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Adds a device (pending, for `tdsp`'s head-end to provision) if the domain rules allow
    /// it; a refused request is recorded in the history with its reason and returned as the
    /// error.
    pub async fn add_device(
        &self,
        request: &DeviceRequest,
        device_type: &str,
        tdsp: Tdsp,
        now: i64,
    ) -> Result<DeviceRecord> {
        self.add_device_for("", request, device_type, tdsp, now)
            .await
    }

    /// [`Store::add_device`] on behalf of `company` (the third party or TDSP that asked).
    pub async fn add_device_for(
        &self,
        company: &str,
        request: &DeviceRequest,
        device_type: &str,
        tdsp: Tdsp,
        now: i64,
    ) -> Result<DeviceRecord> {
        let mut tx = self.pool.begin().await?;
        let (esiid, eui) = (request.esiid.to_string(), request.eui64.to_string());
        let rows = sqlx::query(
            "SELECT * FROM devices WHERE (esiid = $1 OR eui64 = $2) AND state IN ('pending', 'provisioned')",
        )
        .bind(&esiid)
        .bind(&eui)
        .fetch_all(&mut *tx)
        .await?;
        let known = rows.iter().map(device_row).collect::<Result<Vec<_>>>()?;
        if let Err(e) = request.admissible(known.iter().map(|d| (&d.esiid, d.eui64, &d.state))) {
            Self::history(&mut tx, &esiid, &eui, now, "refused", &e.to_string()).await?;
            tx.commit().await?;
            return Err(e.into());
        }
        let id: i64 = sqlx::query(
            "INSERT INTO devices (esiid, tdsp, eui64, install_code, device_type, description, state, reason, created_at, updated_at, company) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', '', $7, $7, $8) RETURNING id",
        )
        .bind(&esiid)
        .bind(tdsp.name())
        .bind(&eui)
        .bind(hex(request.install_code.as_bytes()))
        .bind(device_type)
        .bind(&request.description)
        .bind(now)
        .bind(company)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        Self::history(&mut tx, &esiid, &eui, now, "requested", device_type).await?;
        tx.commit().await?;
        self.announce_work();
        self.device(id).await
    }

    /// The device with row `id`.
    pub async fn device(&self, id: i64) -> Result<DeviceRecord> {
        let row = sqlx::query("SELECT * FROM devices WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("device {id}")))?;
        device_row(&row)
    }

    /// Moves device `id` to `state` (provisioned, failed with the head-end's reason, removed
    /// with a reason), recording it in the history.
    pub async fn set_device_state(&self, id: i64, state: &DeviceState, now: i64) -> Result<()> {
        let device = self.device(id).await?;
        let (name, reason) = state_columns(state);
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE devices SET state = $1, reason = $2, updated_at = $3 WHERE id = $4")
            .bind(name)
            .bind(&reason)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        Self::history(
            &mut tx,
            device.esiid.as_str(),
            &device.eui64.to_string(),
            now,
            name,
            &reason,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The devices of a meter, in the order they were added.
    pub async fn devices_of(&self, esiid: &Esiid) -> Result<Vec<DeviceRecord>> {
        sqlx::query("SELECT * FROM devices WHERE esiid = $1 ORDER BY id")
            .bind(esiid.as_str())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(device_row)
            .collect()
    }

    /// The devices on each of `meters` that are joined or joining (pending or provisioned),
    /// oldest first: whom a message addressed to the meter reaches.
    pub async fn active_devices_on(
        &self,
        meters: &[Esiid],
    ) -> Result<std::collections::HashMap<Esiid, Vec<Eui64>>> {
        let mut found: std::collections::HashMap<Esiid, Vec<Eui64>> = Default::default();
        for chunk in meters.chunks(batch(self.backend)) {
            let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 1)).collect();
            let sql = format!(
                "SELECT * FROM devices WHERE state IN ('pending', 'provisioned') AND esiid IN ({}) ORDER BY id",
                list.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for m in chunk {
                query = query.bind(m.as_str());
            }
            for row in query.fetch_all(&self.pool).await? {
                let d = device_row(&row)?;
                found.entry(d.esiid).or_default().push(d.eui64);
            }
        }
        Ok(found)
    }

    /// The meters the given devices are active on (pending or provisioned); devices on none
    /// are left out.
    pub async fn meters_of(
        &self,
        devices: &[Eui64],
    ) -> Result<std::collections::HashMap<Eui64, Esiid>> {
        let mut found = std::collections::HashMap::new();
        for chunk in devices.chunks(batch(self.backend)) {
            let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 1)).collect();
            let sql = format!(
                "SELECT * FROM devices WHERE state IN ('pending', 'provisioned') AND eui64 IN ({})",
                list.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for d in chunk {
                query = query.bind(d.to_string());
            }
            for row in query.fetch_all(&self.pool).await? {
                let d = device_row(&row)?;
                found.insert(d.eui64, d.esiid);
            }
        }
        Ok(found)
    }

    /// The latest record of the device `eui64` (it may have been removed and added again).
    pub async fn device_by_eui(&self, eui64: Eui64) -> Result<DeviceRecord> {
        let row = sqlx::query("SELECT * FROM devices WHERE eui64 = $1 ORDER BY id DESC LIMIT 1")
            .bind(eui64.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("device {eui64}")))?;
        device_row(&row)
    }

    /// `tdsp`'s devices waiting to be provisioned through its head-end, oldest first.
    pub async fn pending_devices(&self, tdsp: Tdsp) -> Result<Vec<DeviceRecord>> {
        self.pending_where(tdsp, "").await
    }

    /// `tdsp`'s pending devices not yet sent to its head-end (no request recorded), oldest
    /// first: what its connector sends next.
    pub async fn unsent_devices(&self, tdsp: Tdsp) -> Result<Vec<DeviceRecord>> {
        self.pending_where(tdsp, "AND job = ''").await
    }

    /// `tdsp`'s pending devices whose request the head-end has accepted and not yet answered
    /// (what the job style polls), oldest first.
    pub async fn sent_devices(&self, tdsp: Tdsp) -> Result<Vec<DeviceRecord>> {
        self.pending_where(tdsp, "AND job <> ''").await
    }

    /// `tdsp`'s pending devices meeting `and` (a fixed SQL condition), oldest first.
    async fn pending_where(&self, tdsp: Tdsp, and: &str) -> Result<Vec<DeviceRecord>> {
        sqlx::query(&format!(
            "SELECT * FROM devices WHERE tdsp = $1 AND state = 'pending' {and} ORDER BY id"
        ))
        .bind(tdsp.name())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(device_row)
        .collect()
    }

    /// Records that pending device `id` went to its head-end as request `job` (the head-end's
    /// job ID, or the CorrelationID/transactionID the connector chose), with a `sent` line in
    /// its history. Returns whether anything changed: `false` when it was recorded already
    /// with the same `job` (a re-send after a crash). An empty `job`, a device that is not
    /// pending, or one already sent as another request is refused with
    /// [`StoreError::Provisioning`].
    pub async fn mark_device_sent(&self, id: i64, job: &str, now: i64) -> Result<bool> {
        if job.is_empty() {
            return Err(StoreError::Provisioning(format!(
                "device {id}: an empty request ID names no head-end request"
            )));
        }
        let device = self.device(id).await?;
        if device.job == job {
            return Ok(false);
        }
        if device.state != DeviceState::Pending {
            return Err(StoreError::Provisioning(format!(
                "device {id} is {}, not pending: nothing to send",
                state_columns(&device.state).0
            )));
        }
        if !device.job.is_empty() {
            return Err(StoreError::Provisioning(format!(
                "device {id} was sent already as {}, not {job}",
                device.job
            )));
        }
        let mut tx = self.pool.begin().await?;
        let moved = sqlx::query(
            "UPDATE devices SET job = $1, updated_at = $2 WHERE id = $3 AND state = 'pending' AND job = ''",
        )
        .bind(job)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            // Another connector got there between the read and the write.
            tx.rollback().await?;
            if self.device(id).await?.job == job {
                return Ok(false);
            }
            return Err(StoreError::Provisioning(format!(
                "device {id} changed while being marked sent as {job}"
            )));
        }
        Self::history(
            &mut tx,
            device.esiid.as_str(),
            &device.eui64.to_string(),
            now,
            "sent",
            &format!("accepted by the head-end as {job}"),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The device of `tdsp` that went to the head-end as request `job`, if any.
    pub async fn device_by_job(&self, tdsp: Tdsp, job: &str) -> Result<Option<DeviceRecord>> {
        if job.is_empty() {
            return Ok(None);
        }
        sqlx::query("SELECT * FROM devices WHERE tdsp = $1 AND job = $2 ORDER BY id DESC LIMIT 1")
            .bind(tdsp.name())
            .bind(job)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(device_row)
            .transpose()
    }

    /// Records the head-end's answer for pending device `id`: `Provisioned`, or `Failed` with
    /// the head-end's reason (a history line either way). Returns whether it moved: `false`
    /// when the device is no longer pending (the answer came twice, or the device was removed
    /// meanwhile) — nothing is changed then. Any other state is refused with
    /// [`StoreError::Provisioning`], as is an answer for a device never sent.
    pub async fn finish_provisioning(
        &self,
        id: i64,
        outcome: &DeviceState,
        now: i64,
    ) -> Result<bool> {
        if !matches!(
            outcome,
            DeviceState::Provisioned | DeviceState::Failed { .. }
        ) {
            return Err(StoreError::Provisioning(format!(
                "device {id}: a head-end answers provisioned or failed, not {}",
                state_columns(outcome).0
            )));
        }
        let device = self.device(id).await?;
        if device.state != DeviceState::Pending {
            return Ok(false);
        }
        if device.job.is_empty() {
            return Err(StoreError::Provisioning(format!(
                "device {id} has not been sent to its head-end: no answer can be for it"
            )));
        }
        let (name, reason) = state_columns(outcome);
        let mut tx = self.pool.begin().await?;
        let moved = sqlx::query(
            "UPDATE devices SET state = $1, reason = $2, updated_at = $3 WHERE id = $4 AND state = 'pending'",
        )
        .bind(name)
        .bind(&reason)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        Self::history(
            &mut tx,
            device.esiid.as_str(),
            &device.eui64.to_string(),
            now,
            name,
            &reason,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// One device's history, refused requests included, oldest first.
    pub async fn device_history_of(&self, eui64: Eui64) -> Result<Vec<HistoryEntry>> {
        self.history_where("eui64", &eui64.to_string()).await
    }

    /// History lines whose `column` (`esiid` or `eui64`) is `value`, oldest first.
    async fn history_where(&self, column: &str, value: &str) -> Result<Vec<HistoryEntry>> {
        sqlx::query(&format!(
            "SELECT at, event, detail FROM device_history WHERE {column} = $1 ORDER BY id"
        ))
        .bind(value)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(HistoryEntry {
                at: r.try_get("at")?,
                event: r.try_get("event")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
    }

    /// A meter's device history, failed and refused requests included, oldest first.
    pub async fn device_history(&self, esiid: &Esiid) -> Result<Vec<HistoryEntry>> {
        self.history_where("esiid", esiid.as_str()).await
    }

    /// Stores `message` and one queued delivery per address, in one transaction: when this
    /// returns, every address is durably accepted. Returns the message's ID.
    pub async fn accept_message(
        &self,
        message: &NewMessage<'_>,
        deliveries: &[(Address, Tdsp)],
        now: i64,
    ) -> Result<i64> {
        match self.accept(message, deliveries, None, now).await? {
            Acceptance::Stored(id) => Ok(id),
            Acceptance::Remembered(r) => Ok(r.message_id),
        }
    }

    /// [`Store::accept_message`], once per `once.key` of the company: when the company used
    /// the key within [`IDEMPOTENCY_SECONDS`], nothing is stored and what the key was used for
    /// is returned — also when two requests with one key race, since the key is taken in the
    /// same transaction as the message.
    pub async fn accept_message_once(
        &self,
        message: &NewMessage<'_>,
        deliveries: &[(Address, Tdsp)],
        once: &Idempotent<'_>,
        now: i64,
    ) -> Result<Acceptance> {
        self.accept(message, deliveries, Some(once), now).await
    }

    /// What `company` used `key` for within [`IDEMPOTENCY_SECONDS`] before `now`, if anything.
    pub async fn remembered(
        &self,
        company: &str,
        key: &str,
        now: i64,
    ) -> Result<Option<Remembered>> {
        let row = sqlx::query(
            "SELECT fingerprint, message_id, answer FROM idempotency WHERE company = $1 AND idem_key = $2 AND created_at > $3",
        )
        .bind(company)
        .bind(key)
        .bind(now - IDEMPOTENCY_SECONDS)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Remembered {
                fingerprint: row.try_get("fingerprint")?,
                message_id: row.try_get("message_id")?,
                answer: row.try_get("answer")?,
            })
        })
        .transpose()
    }

    async fn accept(
        &self,
        message: &NewMessage<'_>,
        deliveries: &[(Address, Tdsp)],
        once: Option<&Idempotent<'_>>,
        now: i64,
    ) -> Result<Acceptance> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO messages (company, kind, request, cluster, command, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(message.company)
        .bind(message.kind)
        .bind(message.request)
        .bind(i64::from(message.cluster))
        .bind(hex(message.command))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        for chunk in deliveries.chunks(batch(self.backend)) {
            // Parameters first appear in ascending order ($1 message, $2 time, then three per
            // row), so SQLite numbers them as PostgreSQL does.
            let mut sql = String::from(
                "INSERT INTO deliveries (message_id, updated_at, address, tdsp, status, detail) VALUES ",
            );
            for i in 0..chunk.len() {
                let p = 3 + i * 3;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("($1, $2, ${p}, ${}, ${}, '')", p + 1, p + 2));
            }
            let mut query = sqlx::query(&sql).bind(id).bind(now);
            for (address, tdsp) in chunk {
                let text = match address {
                    Address::Esiid(e) => e.to_string(),
                    Address::Device(d) => d.to_string(),
                };
                query = query
                    .bind(text)
                    .bind(tdsp.name())
                    .bind(DeliveryStatus::Queued.name());
            }
            query.execute(&mut *tx).await?;
        }
        if let Some(once) = once {
            sqlx::query("DELETE FROM idempotency WHERE created_at <= $1")
                .bind(now - IDEMPOTENCY_SECONDS)
                .execute(&mut *tx)
                .await?;
            // A key another transaction took first (committed or not: PostgreSQL waits for
            // it) leaves this one with nothing to store.
            let taken = sqlx::query(
                "INSERT INTO idempotency (company, idem_key, fingerprint, message_id, answer, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (company, idem_key) DO NOTHING",
            )
            .bind(message.company)
            .bind(once.key)
            .bind(once.fingerprint)
            .bind(id)
            .bind(once.answer)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if taken == 0 {
                tx.rollback().await?;
                return match self.remembered(message.company, once.key, now).await? {
                    Some(first) => Ok(Acceptance::Remembered(first)),
                    None => Err(StoreError::Corrupt(format!(
                        "Idempotency-Key {:?} was taken and then forgotten",
                        once.key
                    ))),
                };
            }
        }
        tx.commit().await?;
        self.announce_work();
        Ok(Acceptance::Stored(id))
    }

    /// The message with row `id`.
    pub async fn message(&self, id: i64) -> Result<MessageRecord> {
        let row = sqlx::query("SELECT * FROM messages WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("message {id}")))?;
        Ok(MessageRecord {
            id,
            company: row.try_get("company")?,
            kind: row.try_get("kind")?,
            request: row.try_get("request")?,
            cluster: u16::try_from(row.try_get::<i64, _>("cluster")?)
                .map_err(|_| StoreError::Corrupt("cluster".into()))?,
            command: unhex(&row.try_get::<String, _>("command")?)?,
            created_at: row.try_get("created_at")?,
        })
    }

    /// Marks deliveries as sent in head-end job `job` (recorded as a report each), in one
    /// transaction; only queued ones move.
    pub async fn mark_sent(&self, ids: &[i64], job: &str, now: i64) -> Result<usize> {
        let detail = format!("accepted by the head-end as {job}");
        let reports: Vec<(i64, DeliveryStatus, &str)> = ids
            .iter()
            .map(|id| (*id, DeliveryStatus::Sent, detail.as_str()))
            .collect();
        let mut tx = self.pool.begin().await?;
        for chunk in ids.chunks(batch(self.backend)) {
            let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "UPDATE deliveries SET job = $1 WHERE status = 'queued' AND id IN ({})",
                list.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(job);
            for id in chunk {
                query = query.bind(*id);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.report_batch(&reports, now).await
    }

    /// The head-end jobs with deliveries still open (sent or delivered), and those
    /// deliveries.
    pub async fn open_jobs(&self, tdsp: Tdsp) -> Result<Vec<(String, Vec<DeliveryRecord>)>> {
        let rows = sqlx::query(
            "SELECT * FROM deliveries WHERE tdsp = $1 AND job <> '' AND status IN ('sent', 'delivered') ORDER BY job, id",
        )
        .bind(tdsp.name())
        .fetch_all(&self.pool)
        .await?;
        let mut jobs: Vec<(String, Vec<DeliveryRecord>)> = Vec::new();
        for row in &rows {
            let d = delivery_row(row)?;
            match jobs.last_mut() {
                Some((job, list)) if *job == d.job => list.push(d),
                _ => jobs.push((d.job.clone(), vec![d])),
            }
        }
        Ok(jobs)
    }

    /// A message's deliveries, by row.
    pub async fn deliveries(&self, message_id: i64) -> Result<Vec<DeliveryRecord>> {
        sqlx::query("SELECT * FROM deliveries WHERE message_id = $1 ORDER BY id")
            .bind(message_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(delivery_row)
            .collect()
    }

    /// `company`'s messages accepted from `from` to before `until` (Unix seconds), oldest
    /// first.
    pub async fn messages_of(
        &self,
        company: &str,
        from: i64,
        until: i64,
    ) -> Result<Vec<MessageRecord>> {
        self.messages_page(company, from, until, 0, i64::MAX).await
    }

    /// [`Store::messages_of`], at most `limit` after the first `offset`.
    pub async fn messages_page(
        &self,
        company: &str,
        from: i64,
        until: i64,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<MessageRecord>> {
        let ids: Vec<i64> = sqlx::query(
            "SELECT id FROM messages WHERE company = $1 AND created_at >= $2 AND created_at < $3 ORDER BY id LIMIT $4 OFFSET $5",
        )
        .bind(company)
        .bind(from)
        .bind(until)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<std::result::Result<_, _>>()?;
        let mut messages = Vec::with_capacity(ids.len());
        for id in ids {
            messages.push(self.message(id).await?);
        }
        Ok(messages)
    }

    /// Up to `limit` queued deliveries for `tdsp`'s connector, oldest first.
    pub async fn queued(&self, tdsp: Tdsp, limit: i64) -> Result<Vec<DeliveryRecord>> {
        sqlx::query(
            "SELECT * FROM deliveries WHERE tdsp = $1 AND status = 'queued' ORDER BY id LIMIT $2",
        )
        .bind(tdsp.name())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(delivery_row)
        .collect()
    }

    /// Records a report about delivery `id`: always kept as an event; the status moves only
    /// forward (a late or repeated report changes nothing). Returns whether it moved.
    pub async fn report(
        &self,
        id: i64,
        status: DeliveryStatus,
        report: &str,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT status FROM deliveries WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("delivery {id}")))?;
        let current = status_of(&row.try_get::<String, _>("status")?)?;
        sqlx::query(
            "INSERT INTO delivery_events (delivery_id, at, status, report) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(now)
        .bind(status.name())
        .bind(report)
        .execute(&mut *tx)
        .await?;
        let moved = current.advance(status);
        if let Some(next) = moved {
            sqlx::query(
                "UPDATE deliveries SET status = $1, detail = $2, updated_at = $3 WHERE id = $4",
            )
            .bind(next.name())
            .bind(report)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(moved.is_some())
    }

    /// Records many reports at once (a head-end's notification or a page of job results), in
    /// one transaction: every report kept as an event, each status moved only forward.
    /// Returns how many deliveries moved; an unknown delivery ID is an error and nothing is
    /// recorded.
    pub async fn report_batch(
        &self,
        reports: &[(i64, DeliveryStatus, &str)],
        now: i64,
    ) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        let mut moved = 0;
        for chunk in reports.chunks(batch(self.backend)) {
            // Current statuses of the chunk's deliveries.
            let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 1)).collect();
            let sql = format!(
                "SELECT id, status FROM deliveries WHERE id IN ({})",
                list.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for (id, _, _) in chunk {
                query = query.bind(*id);
            }
            let mut current = std::collections::HashMap::new();
            for row in query.fetch_all(&mut *tx).await? {
                let id: i64 = row.try_get("id")?;
                current.insert(id, status_of(&row.try_get::<String, _>("status")?)?);
            }
            if let Some((id, _, _)) = chunk.iter().find(|(id, _, _)| !current.contains_key(id)) {
                return Err(StoreError::NotFound(format!("delivery {id}")));
            }
            // Events, all of them.
            let mut sql = String::from(
                "INSERT INTO delivery_events (at, delivery_id, status, report) VALUES ",
            );
            for i in 0..chunk.len() {
                let p = 2 + i * 3;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("($1, ${p}, ${}, ${})", p + 1, p + 2));
            }
            let mut query = sqlx::query(&sql).bind(now);
            for (id, status, report) in chunk {
                query = query.bind(*id).bind(status.name()).bind(*report);
            }
            query.execute(&mut *tx).await?;
            // Each delivery's last forward move in the batch, in report order.
            let mut last: std::collections::HashMap<i64, (DeliveryStatus, &str)> =
                std::collections::HashMap::new();
            for (id, status, report) in chunk {
                let now_status = current
                    .get_mut(id)
                    .ok_or_else(|| StoreError::NotFound(format!("delivery {id}")))?;
                if let Some(next) = now_status.advance(*status) {
                    *now_status = next;
                    last.insert(*id, (next, report));
                }
            }
            // Written grouped by the status and detail they set.
            let mut groups: std::collections::BTreeMap<(&str, &str), Vec<i64>> =
                std::collections::BTreeMap::new();
            for (id, (status, detail)) in last {
                groups.entry((status.name(), detail)).or_default().push(id);
            }
            for ((status, detail), ids) in groups {
                let list: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 4)).collect();
                let sql = format!(
                    "UPDATE deliveries SET status = $1, detail = $2, updated_at = $3 WHERE id IN ({})",
                    list.join(", ")
                );
                let mut query = sqlx::query(&sql).bind(status).bind(detail).bind(now);
                for id in &ids {
                    query = query.bind(*id);
                }
                moved += query.execute(&mut *tx).await?.rows_affected() as usize;
            }
        }
        tx.commit().await?;
        Ok(moved)
    }

    /// Fails, as expired, every delivery of `tdsp` the head-end accepted (`sent`) and has
    /// said nothing more of since before `before` (Unix seconds): each gets a report saying
    /// when it was sent and that nothing came back. A delivery the device received is left
    /// as it is (not every message asks the device to answer). Returns how many expired.
    pub async fn expire_unanswered(&self, tdsp: Tdsp, before: i64, now: i64) -> Result<usize> {
        let rows = sqlx::query(
            "SELECT id, updated_at FROM deliveries WHERE tdsp = $1 AND status = 'sent' AND updated_at < $2 ORDER BY id LIMIT 10000",
        )
        .bind(tdsp.name())
        .bind(before)
        .fetch_all(&self.pool)
        .await?;
        let mut details = Vec::with_capacity(rows.len());
        for row in &rows {
            let (id, sent): (i64, i64) = (row.try_get("id")?, row.try_get("updated_at")?);
            details.push((
                id,
                format!(
                    "expired: the head-end accepted it {} s before and has reported nothing since",
                    now - sent
                ),
            ));
        }
        let reports: Vec<(i64, DeliveryStatus, &str)> = details
            .iter()
            .map(|(id, detail)| (*id, DeliveryStatus::Failed, detail.as_str()))
            .collect();
        self.report_batch(&reports, now).await
    }

    /// Every report about delivery `id`, oldest first: (time, status, report).
    pub async fn delivery_events(&self, id: i64) -> Result<Vec<(i64, DeliveryStatus, String)>> {
        sqlx::query(
            "SELECT at, status, report FROM delivery_events WHERE delivery_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("at")?,
                status_of(&r.try_get::<String, _>("status")?)?,
                r.try_get("report")?,
            ))
        })
        .collect()
    }

    /// A message's deliveries counted by status.
    pub async fn summary(&self, message_id: i64) -> Result<Summary> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM deliveries WHERE message_id = $1 GROUP BY status",
        )
        .bind(message_id)
        .fetch_all(&self.pool)
        .await?;
        let mut s = Summary::default();
        for row in rows {
            let n = u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
            s.total += n;
            match status_of(&row.try_get::<String, _>("status")?)? {
                DeliveryStatus::Queued => s.queued = n,
                DeliveryStatus::Sent => s.sent = n,
                DeliveryStatus::Delivered => s.delivered = n,
                DeliveryStatus::DeviceAcknowledged => s.device_acknowledged = n,
                DeliveryStatus::Failed => s.failed = n,
            }
        }
        Ok(s)
    }

    /// Counts for the TDSP and regulatory reports (SMT Table 6): per TDSP, devices by state,
    /// messages, and deliveries by status; agreements rejected, by kind. No customer data.
    pub async fn statistics(&self) -> Result<Statistics> {
        let mut stats = Statistics::default();
        let count = |row: &AnyRow| -> Result<u64> {
            Ok(u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0))
        };
        for row in
            sqlx::query("SELECT tdsp, state, COUNT(*) AS n FROM devices GROUP BY tdsp, state")
                .fetch_all(&self.pool)
                .await?
        {
            let entry = stats.tdsps.entry(row.try_get("tdsp")?).or_default();
            entry.devices.insert(row.try_get("state")?, count(&row)?);
        }
        for row in
            sqlx::query("SELECT tdsp, status, COUNT(*) AS n FROM deliveries GROUP BY tdsp, status")
                .fetch_all(&self.pool)
                .await?
        {
            let entry = stats.tdsps.entry(row.try_get("tdsp")?).or_default();
            entry
                .deliveries
                .insert(row.try_get("status")?, count(&row)?);
        }
        for row in sqlx::query(
            "SELECT tdsp, COUNT(DISTINCT message_id) AS n FROM deliveries GROUP BY tdsp",
        )
        .fetch_all(&self.pool)
        .await?
        {
            stats
                .tdsps
                .entry(row.try_get("tdsp")?)
                .or_default()
                .messages = count(&row)?;
        }
        for row in sqlx::query(
            "SELECT kind, COUNT(*) AS n FROM agreements WHERE state_name = 'rejected' GROUP BY kind",
        )
        .fetch_all(&self.pool)
        .await?
        {
            stats.agreements_rejected.insert(row.try_get("kind")?, count(&row)?);
        }
        Ok(stats)
    }
}

/// Per-TDSP counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TdspStatistics {
    /// Devices by state (`pending`, `provisioned`, `failed`, `removed`).
    pub devices: std::collections::BTreeMap<String, u64>,
    /// HAN messages with at least one address through this TDSP.
    pub messages: u64,
    /// Deliveries by status.
    pub deliveries: std::collections::BTreeMap<String, u64>,
}

/// [`Store::statistics`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statistics {
    /// By TDSP name.
    pub tdsps: std::collections::BTreeMap<String, TdspStatistics>,
    /// Agreements the customers rejected, by kind.
    pub agreements_rejected: std::collections::BTreeMap<String, u64>,
}
