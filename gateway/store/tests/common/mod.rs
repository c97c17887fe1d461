//! A fresh store on each backend, for the repository's tests.

#![allow(clippy::unwrap_used, dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use hanrig_gateway_store::{Backend, Store};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A fresh SQLite store, and a fresh PostgreSQL one (its own schema) when a server is named.
pub async fn stores() -> Vec<Store> {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("hanrig-store-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gateway.db");
    let _ = std::fs::remove_file(&file);
    let mut stores = vec![
        Store::open(&format!("sqlite://{}?mode=rwc", file.display()))
            .await
            .unwrap(),
    ];
    match std::env::var("HANRIG_TEST_POSTGRES_URL") {
        Ok(base) => {
            let schema = format!("hanrig_test_{}_{n}", std::process::id());
            sqlx::any::install_default_drivers();
            let admin = sqlx::AnyPool::connect(&base).await.unwrap();
            // Schemas earlier runs left behind (this run's own are told apart by the process).
            let mine = format!("hanrig_test_{}_", std::process::id());
            let stale: Vec<String> = sqlx::query(
                "SELECT nspname::text AS nspname FROM pg_namespace WHERE nspname LIKE 'hanrig_test_%'",
            )
            .fetch_all(&admin)
            .await
            .unwrap()
            .iter()
            .map(|r| sqlx::Row::get::<String, _>(r, "nspname"))
            .filter(|s| !s.starts_with(&mine))
            .collect();
            for old in stale.iter().chain([&schema]) {
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {old} CASCADE"))
                    .execute(&admin)
                    .await
                    .unwrap();
            }
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&admin)
                .await
                .unwrap();
            let sep = if base.contains('?') { '&' } else { '?' };
            let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
            let store = Store::open(&url).await.unwrap();
            assert_eq!(store.backend(), Backend::Postgres);
            stores.push(store);
        }
        Err(_) => {
            // Past the test harness's capture, so that the skip is seen.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "PostgreSQL half skipped: HANRIG_TEST_POSTGRES_URL is not set"
            );
        }
    }
    stores
}
