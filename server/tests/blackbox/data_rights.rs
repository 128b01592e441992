//! Data rights on both databases: the data inventory covers the real schema (every table
//! is listed as personal or not, every table that references a member says so with that
//! column, every column it names exists), and the retention job leaves no identifier on
//! usage rows older than 90 days without changing any total.

use crate::support;

use app::{
    features::privacy::{
        inventory::{inventoried_tables, member_column, MemberLink, CATEGORIES},
        retention::{self, RetentionReport},
    },
    platform::{clock::now_unix, db::Database},
};
use sqlx::Row;
use std::collections::BTreeSet;

struct Schema {
    columns: BTreeSet<(String, String)>,
    /// (table, column) pairs whose column is a foreign key to `users`.
    member_references: BTreeSet<(String, String)>,
}

impl Schema {
    fn tables(&self) -> BTreeSet<&str> {
        self.columns.iter().map(|(table, _)| table.as_str()).collect()
    }
}

/// The search index's shadow tables (FTS5) belong to `image_search`.
fn is_own_table(name: &str) -> bool {
    !name.starts_with("sqlite_") && !name.starts_with("_sqlx") && !name.starts_with("image_search_")
}

async fn sqlite_schema(db: &Database) -> Schema {
    let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
        .fetch_all(db.pool())
        .await
        .unwrap();
    let mut schema = Schema {
        columns: BTreeSet::new(),
        member_references: BTreeSet::new(),
    };
    for table in tables.into_iter().filter(|name| is_own_table(name)) {
        for row in sqlx::query(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .fetch_all(db.pool())
            .await
            .unwrap()
        {
            schema.columns.insert((table.clone(), row.get::<String, _>(0)));
        }
        for row in sqlx::query(&format!(
            "SELECT \"from\" FROM pragma_foreign_key_list('{table}') WHERE \"table\" = 'users'"
        ))
        .fetch_all(db.pool())
        .await
        .unwrap()
        {
            schema
                .member_references
                .insert((table.clone(), row.get::<String, _>(0)));
        }
    }
    schema
}

async fn postgres_schema(db: &Database) -> Schema {
    let columns = sqlx::query(
        "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) FROM information_schema.columns \
         WHERE table_schema = current_schema()",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
    .into_iter()
    .map(|row| (row.get::<String, _>(0), row.get::<String, _>(1)))
    .filter(|(table, _)| is_own_table(table))
    .collect();
    let member_references = sqlx::query(
        "SELECT CAST(c.conrelid::regclass AS TEXT), CAST(a.attname AS TEXT) FROM pg_constraint c \
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) \
         WHERE c.contype = 'f' AND c.confrelid = 'users'::regclass",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
    .into_iter()
    .map(|row| (row.get::<String, _>(0), row.get::<String, _>(1)))
    .collect();
    Schema {
        columns,
        member_references,
    }
}

fn assert_inventory_covers(schema: &Schema) {
    let tables = schema.tables();
    assert!(
        tables.contains("users") && tables.contains("sessions"),
        "sanity: {tables:?}"
    );
    assert!(
        schema
            .member_references
            .contains(&("sessions".into(), "user_id".into())),
        "sanity: foreign keys were read: {:?}",
        schema.member_references
    );

    let inventoried: BTreeSet<&str> = inventoried_tables().collect();
    let missing: Vec<_> = tables.difference(&inventoried).collect();
    assert!(
        missing.is_empty(),
        "tables missing from the data inventory (app/src/features/privacy/inventory.rs): {missing:?}"
    );
    let stale: Vec<_> = inventoried.difference(&tables).collect();
    assert!(
        stale.is_empty(),
        "the inventory lists tables that do not exist: {stale:?}"
    );

    for (table, column) in &schema.member_references {
        assert_eq!(
            member_column(table),
            Some(column.as_str()),
            "{table}.{column} references a member, so the inventory must list {table} with that member column"
        );
    }

    for category in CATEGORIES {
        for store in category.stores {
            let linked = match store.member {
                MemberLink::Column(column) | MemberLink::Address(column) => Some(column),
                MemberLink::None => None,
            };
            for column in store.columns.iter().copied().chain(linked) {
                assert!(
                    schema.columns.contains(&(store.table.to_owned(), column.to_owned())),
                    "{}: {}.{column} does not exist",
                    category.name,
                    store.table
                );
            }
        }
    }
}

#[tokio::test]
async fn the_inventory_covers_every_table_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::connect(&format!("sqlite://{}", dir.path().join("i.db").display()), 2)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    assert_inventory_covers(&sqlite_schema(&db).await);
}

#[tokio::test]
async fn the_inventory_covers_every_table_in_postgres() {
    let db = Database::connect(&support::fresh_postgres_database().await, 2)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    assert_inventory_covers(&postgres_schema(&db).await);
}

#[test]
fn a_member_table_missing_from_the_inventory_fails_the_check() {
    let mut columns: BTreeSet<(String, String)> = [("users", "id"), ("sessions", "user_id"), ("wishlists", "user_id")]
        .into_iter()
        .map(|(table, column)| (table.to_owned(), column.to_owned()))
        .collect();
    let member_references: BTreeSet<(String, String)> = [("sessions", "user_id"), ("wishlists", "user_id")]
        .into_iter()
        .map(|(table, column)| (table.to_owned(), column.to_owned()))
        .collect();
    // Every other inventoried column exists, so only the new table can fail the check.
    for category in CATEGORIES {
        for store in category.stores {
            for column in store.columns {
                columns.insert((store.table.to_owned(), (*column).to_owned()));
            }
            if let MemberLink::Column(column) | MemberLink::Address(column) = store.member {
                columns.insert((store.table.to_owned(), column.to_owned()));
            }
        }
    }
    for table in inventoried_tables() {
        columns.insert((table.to_owned(), "id".to_owned()));
    }
    let schema = Schema {
        columns,
        member_references,
    };
    let failure = std::panic::catch_unwind(|| assert_inventory_covers(&schema)).expect_err("the check fails");
    let message = failure.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("wishlists"), "the failure names the table: {message}");
}

const DAY: i64 = 86_400;

async fn insert_download(app: &support::TestApp, image_id: i64, user_id: Option<i64>, variant: &str, at: i64, n: u32) {
    sqlx::query(
        "INSERT INTO download_events (image_id, user_id, variant, link_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(image_id)
    .bind(user_id)
    .bind(variant)
    .bind(format!("{image_id}-{variant}-{at}-{n}"))
    .bind(at)
    .execute(app.state.db.pool())
    .await
    .unwrap();
}

async fn insert_usage(app: &support::TestApp, kind: &str, subject: &str, user_id: Option<i64>, at: i64) {
    sqlx::query("INSERT INTO usage_events (kind, subject, user_id, created_at) VALUES ($1, $2, $3, $4)")
        .bind(kind)
        .bind(subject)
        .bind(user_id)
        .bind(at)
        .execute(app.state.db.pool())
        .await
        .unwrap();
}

/// Page views and searches: the daily totals, then the raw rows.
type UsageRows = (Vec<(String, String, String, i64)>, Vec<(String, Option<i64>, i64)>);

async fn usage_event_snapshot(app: &support::TestApp) -> UsageRows {
    let pool = app.state.db.pool();
    let daily =
        sqlx::query("SELECT kind, subject, day, CAST(events AS BIGINT) FROM usage_daily ORDER BY kind, subject, day")
            .fetch_all(pool)
            .await
            .unwrap()
            .into_iter()
            .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
            .collect();
    let raw = sqlx::query("SELECT kind, user_id, created_at FROM usage_events ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    (daily, raw)
}

/// Everything retention may touch, in a comparable form.
async fn usage_snapshot(
    app: &support::TestApp,
) -> (
    Vec<(i64, String, String, i64)>,
    Vec<(i64, Option<i64>, i64)>,
    Vec<Option<String>>,
    i64,
    UsageRows,
) {
    let pool = app.state.db.pool();
    let daily = sqlx::query(
        "SELECT image_id, variant, day, CAST(downloads AS BIGINT) FROM download_daily ORDER BY image_id, variant, day",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
    .collect();
    let raw = sqlx::query("SELECT image_id, user_id, created_at FROM download_events ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    let addresses = sqlx::query_scalar("SELECT ip FROM sessions ORDER BY created_at")
        .fetch_all(pool)
        .await
        .unwrap();
    let hotlinks: i64 = sqlx::query_scalar("SELECT CAST(COALESCE(SUM(requests), 0) AS BIGINT) FROM image_hotlinks")
        .fetch_one(pool)
        .await
        .unwrap();
    (daily, raw, addresses, hotlinks, usage_event_snapshot(app).await)
}

/// Per image: downloads still raw plus downloads in daily totals.
async fn download_totals(app: &support::TestApp) -> Vec<(i64, i64)> {
    sqlx::query(
        "SELECT image_id, CAST(SUM(n) AS BIGINT) FROM ( \
           SELECT image_id, COUNT(*) AS n FROM download_events GROUP BY image_id \
           UNION ALL SELECT image_id, SUM(downloads) AS n FROM download_daily GROUP BY image_id) t \
         GROUP BY image_id ORDER BY image_id",
    )
    .fetch_all(app.state.db.pool())
    .await
    .unwrap()
    .into_iter()
    .map(|row| (row.get(0), row.get(1)))
    .collect()
}

async fn download_counters(app: &support::TestApp) -> Vec<i64> {
    sqlx::query_scalar("SELECT CAST(download_count AS BIGINT) FROM images ORDER BY id")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_retention_job_at_day_91_leaves_no_identifiers_and_keeps_every_total() {
    let app = support::spawn_app().await;
    app.seed(2).await;
    let images: Vec<i64> = sqlx::query_scalar("SELECT id FROM images ORDER BY id")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    let member = support::members::create_member(&app, "ada@example.org", "Ada", true).await;
    let start = now_unix() - now_unix() % DAY + 3_600;
    // Two days of downloads that will be old, by a member and anonymously, and one that will not.
    for n in 0..3 {
        insert_download(&app, images[0], Some(member), "small", start, n).await;
    }
    insert_download(&app, images[0], None, "small", start + DAY, 0).await;
    insert_download(&app, images[0], Some(member), "original", start + DAY, 1).await;
    insert_download(&app, images[1], Some(member), "full", start + DAY, 2).await;
    insert_download(&app, images[1], Some(member), "full", start + 10 * DAY, 3).await;
    sqlx::query(
        "INSERT INTO image_hotlinks (image_id, domain, day, requests) VALUES ($1, 'blog.example', '2026-01-01', 4)",
    )
    .bind(images[0])
    .execute(app.state.db.pool())
    .await
    .unwrap();
    // Page views name nobody; searches name the member. Four will be old, one will not.
    insert_usage(&app, "page_view", "/photos/{id}", None, start).await;
    insert_usage(&app, "page_view", "/photos/{id}", None, start + 60).await;
    insert_usage(&app, "search", "found", Some(member), start).await;
    insert_usage(&app, "search", "empty", Some(member), start + DAY).await;
    insert_usage(&app, "search", "found", Some(member), start + 10 * DAY).await;
    for (handle, created) in [("old", start), ("new", start + 90 * DAY)] {
        sqlx::query(
            "INSERT INTO sessions (token_hash, handle, user_id, remember, ip, user_agent, country, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, 1, '203.0.113.9', 'Firefox', 'NL', $4, $4, $5)",
        )
        .bind(format!("hash-{handle}"))
        .bind(handle)
        .bind(member)
        .bind(created)
        .bind(created + 30 * DAY)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    }
    let totals_before = download_totals(&app).await;
    let counters_before = download_counters(&app).await;
    assert_eq!(totals_before, vec![(images[0], 5), (images[1], 2)]);

    // Day 91 after the first downloads: the first two days are past 90 days, day 11 is not.
    let day_91 = start + 91 * DAY + DAY;
    let first = retention::run(&app.state.db, day_91, 7).await.unwrap();
    assert_eq!(
        first,
        RetentionReport {
            downloads_rolled_up: 6,
            usage_events_rolled_up: 4,
            session_addresses_cleared: 1,
            consent_records_deleted: 0,
        }
    );
    let old_with_identity: i64 =
        sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM download_events WHERE created_at < $1")
            .bind(day_91 - 90 * DAY)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(old_with_identity, 0, "no raw row older than 90 days remains");
    let after = usage_snapshot(&app).await;
    let day = |unix: i64| app::dates::iso_day(unix);
    assert_eq!(
        after.0,
        vec![
            (images[0], "original".to_owned(), day(start + DAY), 1),
            (images[0], "small".to_owned(), day(start), 3),
            (images[0], "small".to_owned(), day(start + DAY), 1),
            (images[1], "full".to_owned(), day(start + DAY), 1),
        ],
        "daily totals per image, size and day"
    );
    assert_eq!(
        after.1,
        vec![(images[1], Some(member), start + 10 * DAY)],
        "the recent row keeps its member"
    );
    assert_eq!(
        after.2,
        vec![None, Some("203.0.113.9".to_owned())],
        "only the old session forgets its address"
    );
    assert_eq!(after.3, 4, "hotlink counts are untouched");
    assert_eq!(
        after.4,
        (
            vec![
                ("page_view".to_owned(), "/photos/{id}".to_owned(), day(start), 2),
                ("search".to_owned(), "empty".to_owned(), day(start + DAY), 1),
                ("search".to_owned(), "found".to_owned(), day(start), 1),
            ],
            vec![("search".to_owned(), Some(member), start + 10 * DAY)],
        ),
        "usage events: daily totals per kind, subject and day; the recent search keeps its member"
    );
    assert_eq!(download_totals(&app).await, totals_before, "every total is unchanged");
    assert_eq!(
        download_counters(&app).await,
        counters_before,
        "the images' own counters are not touched"
    );

    let second = retention::run(&app.state.db, day_91, 7).await.unwrap();
    assert_eq!(second, RetentionReport::default(), "a second run changes nothing");
    assert_eq!(usage_snapshot(&app).await, after);
    app.stop().await;
}

#[tokio::test]
async fn instances_running_retention_at_once_count_each_download_once() {
    let app = support::spawn_app().await;
    app.seed(1).await;
    let image: i64 = sqlx::query_scalar("SELECT id FROM images")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    let start = now_unix() - 200 * DAY;
    for n in 0..5_000 {
        insert_download(&app, image, None, "small", start + i64::from(n), n).await;
    }
    let now = now_unix();
    let (a, b) = tokio::join!(
        retention::run(&app.state.db, now, 7),
        retention::run(&app.state.db, now, 7)
    );
    let moved = a.unwrap().downloads_rolled_up + b.unwrap().downloads_rolled_up;
    // The app's own maintenance loop may take a share too, so the two runs moved at most
    // every row; what matters is that nothing is left and nothing was counted twice.
    assert!(moved <= 5_000 && moved > 0, "moved {moved}");
    let left: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM download_events")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(left, 0, "every old row was rolled up");
    assert_eq!(
        download_totals(&app).await,
        vec![(image, 5_000)],
        "each download counted once"
    );
    app.stop().await;
}
