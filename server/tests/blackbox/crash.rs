//! Crash safety: the release server is killed with SIGKILL at random moments while members
//! write — sign-ups, new collections, images saved to them and moved within them, cookie
//! choices, chat replies paid in credits — and started again each time.
//! Every write it acknowledged must still be there, with the verification mail job of
//! every acknowledged sign-up; each collection's order is the one its acknowledged adds and
//! moves made; the credit ledger still sums to the balance with every unfinished reply
//! given back once; SQLite's integrity check must pass; the server must start cleanly
//! every time. A few kills in the README's test command (on SQLite and on
//! PostgreSQL, as the suite runs on both); `scripts/crash-test` runs 50 on each.

use crate::support::{
    self,
    fake_llm::{FakeLlm, Script},
    members::PASSWORD,
    served::{self, ServedBinary},
};
use app::{
    features::{
        accounts::{
            recovery_api::SignUp,
            service::{create_user, NewUser},
            Role,
        },
        billing::{ledger, Reason},
        chat::{api::StartChat, service::fail_abandoned, service::ABANDONED_AFTER_SECS, sse::SseParser, wire},
        collections::api::{AddToCollection, CreateCollection, MoveCollectionItem},
        privacy::{api::SaveConsent, consent::CONSENT_COOKIE},
    },
    platform::{
        clock::now_unix,
        db::{Backend, Database},
    },
};
use leptos::server_fn::ServerFn;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

const CI_KILLS: usize = 3;
const WRITERS: usize = 4;

/// Writes the server answered 2xx to.
#[derive(Default)]
struct Acknowledged {
    sign_ups: Vec<String>,
    collections: Vec<String>,
    orders: HashMap<String, Order>,
    saved: Vec<(String, String)>,
    moves: usize,
    /// Consent ids whose cookie choice was answered 2xx.
    consents: Vec<String>,
    /// Chat replies streamed to their end.
    replies: usize,
}

/// A collection's images in the member's order, as its acknowledged adds and moves left it.
struct Order {
    images: Vec<String>,
    /// False once a write to it went unanswered: that write may or may not have happened.
    known: bool,
    /// A writer is writing to it. Writes to one collection go one at a time, so the order
    /// the writers expect is the order the server must have kept.
    busy: bool,
}

/// How a write to a collection ended.
enum Outcome {
    /// Answered 2xx: the collection's order is now this.
    Applied(Vec<String>),
    /// Not attempted.
    Skipped,
    /// No answer, or not a 2xx one.
    Unanswered,
}

struct Writer {
    http: reqwest::Client,
    base: String,
    cookie: String,
    images: Arc<Vec<String>>,
    acknowledged: Arc<Mutex<Acknowledged>>,
    rng: fastrand::Rng,
    /// Tells sign-up addresses apart across writers and lives.
    tag: String,
    /// The contributor the writer chats with, and its conversation in this life.
    contributor: String,
    conversation: Option<String>,
}

impl Writer {
    async fn post(&self, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Option<reqwest::Response> {
        let mut request = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.ok()
    }

    /// Writes until the server stops answering.
    async fn run(mut self) {
        for step in 0.. {
            let alive = match self.rng.u8(0..7) {
                0 => self.sign_up(step).await,
                1 => self.create_collection(step).await,
                2 => self.choose_cookies().await,
                3 => self.move_image().await,
                4 => self.chat().await,
                _ => self.save_image().await,
            };
            if !alive {
                return;
            }
        }
    }

    async fn sign_up(&mut self, step: usize) -> bool {
        let email = format!("crash-{}-{step}@example.org", self.tag);
        let form = [
            ("email", email.as_str()),
            ("display_name", "Crash Tester"),
            ("password", PASSWORD),
            ("birth_date", "1990-01-01"),
        ];
        let Some(response) = self.post(SignUp::PATH, None, &form).await else {
            return false;
        };
        if response.status().is_success() {
            self.acknowledged.lock().unwrap().sign_ups.push(email);
        }
        true
    }

    async fn create_collection(&mut self, step: usize) -> bool {
        let name = format!("Crash {} {step}", self.tag);
        let Some(response) = self
            .post(CreateCollection::PATH, Some(&self.cookie), &[("name", &name)])
            .await
        else {
            return false;
        };
        if response.status().is_success() {
            let Ok(slug) = response.json::<String>().await else {
                return false;
            };
            let mut acknowledged = self.acknowledged.lock().unwrap();
            let order = Order {
                images: Vec::new(),
                known: true,
                busy: false,
            };
            acknowledged.orders.insert(slug.clone(), order);
            acknowledged.collections.push(slug);
        }
        true
    }

    /// A first visit's cookie choice: its record is written under the consent id the
    /// answer's cookie carries (`<policy>.<flags>.<id>`).
    async fn choose_cookies(&mut self) -> bool {
        let Some(response) = self.post(SaveConsent::PATH, None, &[("choice", "accept")]).await else {
            return false;
        };
        if response.status().is_success() {
            let consent_id = response
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|value| value.to_str().ok())
                .find_map(|cookie| cookie.strip_prefix(&format!("{CONSENT_COOKIE}=")))
                .and_then(|rest| rest.split(';').next())
                .and_then(|value| value.rsplit('.').next())
                .map(str::to_owned);
            match consent_id {
                Some(id) => self.acknowledged.lock().unwrap().consents.push(id),
                None => panic!("an answered cookie choice sets the consent cookie"),
            }
        }
        true
    }

    /// A collection no other writer is writing to, marked busy: its slug and images.
    fn take_collection(&mut self) -> Option<(String, Vec<String>)> {
        let mut acknowledged = self.acknowledged.lock().unwrap();
        let free: Vec<String> = acknowledged
            .orders
            .iter()
            .filter(|(_, order)| !order.busy)
            .map(|(slug, _)| slug.clone())
            .collect();
        let slug = free.get(self.rng.usize(..free.len().max(1)))?.clone();
        let order = acknowledged.orders.get_mut(&slug)?;
        order.busy = true;
        Some((slug, order.images.clone()))
    }

    fn release(&self, slug: &str, outcome: Outcome) {
        let mut acknowledged = self.acknowledged.lock().unwrap();
        let order = acknowledged.orders.get_mut(slug).expect("a taken collection");
        order.busy = false;
        match outcome {
            Outcome::Applied(images) => order.images = images,
            Outcome::Skipped => {}
            Outcome::Unanswered => order.known = false,
        }
    }

    async fn save_image(&mut self) -> bool {
        let Some((slug, mut images)) = self.take_collection() else {
            return true;
        };
        let image = self.images[self.rng.usize(..self.images.len())].clone();
        let form = [("slug", slug.as_str()), ("public_id", image.as_str())];
        let response = self.post(AddToCollection::PATH, Some(&self.cookie), &form).await;
        let alive = response.is_some();
        if !response.is_some_and(|response| response.status().is_success()) {
            self.release(&slug, Outcome::Unanswered);
            return alive;
        }
        // A new image goes first in the member's order; one already there stays put.
        if !images.contains(&image) {
            images.insert(0, image.clone());
        }
        self.release(&slug, Outcome::Applied(images));
        self.acknowledged.lock().unwrap().saved.push((slug, image));
        true
    }

    /// Moves an image of a collection to a random place (past the end means last).
    async fn move_image(&mut self) -> bool {
        let Some((slug, mut images)) = self.take_collection() else {
            return true;
        };
        if images.len() < 2 {
            self.release(&slug, Outcome::Skipped);
            return true;
        }
        let image = images.remove(self.rng.usize(..images.len()));
        let to_index = self.rng.usize(..=images.len() + 1);
        let to = to_index.to_string();
        let form = [
            ("slug", slug.as_str()),
            ("public_id", image.as_str()),
            ("to_index", to.as_str()),
        ];
        let response = self.post(MoveCollectionItem::PATH, Some(&self.cookie), &form).await;
        let alive = response.is_some();
        if !response.is_some_and(|response| response.status().is_success()) {
            self.release(&slug, Outcome::Unanswered);
            return alive;
        }
        images.insert(to_index.min(images.len()), image);
        self.release(&slug, Outcome::Applied(images));
        self.acknowledged.lock().unwrap().moves += 1;
        true
    }

    /// A message in this life's conversation; a reply streamed to its `done` event is
    /// acknowledged (and paid for with a credit).
    async fn chat(&mut self) -> bool {
        if self.conversation.is_none() {
            let form = [("contributor", self.contributor.as_str())];
            let Some(response) = self.post(StartChat::PATH, Some(&self.cookie), &form).await else {
                return false;
            };
            if !response.status().is_success() {
                return true;
            }
            let Ok(id) = response.json::<String>().await else {
                return false;
            };
            self.conversation = Some(id);
        }
        let path = format!(
            "{}/chat/{}/messages",
            self.base,
            self.conversation.as_deref().unwrap_or_default()
        );
        let request = self
            .http
            .post(path)
            .header("cookie", &self.cookie)
            .header("accept", "text/event-stream")
            .form(&[("text", "Tell me about your work.")]);
        let Ok(response) = request.send().await else {
            return false;
        };
        let ok = response.status().is_success();
        let Ok(body) = response.bytes().await else {
            return false;
        };
        let events = SseParser::default().feed(&body).unwrap_or_default();
        if ok && events.last().is_some_and(|event| event.name == wire::DONE) {
            self.acknowledged.lock().unwrap().replies += 1;
        }
        true
    }
}

fn kills() -> usize {
    std::env::var("ATELIER_CRASH_KILLS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(CI_KILLS)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9_and_the_server_restarts_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    // Chat replies stream slowly enough for kills to land in the middle of some.
    let llm = FakeLlm::start().await;
    let reply = Script::slow(&["A", " reply", " in", " parts."], Duration::from_millis(25));
    llm.script(std::iter::repeat_n(reply, 5_000));
    let mut env: Vec<(String, String)> = support::test_config_values(dir.path()).await.into_iter().collect();
    env.extend(llm.env("openai"));
    env.push(("ATELIER_CHAT_FREE_DAILY".into(), "0".into()));
    let db = served::seed_and_connect(dir.path(), &env, &["--images", "6", "--seed", "7"]).await;
    let writer_account = NewUser {
        email: "writer@example.org",
        display_name: "Writer",
        password: PASSWORD,
        role: Role::Member,
        email_verified: true,
    };
    let writer_id = create_user(&db, writer_account).await.unwrap();
    ledger::grant(
        &db,
        writer_id,
        100_000,
        Reason::Adjustment,
        "crash test",
        "crash-grant",
        now_unix(),
    )
    .await
    .unwrap();
    let contributor: String = sqlx::query_scalar("SELECT slug FROM contributors ORDER BY id LIMIT 1")
        .fetch_one(db.pool())
        .await
        .unwrap();
    let images: Arc<Vec<String>> = Arc::new(
        sqlx::query_scalar("SELECT public_id FROM images ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap(),
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let mut rng = fastrand::Rng::with_seed(20261207);
    let mut session: Option<String> = None;

    let total = kills();
    for life in 0..total {
        let server = ServedBinary::start(dir.path(), &env, "warn", 600);
        // Sessions live in the database, so one sign-in serves every life.
        if session.is_none() {
            session = Some(served::sign_in(&http, &server.base_url, "writer@example.org").await);
        }
        let cookie = session.clone().unwrap_or_default();
        let writers: Vec<_> = (0..WRITERS)
            .map(|index| Writer {
                http: http.clone(),
                base: server.base_url.clone(),
                cookie: cookie.clone(),
                images: images.clone(),
                acknowledged: acknowledged.clone(),
                rng: fastrand::Rng::with_seed(rng.u64(..)),
                tag: format!("{life}-{index}"),
                contributor: contributor.clone(),
                conversation: None,
            })
            .map(|writer| tokio::spawn(writer.run()))
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.u64(150..900))).await;
        let log = server.log();
        server.kill_hard();
        assert!(!log.contains("panicked"), "life {life}: {log}");
        for writer in writers {
            writer.await.unwrap();
        }
    }

    // One more start: clean, ready, and every acknowledged write is there.
    let server = ServedBinary::start(dir.path(), &env, "warn", 120);
    let ready = http.get(format!("{}/readyz", server.base_url)).send().await.unwrap();
    assert_eq!(ready.status(), 200, "ready after {total} kills");
    let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
    check_acknowledged(&db, &acknowledged).await;
    check_books(&db, writer_id, &acknowledged).await;
    if db.backend() == Backend::Sqlite {
        let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(integrity, "ok");
    }
    let log = server.stop();
    assert!(!log.contains("panicked"), "{log}");
    eprintln!(
        "crash test ({:?}): {total} kills; {} sign-ups, {} collections, {} saves, {} moves, {} cookie choices and \
         {} paid replies acknowledged, all present; {} collections in exactly the acknowledged order",
        db.backend(),
        acknowledged.sign_ups.len(),
        acknowledged.collections.len(),
        acknowledged.saved.len(),
        acknowledged.moves,
        acknowledged.consents.len(),
        acknowledged.replies,
        acknowledged.orders.values().filter(|order| order.known).count(),
    );
}

async fn check_acknowledged(db: &Database, acknowledged: &Acknowledged) {
    assert!(
        !acknowledged.collections.is_empty() && !acknowledged.saved.is_empty(),
        "the writers got writes acknowledged between kills"
    );
    for email in &acknowledged.sign_ups {
        let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(users, 1, "the account of {email}");
        // Its verification mail: delivered to the outbox, or still a job waiting to be.
        let mails: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM mail_outbox WHERE to_address = $1) \
                  + (SELECT COUNT(*) FROM jobs WHERE kind = 'mail.deliver' AND payload LIKE $2)",
        )
        .bind(email)
        .bind(format!("%{email}%"))
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert!(mails >= 1, "the verification mail of {email} is not lost");
    }
    for consent_id in &acknowledged.consents {
        let records: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM consent_records WHERE consent_id = $1")
            .bind(consent_id)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(records, 1, "the cookie choice of {consent_id}");
    }
    for slug in &acknowledged.collections {
        let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM collections WHERE slug = $1")
            .bind(slug)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(found, 1, "collection {slug}");
    }
    for (slug, image) in &acknowledged.saved {
        let found: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM collection_items ci JOIN collections c ON c.id = ci.collection_id \
             JOIN images i ON i.id = ci.image_id WHERE c.slug = $1 AND i.public_id = $2",
        )
        .bind(slug)
        .bind(image)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(found, 1, "{image} saved in {slug}");
    }
    check_orders(db, acknowledged).await;
}

/// Each collection no unanswered write touched is in exactly the order its acknowledged
/// adds and moves made.
async fn check_orders(db: &Database, acknowledged: &Acknowledged) {
    for (slug, order) in acknowledged.orders.iter().filter(|(_, order)| order.known) {
        let stored: Vec<String> = sqlx::query_scalar(
            "SELECT i.public_id FROM collection_items ci JOIN collections c ON c.id = ci.collection_id \
             JOIN images i ON i.id = ci.image_id WHERE c.slug = $1 ORDER BY ci.position, ci.image_id",
        )
        .bind(slug)
        .fetch_all(db.pool())
        .await
        .unwrap();
        assert_eq!(stored, order.images, "the order of {slug}");
    }
}

/// The writer's credits: replies the kills left streaming are ended as the server's sweep
/// ends them once they are old, then the ledger must sum to the balance, every refund give
/// back one spend, and the credits kept be exactly those of replies stored whole — at least
/// as many as were acknowledged.
async fn check_books(db: &Database, writer: i64, acknowledged: &Acknowledged) {
    fail_abandoned(db, now_unix() + ABANDONED_AFTER_SECS + 1).await.unwrap();
    crate::chat_metering::assert_books_balance_of(db, writer).await;
    let complete: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM chat_messages WHERE user_id = $1 AND role = 'persona' \
         AND state = 'complete'",
    )
    .bind(writer)
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert!(
        complete >= acknowledged.replies as i64,
        "{complete} replies stored whole, {} acknowledged",
        acknowledged.replies
    );
}
