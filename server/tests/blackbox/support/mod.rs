//! Test harness: starts the real application on an ephemeral port with a fresh database
//! (a new SQLite file, or a new PostgreSQL database when ATELIER_TEST_DATABASE=postgres)
//! and speaks HTTP to it. Writing a new black-box test is one `spawn_app().await` away.

#![allow(dead_code)]

pub mod command;
pub mod fake_llm;
pub mod fake_oidc;
pub mod fake_s3;
pub mod fake_stripe;
pub mod fixtures;
pub mod library;
pub mod members;
pub mod served;
pub mod tcp_proxy;

use app::platform::{config::Config, db::Backend, jobs::JobRegistry, state::AppState};
use server::startup::Application;
use std::{collections::HashMap, net::SocketAddr, sync::OnceLock};
use tokio::{sync::oneshot, task::JoinHandle};

pub struct TestApp {
    pub address: SocketAddr,
    pub base_url: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    /// The configuration the app was started with, for running the CLI against it.
    pub env: HashMap<String, String>,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("GET reaches the test server")
    }

    /// A GET as the bearer of `cookie` (`name=value; …`), or as nobody.
    pub async fn get_as(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(self.url(path));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.expect("GET reaches the test server")
    }

    /// The body of a GET sent with a `cookie` header (`name=value; …`).
    pub async fn page_with_cookie(&self, path: &str, cookie: &str) -> String {
        self.client
            .get(self.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .expect("GET reaches the test server")
            .text()
            .await
            .expect("the body arrives")
    }

    /// Seeds a small demo library (rendering takes a moment per image).
    pub async fn seed(&self, images: u32) {
        server::demo::seed(
            &self.state.db,
            &self.state.media,
            server::demo::SeedOptions { images, seed: 7 },
            false,
        )
        .await
        .expect("the demo library seeds");
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            // The server's own stop is bounded (30 s for workers, 10 s for the pool), so a
            // stop that takes longer is a bug to report, not a wait to sit out.
            tokio::time::timeout(std::time::Duration::from_secs(90), handle)
                .await
                .expect("the server stopped within 90 s")
                .expect("the server task did not panic")
                .expect("the server stopped cleanly");
        }
    }
}

/// Which database the black-box suite runs against.
pub fn backend() -> Backend {
    match std::env::var("ATELIER_TEST_DATABASE").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// The PostgreSQL server tests may create databases on (scripts/test always provides one).
pub fn postgres_admin_url() -> String {
    std::env::var("ATELIER_TEST_POSTGRES_URL").expect(
        "ATELIER_TEST_POSTGRES_URL must name a PostgreSQL server tests may create databases on \
         (scripts/test provides one)",
    )
}

/// Replaces the database name in a `postgres://…/name[?params]` URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map(|(b, q)| (b, Some(q))).unwrap_or((url, None));
    let prefix = &base[..base.rfind('/').expect("a postgres URL has a path")];
    match query {
        Some(query) => format!("{prefix}/{name}?{query}"),
        None => format!("{prefix}/{name}"),
    }
}

/// Creates an empty PostgreSQL database for one test. The first call in a process drops the
/// databases earlier runs left behind.
pub async fn fresh_postgres_database() -> String {
    use sqlx::{Connection, Executor};
    static CLEANED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    sqlx::any::install_default_drivers();
    let admin_url = postgres_admin_url();
    CLEANED
        .get_or_init(|| async {
            let mut admin = sqlx::AnyConnection::connect(&admin_url)
                .await
                .expect("connect to the test PostgreSQL");
            let stale: Vec<String> =
                sqlx::query_scalar("SELECT CAST(datname AS TEXT) FROM pg_database WHERE datname LIKE 'atelier_test_%'")
                    .fetch_all(&mut admin)
                    .await
                    .expect("list old test databases");
            for name in stale {
                let _ = admin
                    .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                    .await;
            }
        })
        .await;
    let name = format!("atelier_test_{}", unique_suffix());
    let mut admin = sqlx::AnyConnection::connect(&admin_url)
        .await
        .expect("connect to the test PostgreSQL");
    admin
        .execute(format!("CREATE DATABASE \"{name}\"").as_str())
        .await
        .expect("create a test database");
    with_database(&admin_url, &name)
}

pub fn unique_suffix() -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{}_{}_{n}", std::process::id(), nanos)
}

pub fn init_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        if std::env::var_os("RUST_LOG").is_none() {
            std::env::set_var("RUST_LOG", "warn");
        }
        server::telemetry::init();
    });
}

/// The configuration a test app starts from: loopback, port 0, everything in a temp dir.
pub async fn test_config_values(dir: &std::path::Path) -> HashMap<String, String> {
    let database_url = match backend() {
        Backend::Sqlite => format!("sqlite://{}", dir.join("atelier.db").display()),
        Backend::Postgres => fresh_postgres_database().await,
    };
    HashMap::from([
        ("ATELIER_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        ("DATABASE_URL".to_owned(), database_url),
        ("ATELIER_DATA_DIR".to_owned(), dir.display().to_string()),
        ("ATELIER_MEDIA_DIR".to_owned(), dir.join("media").display().to_string()),
        ("ATELIER_SITE_ROOT".to_owned(), dir.join("site").display().to_string()),
        ("ATELIER_JOB_WORKERS".to_owned(), "1".to_owned()),
        ("ATELIER_DB_MAX_CONNECTIONS".to_owned(), "5".to_owned()),
    ])
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}, server::jobs::registry()).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut HashMap<String, String>), registry: JobRegistry) -> TestApp {
    spawn_app_tuned(adjust, |_| {}, registry).await
}

/// As `spawn_app_with`, and `tune` then changes the parsed configuration: for what no
/// variable sets, such as the Stripe client's timeout.
pub async fn spawn_app_tuned(
    adjust: impl FnOnce(&mut HashMap<String, String>),
    tune: impl FnOnce(&mut Config),
    registry: JobRegistry,
) -> TestApp {
    init_logs();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut values = test_config_values(dir.path()).await;
    adjust(&mut values);
    let mut config = Config::from_map(&values).expect("the test configuration is valid");
    tune(&mut config);
    let env = values.clone();
    let app = Application::build(config, registry)
        .await
        .expect("the application builds");
    let address = app.local_addr();
    let state = app.state().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        // No page takes a minute; a request that does fails the test instead of stalling it.
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("an HTTP client");
    TestApp {
        address,
        base_url: format!("http://{address}"),
        client,
        state,
        dir,
        env,
        stop: Some(stop),
        handle: Some(handle),
    }
}

/// Waits (up to 15 s) for the job worker to deliver a mail to `to` into the outbox.
pub async fn wait_for_mail(app: &TestApp, to: &str, subject_contains: &str) -> app::platform::mail::outbox::OutboxMail {
    for _ in 0..150 {
        let mails = app::platform::mail::outbox::latest(&app.state.db, Some(to), 20)
            .await
            .expect("read the outbox");
        if let Some(mail) = mails.into_iter().find(|m| m.subject.contains(subject_contains)) {
            return mail;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no mail to {to} about “{subject_contains}” arrived in the outbox");
}

/// The 64-hex-digit token of the first `token=` link in a text.
pub fn token_in(text: &str) -> String {
    let start = text.find("token=").expect("a link with a token") + "token=".len();
    text[start..start + 64].to_owned()
}

/// The bytes of one file in a zip, which must be there.
pub fn zip_entry(archive: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, name: &str) -> Vec<u8> {
    use std::io::Read;
    let mut file = archive.by_name(name).unwrap_or_else(|_| panic!("{name} is in the zip"));
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).unwrap();
    bytes
}

/// How many rows a table holds.
pub async fn count_rows(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT CAST(COUNT(*) AS BIGINT) FROM {table}"))
        .fetch_one(app.state.db.pool())
        .await
        .expect("count rows")
}
