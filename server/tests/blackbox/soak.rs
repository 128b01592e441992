//! The soak (by hand, `scripts/soak`; ignored otherwise): the release server binary with a
//! demo library takes a mix of what visitors and members do — pages, search, image pages
//! and their files, downloads through signed links, sign-in and sign-out, collections made,
//! filled, emptied and deleted, cookie decisions — first flat out for a few seconds to
//! measure saturation, then at half that rate for ATELIER_SOAK_MINUTES (default 30). It
//! prints a line a minute (p50/p99 latency, errors, the server's RSS and open files) and
//! fails on any 5xx, connection error or panic in the server's log, or when the server's
//! RSS or open files grow past a tolerance after the first minute (a leak, not warm-up).
//!
//! cargo test --release -p app -p server --test blackbox soak -- --ignored --nocapture

mod steps;

use crate::support::{
    self, command,
    members::{session_cookie, PASSWORD},
    served::ServedBinary,
};
use app::{
    features::accounts::{
        api::SignIn,
        service::{create_user, NewUser},
        Role,
    },
    platform::db::Database,
};
use leptos::server_fn::ServerFn;
use std::{
    sync::{atomic::AtomicU64, Arc, Mutex},
    time::Duration,
};
use steps::{pick, Driver, Site, Tally, MIX};
use tokio::{sync::mpsc, time::Instant};

const DEMO_IMAGES: &str = "24";
/// Requests in flight while saturation is measured: enough to keep both cores busy.
const SATURATION_WORKERS: usize = 64;
const SATURATION_SECONDS: u64 = 10;
/// Workers at half saturation, where few requests are in flight. The cap also bounds the
/// idle keep-alive connections (each an open file of the server) the client keeps, so the
/// server's open files compare from minute to minute.
const PACED_WORKERS: usize = 32;
/// Members who make and edit collections (and browse signed in).
const MEMBERS: usize = 8;
/// Accounts the sign-in step takes in turn. Each account may try 6 times at once, then once
/// every 20 s (platform/rate_limit.rs); with this many, none comes near its limit.
const SIGN_IN_ACCOUNTS: usize = 1000;
/// The growth after the first minute that fails the soak.
const RSS_GROWTH: f64 = 1.5;
const FD_GROWTH: usize = 50;

fn minutes() -> u64 {
    std::env::var("ATELIER_SOAK_MINUTES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(30u64)
        .max(1)
}

/// What the server process holds, from /proc.
#[derive(Clone, Copy, Debug)]
struct Usage {
    rss_kib: u64,
    fds: usize,
}

impl Usage {
    fn of(pid: u32) -> Usage {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rss_kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0);
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|entries| entries.count())
            .unwrap_or(0);
        Usage { rss_kib, fds }
    }

    fn describe(&self) -> String {
        format!("RSS {:.1} MiB, {} open files", self.rss_kib as f64 / 1024.0, self.fds)
    }
}

/// The test configuration as an operator would run it (the default pool and job workers),
/// trusting the loopback's `X-Forwarded-For`, with the demo library seeded and the members
/// and sign-in accounts made: the configuration, the database and both groups' emails.
async fn prepare(dir: &std::path::Path) -> (Vec<(String, String)>, Database, Vec<String>, Vec<String>) {
    let mut env: Vec<(String, String)> = support::test_config_values(dir)
        .await
        .into_iter()
        .filter(|(key, _)| key != "ATELIER_DB_MAX_CONNECTIONS" && key != "ATELIER_JOB_WORKERS")
        .collect();
    env.push(("ATELIER_TRUSTED_PROXIES".to_owned(), "127.0.0.1".to_owned()));
    let seeded = command::server(
        dir,
        &command::as_refs(&env),
        &["seed-demo", "--images", DEMO_IMAGES, "--seed", "7"],
        None,
    );
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let url = &env.iter().find(|(key, _)| key == "DATABASE_URL").unwrap().1;
    let db = Database::connect(url, 2).await.expect("the test database");
    let members: Vec<String> = (0..MEMBERS).map(|n| format!("soak-member-{n}@example.org")).collect();
    let accounts: Vec<String> = (0..SIGN_IN_ACCOUNTS)
        .map(|n| format!("soak-account-{n}@example.org"))
        .collect();
    for email in members.iter().chain(accounts.iter().take(1)) {
        let user = NewUser {
            email: email.as_str(),
            display_name: "Soak Tester",
            password: PASSWORD,
            role: Role::Member,
            email_verified: true,
        };
        create_user(&db, user).await.expect("a soak account");
    }
    // The other sign-in accounts copy the first one's password hash: a thousand Argon2
    // hashes would take longer than a short soak.
    let mut tx = db.pool().begin().await.unwrap();
    for email in &accounts[1..] {
        sqlx::query(
            "INSERT INTO users (email, display_name, password_hash, role, email_verified_at, created_at, updated_at) \
             SELECT $1, display_name, password_hash, role, email_verified_at, created_at, updated_at \
             FROM users WHERE email = $2",
        )
        .bind(email)
        .bind(&accounts[0])
        .execute(&mut *tx)
        .await
        .expect("a copied sign-in account");
    }
    tx.commit().await.unwrap();
    (env, db, members, accounts)
}

/// The library's ids from the database, and the members signed in over HTTP.
async fn load_site(db: &Database, base: &str, members: &[String], accounts: Vec<String>) -> Site {
    let column = |sql: &'static str| async move {
        sqlx::query_scalar::<_, String>(sql)
            .fetch_all(db.pool())
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"))
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let mut cookies = Vec::new();
    for email in members {
        let response = http
            .post(format!("{base}{}", SignIn::PATH))
            .form(&[("email", email.as_str()), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        cookies.push(session_cookie(&response));
    }
    Site {
        images: column("SELECT public_id FROM images ORDER BY id").await,
        contributors: column("SELECT slug FROM contributors ORDER BY id").await,
        categories: column("SELECT slug FROM categories ORDER BY id").await,
        members: cookies,
        accounts,
        next_account: AtomicU64::new(0),
        next_address: AtomicU64::new(0),
        next_name: AtomicU64::new(0),
    }
}

/// Every step alone first: each must go through, or the mix measures nothing.
async fn preflight(driver: &Driver) {
    for (op, _) in MIX {
        let mut rng = fastrand::Rng::with_seed(7);
        let went_through = driver.run(op, &mut rng).await;
        let tally = driver.take();
        assert!(
            went_through && tally.errors() + tally.limited + tally.refused == 0,
            "{op:?} alone did not go through: {:?}",
            tally.examples
        );
    }
}

/// Runs the mix flat out for SATURATION_SECONDS; the steps per second and the tally.
async fn saturate(driver: &Driver) -> (f64, Tally) {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(SATURATION_SECONDS);
    let workers: Vec<_> = (0..SATURATION_WORKERS)
        .map(|n| {
            let driver = driver.clone();
            tokio::spawn(async move {
                let mut rng = fastrand::Rng::with_seed(n as u64 + 1);
                while Instant::now() < deadline {
                    let op = pick(&mut rng);
                    driver.run(op, &mut rng).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("a saturation worker");
    }
    let seconds = started.elapsed().as_secs_f64();
    let tally = driver.take();
    let steps_per_second = tally.ops as f64 / seconds;
    (steps_per_second, tally.print("saturation", seconds, ""))
}

/// Starts steps at `rate` per second until `end`; a step finding every worker busy and
/// the queue full is counted as missed, not queued without bound.
async fn dispatch(sender: mpsc::Sender<u64>, tally: &Mutex<Tally>, rate: f64, end: Instant) {
    let period = Duration::from_secs_f64(1.0 / rate);
    let mut due = Instant::now();
    let mut ticket = 0u64;
    while due < end {
        tokio::time::sleep_until(due).await;
        let now = Instant::now();
        while due <= now && due < end {
            if sender.try_send(ticket).is_err() {
                tally.lock().unwrap().missed += 1;
            }
            ticket += 1;
            due += period;
        }
    }
}

/// Prints a line at the end of each minute; the minutes' tallies and the server's usage.
async fn report(driver: &Driver, start: Instant, minutes: u64, pid: u32) -> Vec<(Tally, Usage)> {
    let mut lines = Vec::new();
    for minute in 1..=minutes {
        tokio::time::sleep_until(start + Duration::from_secs(60 * minute)).await;
        let tally = driver.take();
        let usage = Usage::of(pid);
        let suffix = format!("; {}", usage.describe());
        lines.push((tally.print(&format!("minute {minute:>3}"), 60.0, &suffix), usage));
    }
    lines
}

/// The mix at `rate` steps per second for `minutes`, from a pool of workers.
async fn paced(driver: &Driver, rate: f64, minutes: u64, pid: u32) -> (Vec<(Tally, Usage)>, Tally) {
    let (sender, receiver) = mpsc::channel::<u64>(PACED_WORKERS);
    let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
    let workers: Vec<_> = (0..PACED_WORKERS)
        .map(|n| {
            let (driver, receiver) = (driver.clone(), receiver.clone());
            tokio::spawn(async move {
                let mut rng = fastrand::Rng::with_seed(1000 + n as u64);
                loop {
                    let ticket = receiver.lock().await.recv().await;
                    if ticket.is_none() {
                        return;
                    }
                    let op = pick(&mut rng);
                    driver.run(op, &mut rng).await;
                }
            })
        })
        .collect();
    let start = Instant::now();
    let end = start + Duration::from_secs(60 * minutes);
    let ((), lines) = tokio::join!(
        dispatch(sender, &driver.tally, rate, end),
        report(driver, start, minutes, pid)
    );
    for worker in workers {
        worker.await.expect("a paced worker");
    }
    // Steps still in flight at the last minute's line.
    (lines, driver.take())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a soak of 30 minutes (ATELIER_SOAK_MINUTES): run it with scripts/soak"]
async fn mixed_traffic_at_half_saturation_keeps_errors_at_zero_and_memory_flat() {
    let minutes = minutes();
    let dir = tempfile::tempdir().unwrap();
    let (env, db, members, accounts) = prepare(dir.path()).await;
    let deadline = u32::try_from(minutes * 60 + 900).unwrap_or(u32::MAX);
    let server = ServedBinary::start(dir.path(), &env, "warn", deadline);
    let pid = server.server_pid().expect("the server's process id");
    let site = Arc::new(load_site(&db, &server.base_url, &members, accounts).await);
    let at_start = Usage::of(pid);
    println!(
        "soak ({:?}, {minutes} min, {DEMO_IMAGES} demo images): server at start: {}",
        support::backend(),
        at_start.describe()
    );

    let driver = Driver::new(&server.base_url, site.clone(), SATURATION_WORKERS);
    preflight(&driver).await;
    let (saturation, mut total) = saturate(&driver).await;
    // Its connections close with its client, before the paced run counts open files.
    drop(driver);
    assert!(
        saturation >= 2.0,
        "flat out, the server took only {saturation:.2} steps/s"
    );
    let rate = saturation / 2.0;
    println!(
        "soaking at {rate:.1} steps/s (half of {saturation:.1} at {SATURATION_WORKERS} workers); {}",
        Usage::of(pid).describe()
    );

    let driver = Driver::new(&server.base_url, site, PACED_WORKERS);
    let (lines, tail) = paced(&driver, rate, minutes, pid).await;
    let log = server.stop();
    for (tally, _) in &lines {
        total.add(tally);
    }
    total.add(&tail);
    let warm = lines.first().expect("at least one minute").1;
    let end = lines.last().expect("at least one minute").1;
    verdict(&total, &log, at_start, warm, end);
}

/// Prints the summary and fails on errors, panics, or growth after the first minute.
fn verdict(total: &Tally, log: &str, at_start: Usage, warm: Usage, end: Usage) {
    let lines: Vec<&str> = log.lines().collect();
    let panics: Vec<usize> = (0..lines.len()).filter(|&at| lines[at].contains("panicked")).collect();
    let first_panic = panics
        .first()
        .map(|&at| lines[at..lines.len().min(at + 12)].join("\n"))
        .unwrap_or_default();
    let error_lines = lines.iter().filter(|line| line.contains("ERROR")).count();
    println!(
        "soak total: {} requests in {} steps; {} errors ({} 5xx, {} connection), {} limited (429), \
         {} refused, {} missed; {} panics and {error_lines} ERROR lines in the server's log",
        total.requests,
        total.ops,
        total.errors(),
        total.server_errors,
        total.connection_errors,
        total.limited,
        total.refused,
        total.missed,
        panics.len(),
    );
    println!(
        "server: at start {}; after the first minute {}; at the end {}",
        at_start.describe(),
        warm.describe(),
        end.describe()
    );
    let mut failures = Vec::new();
    if total.errors() > 0 {
        failures.push(format!("{} errors; the first: {:?}", total.errors(), total.examples));
    }
    if !panics.is_empty() {
        failures.push(format!(
            "{} panics in the server's log; the first:\n{first_panic}",
            panics.len()
        ));
    }
    if end.rss_kib == 0 {
        failures.push("the server process was gone at the end".to_owned());
    }
    if end.rss_kib as f64 > RSS_GROWTH * warm.rss_kib as f64 {
        failures.push(format!(
            "RSS grew more than ×{RSS_GROWTH} after the first minute: {} → {}",
            warm.describe(),
            end.describe()
        ));
    }
    if end.fds > warm.fds + FD_GROWTH {
        failures.push(format!(
            "open files grew by more than {FD_GROWTH} after the first minute: {} → {}",
            warm.fds, end.fds
        ));
    }
    println!("soak: {}", if failures.is_empty() { "PASS" } else { "FAIL" });
    assert!(failures.is_empty(), "the soak failed:\n  {}", failures.join("\n  "));
}
