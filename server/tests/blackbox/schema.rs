//! Both backends' migrations must describe the same tables and columns.

use crate::support;

use app::platform::db::Database;
use sqlx::Row;
use std::collections::BTreeSet;

/// The full-text index is backend-specific by design (FTS5 and its shadow tables, or a
/// tsvector table), so `image_search*` is compared by the search tests' results instead.
async fn sqlite_columns(db: &Database) -> BTreeSet<(String, String)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' \
         AND name NOT LIKE 'image_search%'",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let mut columns = BTreeSet::new();
    for table in tables {
        let rows = sqlx::query(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .fetch_all(db.pool())
            .await
            .unwrap();
        for row in rows {
            columns.insert((table.clone(), row.get::<String, _>(0)));
        }
    }
    columns
}

async fn postgres_columns(db: &Database) -> BTreeSet<(String, String)> {
    sqlx::query(
        "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%' AND table_name NOT LIKE 'image_search%'",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
    .into_iter()
    .map(|row| (row.get::<String, _>(0), row.get::<String, _>(1)))
    .collect()
}

#[tokio::test]
async fn sqlite_and_postgres_migrations_define_the_same_columns() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Database::connect(&format!("sqlite://{}", dir.path().join("s.db").display()), 2)
        .await
        .unwrap();
    sqlite.migrate().await.unwrap();
    let postgres = Database::connect(&support::fresh_postgres_database().await, 2)
        .await
        .unwrap();
    postgres.migrate().await.unwrap();

    let from_sqlite = sqlite_columns(&sqlite).await;
    let from_postgres = postgres_columns(&postgres).await;
    assert!(
        from_sqlite.contains(&("images".into(), "blurhash".into())),
        "sanity: {from_sqlite:?}"
    );
    let only_sqlite: Vec<_> = from_sqlite.difference(&from_postgres).collect();
    let only_postgres: Vec<_> = from_postgres.difference(&from_sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "schemas differ — only in SQLite: {only_sqlite:?}; only in PostgreSQL: {only_postgres:?}"
    );
}

#[tokio::test]
async fn migrations_are_idempotent_and_sqlite_runs_in_wal_with_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::connect(&format!("sqlite://{}", dir.path().join("w.db").display()), 2)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    db.migrate().await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(foreign_keys, 1);
    let orphan = sqlx::query("INSERT INTO image_tags (image_id, tag) VALUES (999, 'x')")
        .execute(db.pool())
        .await;
    assert!(orphan.is_err(), "foreign keys are enforced");
}
