//! The server binary's command line: configuration errors, create-admin, seed-demo, jobs.
//! `import` has its own file (import.rs).

use crate::support::command::{as_refs, database_env, server};

#[test]
fn invalid_configuration_stops_with_a_message_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (variable, value) in [
        ("ATELIER_LISTEN", "nonsense"),
        ("DATABASE_URL", "mysql://db/x"),
        ("ATELIER_JOB_WORKERS", "-1"),
    ] {
        let output = server(dir.path(), &[(variable, value)], &["migrate"], None);
        assert_eq!(output.status.code(), Some(2), "{variable}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(variable), "stderr names {variable}: {stderr}");
    }
}

#[tokio::test]
async fn create_admin_stores_an_argon2id_hash_and_refuses_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let env = database_env(dir.path()).await;
    let args = [
        "create-admin",
        "--email",
        "Admin@Example.org",
        "--name",
        "Ada",
        "--password-stdin",
    ];
    let output = server(
        dir.path(),
        &as_refs(&env),
        &args,
        Some("correct horse battery staple\n"),
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("<admin@example.org>"));

    let url = &env.iter().find(|(k, _)| k == "DATABASE_URL").unwrap().1;
    let db = app::platform::db::Database::connect(url, 1).await.unwrap();
    let (role, hash): (String, String) = sqlx::query_as("SELECT role, password_hash FROM users WHERE email = $1")
        .bind("admin@example.org")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(role, "admin");
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(!hash.contains("correct horse"));

    let again = server(
        dir.path(),
        &as_refs(&env),
        &args,
        Some("correct horse battery staple\n"),
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let weak = server(
        dir.path(),
        &as_refs(&env),
        &["create-admin", "--email", "b@example.org", "--password-stdin"],
        Some("short\n"),
    );
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 12 characters"));
}

#[tokio::test]
async fn seed_demo_renders_images_and_if_empty_makes_it_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let env = database_env(dir.path()).await;
    let first = server(dir.path(), &as_refs(&env), &["seed-demo", "--images", "2"], None);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(String::from_utf8_lossy(&first.stdout).contains("seeded 2 images"));
    let second = server(
        dir.path(),
        &as_refs(&env),
        &["seed-demo", "--images", "2", "--if-empty"],
        None,
    );
    assert!(String::from_utf8_lossy(&second.stdout).contains("nothing seeded"));
    // A back-dated history whose dates follow the ids (newest search relies on it).
    let url = &env.iter().find(|(k, _)| k == "DATABASE_URL").unwrap().1;
    let db = app::platform::db::Database::connect(url, 1).await.unwrap();
    let dates: Vec<i64> = sqlx::query_scalar("SELECT created_at FROM images ORDER BY id")
        .fetch_all(db.pool())
        .await
        .unwrap();
    let now = app::platform::clock::now_unix();
    assert_eq!(dates.len(), 2);
    assert!(dates[0] + 3_200 < dates[1] && dates[1] <= now, "{dates:?}");
    assert!(
        dates[1] > now - 43_200,
        "the newest is from the last half day: {dates:?}"
    );
    let media_files = walk(&dir.path().join("media"));
    assert_eq!(media_files, 8, "original, full, small and thumb for each image");

    let jobs = server(dir.path(), &as_refs(&env), &["jobs", "list"], None);
    assert!(String::from_utf8_lossy(&jobs.stdout).contains("no jobs"));
    let bad = server(
        dir.path(),
        &as_refs(&env),
        &["jobs", "list", "--status", "sideways"],
        None,
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown status"));
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 })
                .sum()
        })
        .unwrap_or(0)
}
