//! Two server processes on one database, as two instances behind a load balancer: members
//! sign up through both at once, and the job workers of both processes share the queue, so
//! each verification mail must be delivered exactly once — never by both, never by none.
//! (Leases that survive a worker that is slow rather than dead are issue 32's.)

use crate::support::{
    self,
    served::{self, ServedBinary},
};
use app::features::accounts::recovery_api::SignUp;
use futures::StreamExt;
use leptos::server_fn::ServerFn;
use std::time::{Duration, Instant};

const SIGN_UPS: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_database_deliver_each_queued_mail_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut env: Vec<(String, String)> = support::test_config_values(dir.path()).await.into_iter().collect();
    // Each sign-up comes from its own address (through a trusted proxy), so the per-address
    // sign-up limit does not turn most of them away.
    env.push(("ATELIER_TRUSTED_PROXIES".into(), "127.0.0.1/32".into()));
    let db = served::seed_and_connect(dir.path(), &env, &["--images", "2"]).await;
    let first = ServedBinary::start(dir.path(), &env, "warn", 300);
    let second = ServedBinary::start(dir.path(), &env, "warn", 300);
    let bases = [first.base_url.clone(), second.base_url.clone()];
    let http = reqwest::Client::builder().no_proxy().build().unwrap();

    let answered: Vec<(String, u16)> = futures::stream::iter(0..SIGN_UPS)
        .map(|n| {
            let (http, base) = (&http, &bases[n % 2]);
            async move {
                let email = format!("instance-{n}@example.org");
                let form = [
                    ("email", email.as_str()),
                    ("display_name", "Two Instances"),
                    ("password", "a long enough passphrase"),
                    ("birth_date", "1990-01-01"),
                ];
                let response = http
                    .post(format!("{base}{}", SignUp::PATH))
                    .header("x-forwarded-for", format!("198.51.100.{n}"))
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                (email, response.status().as_u16())
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let signed_up: Vec<&String> = answered
        .iter()
        .filter(|(_, status)| (200..300).contains(status))
        .map(|(email, _)| email)
        .collect();
    assert_eq!(signed_up.len(), SIGN_UPS, "{answered:?}");

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let open: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM jobs WHERE kind = 'mail.deliver' AND status IN ('queued', 'running')",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        if open == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{open} mail jobs still open after 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for email in signed_up {
        let delivered: i64 =
            sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM mail_outbox WHERE to_address = $1")
                .bind(email)
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(delivered, 1, "the verification mail of {email}");
    }
    eprintln!("instances: {SIGN_UPS} sign-ups through two processes, each mail delivered once");
    for server in [first, second] {
        let log = server.stop();
        assert!(!log.contains("panicked"), "{log}");
    }
}
