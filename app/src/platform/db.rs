//! The database handle: one sqlx `Any` pool over SQLite (embedded default) or PostgreSQL,
//! with per-backend migrations embedded in the binary.
//!
//! Portable SQL rules every feature follows (see docs/ARCHITECTURE.md): `$1` placeholders,
//! integers as BIGINT/i64, times as Unix seconds, booleans as 0/1 integers, aggregates
//! wrapped in `CAST(… AS BIGINT)`; where the backends differ, branch on [`Backend`].

use sqlx::{
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::Migrator,
    AnyPool, Executor,
};
use std::{path::Path, str::FromStr, time::Duration};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// Which SQL dialect the pool speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// How much of a SQLite file each connection reads through a memory map instead of a copy
/// into its own 2 MB page cache. Searches walk long posting lists; at a million images this
/// took a fifth off their median time (docs/PERFORMANCE.md). Address space, not memory: the
/// pages are the kernel's file cache, shared by every connection. SQLite caps it at 2 GiB.
pub const SQLITE_MMAP_BYTES: u64 = 1 << 30;

#[derive(Clone, Debug)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
    /// The SQLite file the pool opened, for readiness (None on PostgreSQL and in memory).
    sqlite_file: Option<FileIdentity>,
}

/// A file by path and by identity: a SQLite file deleted or replaced under a running server
/// still answers `SELECT 1` through the connections already open, while every new
/// connection would open (and create) a different, empty database.
#[derive(Clone, Debug)]
struct FileIdentity {
    path: std::path::PathBuf,
    id: Option<(u64, u64)>,
}

impl FileIdentity {
    fn of(path: &Path) -> Option<Self> {
        let metadata = std::fs::metadata(path).ok()?;
        Some(FileIdentity {
            path: path.to_owned(),
            id: file_id(&metadata),
        })
    }

    /// `Err` when the file is gone or is no longer the one the pool opened.
    fn still_there(&self) -> Result<(), sqlx::Error> {
        let metadata = std::fs::metadata(&self.path).map_err(sqlx::Error::Io)?;
        if file_id(&metadata) == self.id {
            Ok(())
        } else {
            Err(sqlx::Error::Io(std::io::Error::other(
                "the SQLite file was replaced by another file",
            )))
        }
    }
}

#[cfg(unix)]
fn file_id(metadata: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((metadata.dev(), metadata.ino()))
}

#[cfg(not(unix))]
fn file_id(_metadata: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("could not create the directory for the SQLite file {path}: {source}")]
    CreateDirectory { path: String, source: std::io::Error },
    #[error("could not connect to the database: {0}")]
    Connect(sqlx::Error),
    #[error("could not apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl Database {
    /// Opens a pool. SQLite files (and their directory) are created when missing and tuned
    /// for a web server: WAL journal, foreign keys on, a busy timeout instead of lock errors,
    /// and reads through a memory map ([`SQLITE_MMAP_BYTES`]).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, DatabaseError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };

        let url = match backend {
            Backend::Sqlite => sqlite_url_with_create(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url).map_err(DatabaseError::Connect)?;
        if backend == Backend::Sqlite {
            // Searches rank with it (features::library::search); every connection gets it.
            super::search_rank::register();
        }

        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        let pragmas = format!(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                             PRAGMA mmap_size = {SQLITE_MMAP_BYTES};"
                        );
                        conn.execute(pragmas.as_str()).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(DatabaseError::Connect)?;
        let sqlite_file = match backend {
            Backend::Sqlite => sqlite_file_path(&url).and_then(|path| FileIdentity::of(&path)),
            Backend::Postgres => None,
        };
        Ok(Database {
            pool,
            backend,
            sqlite_file,
        })
    }

    /// Applies every pending migration for this backend.
    pub async fn migrate(&self) -> Result<(), DatabaseError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// A cheap round trip used by `/readyz`; bounded so a hung database answers quickly.
    /// On SQLite it also checks that the file is still the one the pool opened.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        if let Some(file) = &self.sqlite_file {
            file.still_there()?;
        }
        match tokio::time::timeout(Duration::from_secs(2), sqlx::query("SELECT 1").execute(&self.pool)).await {
            Ok(result) => result.map(|_| ()),
            Err(_) => Err(sqlx::Error::PoolTimedOut),
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Takes the member's row lock as the first statement of a transaction that reads and then
/// writes on their behalf, so two such transactions for one member run one after the other
/// and the second sees what the first wrote. On PostgreSQL, `FOR UPDATE`. On SQLite, a write
/// that changes nothing: it takes the database's write lock at once, waiting for it under
/// the busy timeout, where a transaction that read first and wrote later would fail with
/// `SQLITE_BUSY` whenever another writer committed in between.
pub async fn lock_member(conn: &mut sqlx::AnyConnection, backend: Backend, user_id: i64) -> Result<(), sqlx::Error> {
    let sql = match backend {
        Backend::Postgres => "SELECT id FROM users WHERE id = $1 FOR UPDATE",
        Backend::Sqlite => "UPDATE users SET updated_at = updated_at WHERE id = $1",
    };
    sqlx::query(sql).bind(user_id).execute(conn).await?;
    Ok(())
}

/// The file a `sqlite:` URL names; None for an in-memory database.
fn sqlite_file_path(url: &str) -> Option<std::path::PathBuf> {
    let path_part = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let file = path_part.split('?').next().unwrap_or_default();
    let in_memory = file.is_empty() || file == ":memory:" || url.contains("mode=memory");
    (!in_memory).then(|| std::path::PathBuf::from(file))
}

/// Adds `mode=rwc` (create when missing) and makes sure the file's directory exists.
fn sqlite_url_with_create(url: &str) -> Result<String, DatabaseError> {
    if let Some(file) = sqlite_file_path(url) {
        if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| DatabaseError::CreateDirectory {
                path: file.display().to_string(),
                source,
            })?;
        }
    }
    Ok(if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_gain_create_mode() {
        let dir = std::env::temp_dir().join(format!("atelier-db-url-{}", std::process::id()));
        let url = format!("sqlite://{}/x.db", dir.display());
        assert!(sqlite_url_with_create(&url).unwrap().ends_with("x.db?mode=rwc"));
        assert!(dir.is_dir());
        assert_eq!(
            sqlite_url_with_create("sqlite::memory:?mode=memory").unwrap(),
            "sqlite::memory:?mode=memory"
        );
        std::fs::remove_dir_all(dir).ok();
    }
}
