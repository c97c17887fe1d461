//! Companies, their users and their client certificates.

use std::collections::BTreeSet;

use hanrig_gateway::access::{self, CompanyKind, Permission};
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
}

fn company_row(row: &AnyRow) -> Result<CompanyRecord> {
    let kind: String = row.try_get("kind")?;
    Ok(CompanyRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        kind: kind
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("company kind {kind:?}")))?,
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
        access::check_company_name(name)?;
        let mut tx = self.pool.begin().await?;
        let known = sqlx::query("SELECT id FROM companies WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_some() {
            return Err(StoreError::Exists(format!("company {name:?}")));
        }
        sqlx::query("INSERT INTO companies (name, kind, created_at) VALUES ($1, $2, $3)")
            .bind(name)
            .bind(kind.name())
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
            "SELECT u.username, u.password_hash, u.admin, u.permissions, c.id, c.name, c.kind \
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
        })
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
            "SELECT c.id, c.name, c.kind FROM certificates t JOIN companies c ON c.id = t.company_id \
             WHERE t.fingerprint = $1 AND t.revoked_at IS NULL",
        )
        .bind(fingerprint)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(company_row).transpose()
    }
}
