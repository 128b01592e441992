//! The soak's mix: the steps visitors and members take (pages, search, image pages and
//! files, signed downloads, collections, cookie decisions, sign-in), each one visitor at
//! its own client address, and the tally of what came back.

use crate::support::members::{cookie_pair, PASSWORD};
use app::features::{
    accounts::api::{SignIn, SignOut},
    collections::api::{AddToCollection, CreateCollection, DeleteCollection, RemoveFromCollection},
    library::api::DownloadLink,
    privacy::api::SaveConsent,
};
use leptos::server_fn::ServerFn;
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

/// Client addresses the steps take in turn (`X-Forwarded-For` from the trusted loopback),
/// so the per-address limits on sign-in and cookie decisions, which are not what is
/// measured, hold nobody back; a fixed set keeps the limiters' memory bounded.
const ADDRESSES: u64 = 62_500;

/// One step a visitor or member takes: one to six requests.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    Browse,
    Search,
    ImagePage,
    Download,
    Collection,
    Consent,
    SignIn,
}

/// How often each step is taken, in percent.
pub const MIX: [(Op, u32); 7] = [
    (Op::Browse, 30),
    (Op::Search, 15),
    (Op::ImagePage, 20),
    (Op::Download, 12),
    (Op::Collection, 10),
    (Op::Consent, 12),
    (Op::SignIn, 1),
];

/// Words from the demo catalogue, and a misspelling the search corrects.
const WORDS: &[&str] = &[
    "aurora", "quiet", "golden", "night", "map", "contour", "sky", "lines", "velvet", "auorra",
];

pub fn pick(rng: &mut fastrand::Rng) -> Op {
    let total: u32 = MIX.iter().map(|(_, weight)| weight).sum();
    let mut roll = rng.u32(0..total);
    for (op, weight) in MIX {
        if roll < weight {
            return op;
        }
        roll -= weight;
    }
    unreachable!("the roll is below the total")
}

fn pick_from<'a>(rng: &mut fastrand::Rng, list: &'a [String]) -> &'a str {
    &list[rng.usize(..list.len())]
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// What came back, counted as it arrives and read out once a minute.
#[derive(Default)]
pub struct Tally {
    pub latencies_ms: Vec<f64>,
    pub ops: u64,
    pub requests: u64,
    pub server_errors: u64,
    pub connection_errors: u64,
    /// 429s: a limit answered, not a failure (the addresses and accounts rotate to avoid them).
    pub limited: u64,
    /// Other 4xx, or an answer a step could not use: the mix went wrong somewhere.
    pub refused: u64,
    /// Steps not started because every worker was busy and the queue full: the server did
    /// not keep up with the rate.
    pub missed: u64,
    pub examples: Vec<String>,
}

impl Tally {
    pub fn errors(&self) -> u64 {
        self.server_errors + self.connection_errors
    }

    fn note(&mut self, example: String) {
        if self.examples.len() < 10 {
            self.examples.push(example);
        }
    }

    /// Adds another tally's counts (not its latencies) to this one.
    pub fn add(&mut self, other: &Tally) {
        self.ops += other.ops;
        self.requests += other.requests;
        self.server_errors += other.server_errors;
        self.connection_errors += other.connection_errors;
        self.limited += other.limited;
        self.refused += other.refused;
        self.missed += other.missed;
        for example in &other.examples {
            self.note(example.clone());
        }
    }

    /// Prints one line for this tally over `seconds`, ending in `suffix`; returns it
    /// without its latencies.
    pub fn print(mut self, label: &str, seconds: f64, suffix: &str) -> Tally {
        self.latencies_ms.sort_by(f64::total_cmp);
        println!(
            "{label}: {} requests ({:.1}/s) in {} steps, p50 {:.1} ms, p99 {:.1} ms; {} errors \
             ({} 5xx, {} connection), {} limited (429), {} refused, {} missed{}",
            self.requests,
            self.requests as f64 / seconds.max(0.001),
            self.ops,
            percentile(&self.latencies_ms, 0.5),
            percentile(&self.latencies_ms, 0.99),
            self.errors(),
            self.server_errors,
            self.connection_errors,
            self.limited,
            self.refused,
            self.missed,
            suffix,
        );
        self.latencies_ms = Vec::new();
        self
    }
}

/// The demo library's ids and the accounts the steps use.
pub struct Site {
    pub images: Vec<String>,
    pub contributors: Vec<String>,
    pub categories: Vec<String>,
    /// Session cookies of the members who edit collections.
    pub members: Vec<String>,
    /// Emails of the accounts that sign in and out.
    pub accounts: Vec<String>,
    pub next_account: AtomicU64,
    pub next_address: AtomicU64,
    pub next_name: AtomicU64,
}

/// A successful answer (status below 400): its headers, and its body when it is JSON.
struct Answer {
    headers: reqwest::header::HeaderMap,
    body: String,
}

/// The `name=value` of the cookie `name` an answer sets.
fn cookie_from(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&prefix))
        .map(cookie_pair)
}

/// Sends the steps of the mix and counts what comes back into `tally`.
#[derive(Clone)]
pub struct Driver {
    http: reqwest::Client,
    base: String,
    site: Arc<Site>,
    pub tally: Arc<Mutex<Tally>>,
}

impl Driver {
    pub fn new(base: &str, site: Arc<Site>, workers: usize) -> Driver {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_max_idle_per_host(workers)
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Driver {
            http,
            base: base.to_owned(),
            site,
            tally: Arc::new(Mutex::new(Tally::default())),
        }
    }

    pub fn take(&self) -> Tally {
        std::mem::take(&mut *self.tally.lock().unwrap())
    }

    /// The next client address: each step is one visitor.
    fn address(&self) -> String {
        let n = self.site.next_address.fetch_add(1, Ordering::Relaxed) % ADDRESSES;
        format!("10.{}.{}.1", n / 250, n % 250)
    }

    fn with(&self, request: reqwest::RequestBuilder, address: &str, cookie: Option<&str>) -> reqwest::RequestBuilder {
        let request = request.header("x-forwarded-for", address);
        match cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        }
    }

    async fn get(&self, address: &str, cookie: Option<&str>, path: &str) -> Option<Answer> {
        let request = self.with(self.http.get(format!("{}{path}", self.base)), address, cookie);
        self.send(request, &format!("GET {path}")).await
    }

    async fn post(&self, address: &str, cookie: Option<&str>, path: &str, form: &[(&str, &str)]) -> Option<Answer> {
        let request = self.with(
            self.http.post(format!("{}{path}", self.base)).form(form),
            address,
            cookie,
        );
        self.send(request, &format!("POST {path}")).await
    }

    /// Sends one request, reads the whole body and counts the outcome; the answer when its
    /// status is below 400.
    async fn send(&self, request: reqwest::RequestBuilder, what: &str) -> Option<Answer> {
        let started = std::time::Instant::now();
        let outcome = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                // Pages stream: a failure after the head arrives shows as a broken body.
                match response.bytes().await {
                    Ok(body) => Ok((status, headers, body)),
                    Err(error) => Err(format!("{status}, then the body broke off: {error}")),
                }
            }
            Err(error) => Err(format!("no answer: {error}")),
        };
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut tally = self.tally.lock().unwrap();
        tally.requests += 1;
        let (status, headers, body) = match outcome {
            Ok(answer) => answer,
            Err(error) => {
                tally.connection_errors += 1;
                tally.note(format!("{what}: {error}"));
                return None;
            }
        };
        tally.latencies_ms.push(elapsed_ms);
        match status {
            500.. => tally.server_errors += 1,
            429 => tally.limited += 1,
            400.. => tally.refused += 1,
            _ => {
                drop(tally);
                let json = headers
                    .get("content-type")
                    .and_then(|value| value.to_str().ok())
                    .is_some_and(|value| value.starts_with("application/json"));
                let body = if json {
                    String::from_utf8_lossy(&body).into_owned()
                } else {
                    String::new()
                };
                return Some(Answer { headers, body });
            }
        }
        if status != 429 {
            tally.note(format!("{what}: {status}"));
        }
        None
    }

    /// Counts an answer a step could not use.
    fn unusable(&self, what: &str) {
        let mut tally = self.tally.lock().unwrap();
        tally.refused += 1;
        tally.note(what.to_owned());
    }

    /// Takes one step as one visitor; whether every request in it went through.
    pub async fn run(&self, op: Op, rng: &mut fastrand::Rng) -> bool {
        self.tally.lock().unwrap().ops += 1;
        match op {
            Op::Browse => self.browse(rng).await,
            Op::Search => self.search(rng).await,
            Op::ImagePage => self.image_page(rng).await,
            Op::Download => self.download(rng).await,
            Op::Collection => self.collection(rng).await,
            Op::Consent => self.consent(rng).await,
            Op::SignIn => self.sign_in().await,
        }
    }

    /// A listing page, as a visitor or (three times in ten) a signed-in member.
    async fn browse(&self, rng: &mut fastrand::Rng) -> bool {
        let site = &self.site;
        let path = match rng.u8(0..7) {
            0 => "/".to_owned(),
            1 => "/photos".to_owned(),
            2 => "/photos?sort=popular".to_owned(),
            3 => "/contributors".to_owned(),
            4 => format!("/contributors/{}", pick_from(rng, &site.contributors)),
            5 => format!("/categories/{}", pick_from(rng, &site.categories)),
            _ => "/pricing".to_owned(),
        };
        let cookie = (rng.u8(0..10) < 3).then(|| pick_from(rng, &site.members).to_owned());
        self.get(&self.address(), cookie.as_deref(), &path).await.is_some()
    }

    async fn search(&self, rng: &mut fastrand::Rng) -> bool {
        let word = WORDS[rng.usize(..WORDS.len())];
        let path = if rng.bool() {
            format!("/search?q={word}")
        } else {
            format!("/search?q={word}&category={}", pick_from(rng, &self.site.categories))
        };
        self.get(&self.address(), None, &path).await.is_some()
    }

    /// An image page (which counts a view) and the two image files a browser then loads.
    async fn image_page(&self, rng: &mut fastrand::Rng) -> bool {
        let image = pick_from(rng, &self.site.images).to_owned();
        let address = self.address();
        if self.get(&address, None, &format!("/photos/{image}")).await.is_none() {
            return false;
        }
        for variant in ["small", "thumb"] {
            if self
                .get(&address, None, &format!("/img/{image}/{variant}"))
                .await
                .is_none()
            {
                return false;
            }
        }
        true
    }

    /// A signed link asked for as a script asks for it, then followed (a counted download).
    async fn download(&self, rng: &mut fastrand::Rng) -> bool {
        let image = pick_from(rng, &self.site.images).to_owned();
        let size = if rng.u8(0..4) == 0 { "full" } else { "small" };
        let address = self.address();
        let form = [("public_id", image.as_str()), ("size", size)];
        let Some(answer) = self.post(&address, None, DownloadLink::PATH, &form).await else {
            return false;
        };
        let Ok(link) = serde_json::from_str::<String>(&answer.body) else {
            self.unusable(&format!("DownloadLink answered no link: {}", answer.body));
            return false;
        };
        self.get(&address, None, &link).await.is_some()
    }

    /// A member makes a collection, saves two images, opens it, removes one and deletes the
    /// collection (so no member's collections pile up to the plan's limit).
    async fn collection(&self, rng: &mut fastrand::Rng) -> bool {
        let site = &self.site;
        let member = Some(pick_from(rng, &site.members));
        let first = pick_from(rng, &site.images);
        let second = pick_from(rng, &site.images);
        let name = format!("Soak {}", site.next_name.fetch_add(1, Ordering::Relaxed));
        let visibility = if rng.bool() { "public" } else { "private" };
        let address = self.address();
        let form = [("name", name.as_str()), ("description", ""), ("visibility", visibility)];
        let Some(answer) = self.post(&address, member, CreateCollection::PATH, &form).await else {
            return false;
        };
        let Ok(slug) = serde_json::from_str::<String>(&answer.body) else {
            self.unusable(&format!("CreateCollection answered no slug: {}", answer.body));
            return false;
        };
        let slug = slug.as_str();
        let went_through = self
            .post(
                &address,
                member,
                AddToCollection::PATH,
                &[("slug", slug), ("public_id", first)],
            )
            .await
            .is_some()
            && self
                .post(
                    &address,
                    member,
                    AddToCollection::PATH,
                    &[("slug", slug), ("public_id", second)],
                )
                .await
                .is_some()
            && self
                .get(&address, member, &format!("/collections/{slug}"))
                .await
                .is_some()
            && self
                .post(
                    &address,
                    member,
                    RemoveFromCollection::PATH,
                    &[("slug", slug), ("public_id", first)],
                )
                .await
                .is_some();
        let deleted = self
            .post(&address, member, DeleteCollection::PATH, &[("slug", slug)])
            .await
            .is_some();
        went_through && deleted
    }

    /// A first visit decides about cookies, sees a page with its choice, and one time in
    /// three changes its mind.
    async fn consent(&self, rng: &mut fastrand::Rng) -> bool {
        let address = self.address();
        if self.get(&address, None, "/").await.is_none() {
            return false;
        }
        let choice = ["accept", "reject", "custom"][rng.usize(..3)];
        let mut form = vec![("choice", choice)];
        if choice == "custom" && rng.bool() {
            form.push(("preferences", "on"));
        }
        let Some(answer) = self.post(&address, None, SaveConsent::PATH, &form).await else {
            return false;
        };
        let Some(cookie) = cookie_from(&answer.headers, "atelier_consent") else {
            self.unusable("SaveConsent set no consent cookie");
            return false;
        };
        if self.get(&address, Some(cookie.as_str()), "/photos").await.is_none() {
            return false;
        }
        rng.u8(0..3) != 0
            || self
                .post(
                    &address,
                    Some(cookie.as_str()),
                    SaveConsent::PATH,
                    &[("choice", "reject")],
                )
                .await
                .is_some()
    }

    /// Signs in with a password, opens the member's collections and signs out.
    async fn sign_in(&self) -> bool {
        let site = &self.site;
        let n = site.next_account.fetch_add(1, Ordering::Relaxed) as usize % site.accounts.len();
        let address = self.address();
        let form = [("email", site.accounts[n].as_str()), ("password", PASSWORD)];
        let Some(answer) = self.post(&address, None, SignIn::PATH, &form).await else {
            return false;
        };
        let Some(cookie) = cookie_from(&answer.headers, "atelier_session") else {
            self.unusable("SignIn set no session cookie");
            return false;
        };
        self.get(&address, Some(cookie.as_str()), "/collections")
            .await
            .is_some()
            && self
                .post(&address, Some(cookie.as_str()), SignOut::PATH, &[])
                .await
                .is_some()
    }
}
