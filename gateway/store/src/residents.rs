//! Residential customers' portal accounts, their sign-in tokens and wrong-password lockout.

use hanrig_gateway::esiid::Esiid;
use sqlx::Row;

use crate::{Result, Store, StoreError};

/// A residential customer's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentRecord {
    /// The user name.
    pub username: String,
    /// The password's PHC hash.
    pub password_hash: String,
    /// The e-mail address.
    pub email: String,
    /// The meters the customer may see.
    pub esiids: Vec<Esiid>,
}

/// Wrong passwords within [`RESIDENT_LOCKOUT_WINDOW`] that lock a resident.
pub const RESIDENT_LOCKOUT_FAILURES: i64 = 4;
/// The lockout's window and duration, seconds.
pub const RESIDENT_LOCKOUT_WINDOW: i64 = 900;

impl Store {
    /// Adds a resident with the meters they may see.
    pub async fn add_resident(
        &self,
        username: &str,
        password_hash: &str,
        email: &str,
        esiids: &[Esiid],
        now: i64,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "INSERT INTO residents (username, password_hash, email, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (username) DO NOTHING",
        )
        .bind(username)
        .bind(password_hash)
        .bind(email)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Exists(format!("resident {username}")));
        }
        for e in esiids {
            sqlx::query("INSERT INTO resident_meters (username, esiid) VALUES ($1, $2)")
                .bind(username)
                .bind(e.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A resident's account.
    pub async fn resident(&self, username: &str) -> Result<Option<ResidentRecord>> {
        let Some(row) = sqlx::query("SELECT * FROM residents WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let esiids =
            sqlx::query("SELECT esiid FROM resident_meters WHERE username = $1 ORDER BY esiid")
                .bind(username)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    let e: String = r.try_get("esiid")?;
                    e.parse()
                        .map_err(|err| StoreError::Corrupt(format!("resident meter {e}: {err}")))
                })
                .collect::<Result<Vec<Esiid>>>()?;
        Ok(Some(ResidentRecord {
            username: row.try_get("username")?,
            password_hash: row.try_get("password_hash")?,
            email: row.try_get("email")?,
            esiids,
        }))
    }

    /// Records a wrong password for `username`; whether the resident is now locked.
    pub async fn resident_failed(&self, username: &str, now: i64) -> Result<bool> {
        sqlx::query("INSERT INTO resident_failures (username, at) VALUES ($1, $2)")
            .bind(username)
            .bind(now)
            .execute(&self.pool)
            .await?;
        self.resident_locked(username, now).await
    }

    /// Whether `username` had [`RESIDENT_LOCKOUT_FAILURES`] wrong passwords in the last
    /// [`RESIDENT_LOCKOUT_WINDOW`] seconds.
    pub async fn resident_locked(&self, username: &str, now: i64) -> Result<bool> {
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM resident_failures WHERE username = $1 AND at > $2",
        )
        .bind(username)
        .bind(now - RESIDENT_LOCKOUT_WINDOW)
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        Ok(n >= RESIDENT_LOCKOUT_FAILURES)
    }

    /// Forgets `username`'s wrong passwords (after a sign-in).
    pub async fn resident_signed_in(&self, username: &str) -> Result<()> {
        sqlx::query("DELETE FROM resident_failures WHERE username = $1")
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Keeps a sign-in token (by its hash) for `username`.
    pub async fn add_resident_token(
        &self,
        token_hash: &str,
        username: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO resident_tokens (token_hash, username, created_at, last_used) VALUES ($1, $2, $3, $3)",
        )
        .bind(token_hash)
        .bind(username)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The resident a token (by its hash) signs in, if it was used within the last `idle`
    /// seconds; the use slides its window. Tokens idle longer are deleted.
    pub async fn use_resident_token(
        &self,
        token_hash: &str,
        now: i64,
        idle: i64,
    ) -> Result<Option<String>> {
        sqlx::query("DELETE FROM resident_tokens WHERE last_used <= $1")
            .bind(now - idle)
            .execute(&self.pool)
            .await?;
        let row = sqlx::query(
            "UPDATE resident_tokens SET last_used = $1 WHERE token_hash = $2 RETURNING username",
        )
        .bind(now)
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("username")).transpose()?)
    }
}
