//! Health and readiness probes, graceful shutdown.

use crate::support;

use crate::support::{spawn_app, spawn_app_with, tcp_proxy::TcpProxy};

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    app.stop().await;
}

#[tokio::test]
async fn readyz_reports_a_reachable_database() {
    let app = spawn_app().await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    app.stop().await;
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let first = app.get("/healthz").await;
    let second = app.get("/healthz").await;
    let id = |r: &reqwest::Response| r.headers().get("x-request-id").unwrap().to_str().unwrap().to_owned();
    assert_eq!(id(&first).len(), 36, "a UUID");
    assert_ne!(id(&first), id(&second));
    app.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_stops_the_listener() {
    let app = spawn_app().await;
    let address = app.address;
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.stop().await;
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "nothing listens after shutdown"
    );
}

/// On PostgreSQL (whichever backend the rest of the run uses): the database sits behind a
/// relay the test can cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_turns_503_while_postgres_is_down_and_recovers() {
    let real_url = support::fresh_postgres_database().await;
    let host_port = real_url
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let upstream = tokio::net::lookup_host(&host_port).await.unwrap().next().unwrap();
    let proxy = TcpProxy::start(upstream).await;
    let proxied_url = real_url.replacen(&host_port, &proxy.address.to_string(), 1);

    let app = spawn_app_with(
        |values| {
            values.insert("DATABASE_URL".into(), proxied_url);
        },
        server::jobs::registry(),
    )
    .await;
    assert_eq!(app.get("/readyz").await.status(), 200);

    proxy.cut().await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["database"], "unreachable");
    assert_eq!(app.get("/healthz").await.status(), 200, "the process keeps running");

    proxy.restore().await;
    let mut recovered = false;
    for _ in 0..50 {
        if app.get("/readyz").await.status() == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(recovered, "readiness returns once the database is back");
    app.stop().await;
}

/// On SQLite (whichever backend the rest of the run uses): a SQLite database is a file in
/// the process, so "down" is the file gone or replaced under the running server, which the
/// open connections would not notice while every new one opened an empty database.
#[tokio::test]
async fn readyz_turns_503_while_the_sqlite_file_is_gone_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ready.db");
    let url = format!("sqlite://{}", file.display());
    let app = spawn_app_with(
        |values| {
            values.insert("DATABASE_URL".into(), url);
        },
        server::jobs::registry(),
    )
    .await;
    assert_eq!(app.state.db.backend(), app::platform::db::Backend::Sqlite);
    assert_eq!(app.get("/readyz").await.status(), 200);

    let aside = dir.path().join("ready.db.aside");
    std::fs::rename(&file, &aside).unwrap();
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503, "the file is gone");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["database"], "unreachable");
    assert_eq!(app.get("/healthz").await.status(), 200, "the process keeps running");

    std::fs::copy(&aside, &file).unwrap();
    assert_eq!(app.get("/readyz").await.status(), 503, "a copy is another file");

    std::fs::rename(&aside, &file).unwrap();
    assert_eq!(app.get("/readyz").await.status(), 200, "the file is back");
    app.stop().await;
}
