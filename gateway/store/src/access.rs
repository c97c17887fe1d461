//! Companies, their users and their client certificates.

use std::collections::BTreeSet;

use hanrig_gateway::access::{self, CompanyKind, Permission};
use hanrig_gateway::routing::Tdsp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError};

/// A company as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyRecord {
    /// Row ID.
    pub id: i64,
    /// Its name (unique).
    pub name: String,
    /// What kind of company.
    pub kind: CompanyKind,
    /// For a TDSP company, the TDSP whose territory it sees (SMT BR-028.024); a TDSP company
    /// without one sees no meter.
    pub territory: Option<Tdsp>,
}

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// The user's name (unique across companies: it is the HTTP Basic user name).
    pub username: String,
    /// The user's company.
    pub company: CompanyRecord,
    /// The password, as an Argon2id PHC string.
    pub password_hash: String,
    /// Whether the user administers the company.
    pub admin: bool,
    /// What the user may do.
    pub permissions: BTreeSet<Permission>,
    /// When the user was locked out (Unix seconds), if it is.
    pub locked_at: Option<i64>,
    /// When an administrator disabled the user (Unix seconds), if it is.
    pub disabled_at: Option<i64>,
}

/// How many wrong passwords within [`LOCKOUT_WINDOW_SECONDS`] lock a user (SMT BR-017.010).
pub const LOCKOUT_FAILURES: i64 = 4;

/// The window in which [`LOCKOUT_FAILURES`] wrong passwords lock a user, seconds.
pub const LOCKOUT_WINDOW_SECONDS: i64 = 300;

/// How many wrong passwords within [`LOCKOUT_WINDOW_SECONDS`] that came with one client
/// certificate, whatever the user names, lock the certificate: against guessing a few
/// passwords of many users (each staying under [`LOCKOUT_FAILURES`]). Higher than the user's
/// threshold, so that one user's mistakes lock that user and not the company's other users.
pub const CERTIFICATE_LOCKOUT_FAILURES: i64 = 10;

/// How long a client certificate stays locked after [`CERTIFICATE_LOCKOUT_FAILURES`], seconds
/// — unless an administrator unlocks it first. A user's lock lasts until an administrator
/// lifts it (BR-017.010); a certificate's is lifted by time too, since it stops every user of
/// its company.
pub const CERTIFICATE_LOCK_SECONDS: i64 = 900;

fn company_row(row: &AnyRow) -> Result<CompanyRecord> {
    let kind: String = row.try_get("kind")?;
    let tdsp: String = row.try_get("tdsp")?;
    Ok(CompanyRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        kind: kind
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("company kind {kind:?}")))?,
        territory: if tdsp.is_empty() {
            None
        } else {
            Some(
                tdsp.parse()
                    .map_err(|_| StoreError::Corrupt(format!("company TDSP {tdsp:?}")))?,
            )
        },
    })
}

impl Store {
    /// Adds a company; its name must be new.
    pub async fn add_company(
        &self,
        name: &str,
        kind: CompanyKind,
        now: i64,
    ) -> Result<CompanyRecord> {
        self.add_company_in(name, kind, None, now).await
    }

    /// Adds a company; its name must be new; a TDSP company serves `territory` (refused for
    /// the other kinds; a TDSP company without one sees no meter).
    pub async fn add_company_in(
        &self,
        name: &str,
        kind: CompanyKind,
        territory: Option<Tdsp>,
        now: i64,
    ) -> Result<CompanyRecord> {
        access::check_company_name(name)?;
        if territory.is_some() && kind != CompanyKind::Tdsp {
            return Err(StoreError::Access(access::AccessError::Territory { kind }));
        }
        let mut tx = self.pool.begin().await?;
        let known = sqlx::query("SELECT id FROM companies WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_some() {
            return Err(StoreError::Exists(format!("company {name:?}")));
        }
        sqlx::query("INSERT INTO companies (name, kind, tdsp, created_at) VALUES ($1, $2, $3, $4)")
            .bind(name)
            .bind(kind.name())
            .bind(territory.map_or(String::new(), |t| t.name().to_string()))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.company(name).await
    }

    /// The company called `name`.
    pub async fn company(&self, name: &str) -> Result<CompanyRecord> {
        let row = sqlx::query("SELECT * FROM companies WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("company {name:?}")))?;
        company_row(&row)
    }

    /// Every company, by name.
    pub async fn companies(&self) -> Result<Vec<CompanyRecord>> {
        sqlx::query("SELECT * FROM companies ORDER BY name")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(company_row)
            .collect()
    }

    /// Adds a user to `company`: an administrator holds everything the company's kind allows,
    /// another user the `permissions` asked for, each of which the kind must allow.
    /// `password_hash` is the PHC string of the user's password.
    pub async fn add_user(
        &self,
        company: &str,
        username: &str,
        password_hash: &str,
        admin: bool,
        permissions: &[Permission],
        now: i64,
    ) -> Result<UserRecord> {
        access::check_user_name(username)?;
        let c = self.company(company).await?;
        let granted = access::grant(c.kind, admin, permissions)?;
        let mut tx = self.pool.begin().await?;
        let known = sqlx::query("SELECT id FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_some() {
            return Err(StoreError::Exists(format!("user {username:?}")));
        }
        sqlx::query(
            "INSERT INTO users (company_id, username, password_hash, admin, permissions, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(c.id)
        .bind(username)
        .bind(password_hash)
        .bind(i64::from(admin))
        .bind(access::join(&granted))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.user(username).await
    }

    /// The user called `username`.
    pub async fn user(&self, username: &str) -> Result<UserRecord> {
        let row = sqlx::query(
            "SELECT u.username, u.password_hash, u.admin, u.permissions, u.locked_at, u.disabled_at, c.id, c.name, c.kind, c.tdsp \
             FROM users u JOIN companies c ON c.id = u.company_id WHERE u.username = $1",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("user {username:?}")))?;
        let permissions: String = row.try_get("permissions")?;
        Ok(UserRecord {
            username: row.try_get("username")?,
            company: company_row(&row)?,
            password_hash: row.try_get("password_hash")?,
            admin: row.try_get::<i64, _>("admin")? != 0,
            permissions: access::split(&permissions)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            locked_at: row.try_get("locked_at")?,
            disabled_at: row.try_get("disabled_at")?,
        })
    }

    /// Disables `username` (it signs in no more; its records stay) or, with `disabled`
    /// false, enables it again.
    pub async fn set_user_disabled(&self, username: &str, disabled: bool, now: i64) -> Result<()> {
        let done = sqlx::query("UPDATE users SET disabled_at = $1 WHERE username = $2")
            .bind(disabled.then_some(now))
            .bind(username)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {username:?}")));
        }
        Ok(())
    }

    /// Sets what `username` may do, as [`Store::add_user`] would grant it: an administrator
    /// everything its company's kind allows, another user the `permissions` asked for.
    pub async fn set_user_permissions(
        &self,
        username: &str,
        admin: bool,
        permissions: &[Permission],
    ) -> Result<UserRecord> {
        let user = self.user(username).await?;
        let granted = access::grant(user.company.kind, admin, permissions)?;
        sqlx::query("UPDATE users SET admin = $1, permissions = $2 WHERE username = $3")
            .bind(i64::from(admin))
            .bind(access::join(&granted))
            .bind(username)
            .execute(&self.pool)
            .await?;
        self.user(username).await
    }

    /// Records a wrong password that came with the client certificate `fingerprint` at `now`;
    /// locks the certificate when it is the [`CERTIFICATE_LOCKOUT_FAILURES`]th within
    /// [`LOCKOUT_WINDOW_SECONDS`]. Returns whether it is locked now.
    pub async fn certificate_failed(&self, fingerprint: &str, now: i64) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM certificate_failures WHERE at <= $1")
            .bind(now - LOCKOUT_WINDOW_SECONDS)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO certificate_failures (fingerprint, at) VALUES ($1, $2)")
            .bind(fingerprint)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let failures: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM certificate_failures WHERE fingerprint = $1")
                .bind(fingerprint)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
        let locked = failures >= CERTIFICATE_LOCKOUT_FAILURES;
        if locked {
            sqlx::query("UPDATE certificates SET locked_at = $1 WHERE fingerprint = $2")
                .bind(now)
                .bind(fingerprint)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(locked)
    }

    /// Until when (Unix seconds) the client certificate `fingerprint` is locked, if it is at
    /// `now`.
    pub async fn certificate_locked_until(
        &self,
        fingerprint: &str,
        now: i64,
    ) -> Result<Option<i64>> {
        let locked: Option<i64> =
            sqlx::query("SELECT locked_at FROM certificates WHERE fingerprint = $1")
                .bind(fingerprint)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get("locked_at"))
                .transpose()?
                .flatten();
        Ok(locked
            .map(|at| at + CERTIFICATE_LOCK_SECONDS)
            .filter(|until| *until > now))
    }

    /// Unlocks the client certificate `fingerprint` and forgets the wrong passwords that came
    /// with it.
    pub async fn unlock_certificate(&self, fingerprint: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE certificates SET locked_at = NULL WHERE fingerprint = $1")
            .bind(fingerprint)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("certificate {fingerprint}")));
        }
        sqlx::query("DELETE FROM certificate_failures WHERE fingerprint = $1")
            .bind(fingerprint)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a wrong password for `username` at `now`; locks the user when it is the
    /// [`LOCKOUT_FAILURES`]th within [`LOCKOUT_WINDOW_SECONDS`]. Returns whether the user is
    /// locked now. A name that is no user's is recorded too (so that its cost is the same) and
    /// never locks anything.
    pub async fn login_failed(&self, username: &str, now: i64) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        // Failures past the window count for no one: the table holds five minutes' worth.
        sqlx::query("DELETE FROM login_failures WHERE at <= $1")
            .bind(now - LOCKOUT_WINDOW_SECONDS)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO login_failures (username, at) VALUES ($1, $2)")
            .bind(username)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let failures: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM login_failures WHERE username = $1")
                .bind(username)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
        if failures >= LOCKOUT_FAILURES {
            sqlx::query(
                "UPDATE users SET locked_at = $1 WHERE username = $2 AND locked_at IS NULL",
            )
            .bind(now)
            .bind(username)
            .execute(&mut *tx)
            .await?;
        }
        let locked: Option<Option<i64>> =
            sqlx::query("SELECT locked_at FROM users WHERE username = $1")
                .bind(username)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("locked_at"))
                .transpose()?;
        tx.commit().await?;
        Ok(locked.flatten().is_some())
    }

    /// Forgets `username`'s wrong passwords (after a right one).
    pub async fn login_succeeded(&self, username: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE username = $1")
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Unlocks `username` and forgets its wrong passwords, setting its password to
    /// `password_hash` if given (an administrator's reset).
    pub async fn unlock_user(&self, username: &str, password_hash: Option<&str>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let done = match password_hash {
            Some(hash) => {
                sqlx::query(
                    "UPDATE users SET locked_at = NULL, password_hash = $1 WHERE username = $2",
                )
                .bind(hash)
                .bind(username)
                .execute(&mut *tx)
                .await?
            }
            None => {
                sqlx::query("UPDATE users SET locked_at = NULL WHERE username = $1")
                    .bind(username)
                    .execute(&mut *tx)
                    .await?
            }
        };
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {username:?}")));
        }
        sqlx::query("DELETE FROM login_failures WHERE username = $1")
            .bind(username)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The users of `company`, by name.
    pub async fn users(&self, company: &str) -> Result<Vec<UserRecord>> {
        let c = self.company(company).await?;
        let names: Vec<String> =
            sqlx::query("SELECT username FROM users WHERE company_id = $1 ORDER BY username")
                .bind(c.id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| r.try_get("username"))
                .collect::<std::result::Result<_, _>>()?;
        let mut users = Vec::with_capacity(names.len());
        for name in names {
            users.push(self.user(&name).await?);
        }
        Ok(users)
    }

    /// Records a client certificate issued to `company`, by its SHA-256 fingerprint (hex).
    pub async fn add_certificate(
        &self,
        company: &str,
        fingerprint: &str,
        subject: &str,
        now: i64,
    ) -> Result<()> {
        let c = self.company(company).await?;
        sqlx::query(
            "INSERT INTO certificates (fingerprint, company_id, subject, issued_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(fingerprint)
        .bind(c.id)
        .bind(subject)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Revokes the certificate with `fingerprint`: it identifies nobody from then on.
    pub async fn revoke_certificate(&self, fingerprint: &str, now: i64) -> Result<()> {
        let done = sqlx::query(
            "UPDATE certificates SET revoked_at = $1 WHERE fingerprint = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(fingerprint)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "unrevoked certificate {fingerprint}"
            )));
        }
        Ok(())
    }

    /// The company a client certificate identifies: none if it was never issued here or has
    /// been revoked.
    pub async fn certificate_company(&self, fingerprint: &str) -> Result<Option<CompanyRecord>> {
        let row = sqlx::query(
            "SELECT c.id, c.name, c.kind, c.tdsp FROM certificates t JOIN companies c ON c.id = t.company_id \
             WHERE t.fingerprint = $1 AND t.revoked_at IS NULL",
        )
        .bind(fingerprint)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(company_row).transpose()
    }
}
