//! Fresh databases for a test: a new SQLite file, or a new schema in the PostgreSQL server named
//! by `TITAN_TEST_DATABASE_URL`.

use sqlx::Connection;

/// Which database engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh schema in `TITAN_TEST_DATABASE_URL`.
    Postgres,
}

/// A URL for a fresh, empty database on `engine`, or `None` (with a note) when PostgreSQL is
/// not configured outside CI. On CI a missing `TITAN_TEST_DATABASE_URL` is an error.
pub async fn fresh(engine: Engine, dir: &tempfile::TempDir) -> anyhow::Result<Option<String>> {
    match engine {
        Engine::Sqlite => Ok(Some(format!("sqlite://{}/titan.db", dir.path().display()))),
        Engine::Postgres => {
            let Ok(base) = std::env::var("TITAN_TEST_DATABASE_URL") else {
                anyhow::ensure!(std::env::var_os("CI").is_none(), "CI must set TITAN_TEST_DATABASE_URL");
                eprintln!("TITAN_TEST_DATABASE_URL is not set: skipping the PostgreSQL run");
                return Ok(None);
            };
            sqlx::any::install_default_drivers();
            let schema = format!("t_{}", ulid::Ulid::new().to_string().to_lowercase());
            let mut conn = sqlx::AnyConnection::connect(&base).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(&mut conn)
                .await?;
            conn.close().await?;
            let sep = if base.contains('?') { '&' } else { '?' };
            Ok(Some(format!("{base}{sep}options[search_path]={schema}")))
        }
    }
}
