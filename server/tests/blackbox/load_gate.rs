//! The load gate: the release server binary, with a small demo library, takes a few hundred
//! concurrent requests on every page route of the route table (listed from it, so a new
//! page is covered without touching this file) and on a handful of server functions, as a
//! visitor, a member and an administrator. Any 5xx, any answer that differs from the same
//! request sent alone, a body that breaks off, or a panic in the server's log fails it.
//! Then every server function of the registry (so a new one is covered too) is called under
//! the same load with sample arguments, where only a 5xx, a broken body or a panic fails:
//! writes change what a repeat answers, so answers are not compared.

use crate::support::{self, command, members::PASSWORD, served::ServedBinary};
use app::{
    features::{
        accounts::{
            api::{SignIn, WhoAmI},
            service::{create_user, NewUser},
            Role,
        },
        billing::api::LoadPricing,
        chat::api::{LoadChatList, StartChat},
        collections::api::{AddToCollection, CreateCollection, MyCollections, SaveTargets},
        library::api::{BrowseImages, FetchContributor, ListContributors, PhotoDetails},
    },
    platform::db::Database,
};
use futures::StreamExt;
use leptos::server_fn::ServerFn;
use std::collections::BTreeMap;

/// Connections open at once: the reliability checklist's 128, several times more than the
/// database pool, so requests also queue for connections.
const CONCURRENCY: usize = 128;
/// Times each probe is sent under load; every page route gets this many requests from each
/// of the three identities.
const ROUNDS: usize = 70;
const DEMO_IMAGES: &str = "24";

/// Who sends a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Visitor,
    Member,
    Admin,
}

/// The signed-in identities: made in the database, then signed in over HTTP.
const ACCOUNTS: [(Who, &str, Role); 2] = [
    (Who::Member, "member@example.org", Role::Member),
    (Who::Admin, "admin@example.org", Role::Admin),
];

/// One request the gate sends.
#[derive(Debug)]
struct Probe {
    who: Who,
    path: String,
    /// A server function's form body; `None` for a page (GET).
    form: Option<Vec<(String, String)>>,
}

/// The ids and slugs that fill the route table's parameters.
struct Samples {
    image: String,
    contributor: String,
    category: String,
    collection: String,
    conversation: String,
}

impl Samples {
    /// The concrete path for a route pattern. A new pattern with a parameter must be given a
    /// sample here, so it can never go unmeasured.
    fn path_for(&self, pattern: &str) -> String {
        let sample = match pattern {
            _ if !pattern.contains('{') => return pattern.to_owned(),
            "/photos/{id}" => &self.image,
            "/contributors/{slug}" => &self.contributor,
            "/categories/{slug}" => &self.category,
            "/collections/{slug}" => &self.collection,
            "/chat/{id}" => &self.conversation,
            _ => panic!("the load gate has no sample for the route {pattern}: add one to Samples::path_for"),
        };
        let (prefix, _) = pattern
            .rsplit_once('/')
            .expect("a pattern with a parameter has a slash");
        format!("{prefix}/{sample}")
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
    cookies: BTreeMap<Who, String>,
}

/// What one request came back with: its status, or why it failed before one arrived or
/// while its body streamed.
type Outcome = Result<u16, String>;

impl Client {
    async fn send(&self, probe: &Probe) -> Outcome {
        let url = format!("{}{}", self.base, probe.path);
        let mut request = match &probe.form {
            None => self.http.get(url),
            Some(form) => self.http.post(url).form(form),
        };
        if let Some(cookie) = self.cookies.get(&probe.who) {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.map_err(|error| format!("no answer: {error}"))?;
        let status = response.status().as_u16();
        // Pages stream: a failure after the head arrives shows as a broken body, not a status.
        response
            .bytes()
            .await
            .map_err(|error| format!("{status}, then the body broke off: {error}"))?;
        Ok(status)
    }

    /// Calls a server function and returns its JSON answer.
    async fn call<T: serde::de::DeserializeOwned>(&self, who: Who, path: &str, form: &[(&str, &str)]) -> T {
        let mut request = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some(cookie) = self.cookies.get(&who) {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let body = response.text().await.expect("a body");
        assert!(status.is_success(), "{path} as {who:?}: {status} {body}");
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path} answered JSON: {body}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_and_server_function_survives_concurrent_load() {
    let dir = tempfile::tempdir().unwrap();
    let env: Vec<(String, String)> = support::test_config_values(dir.path()).await.into_iter().collect();
    let seeded = command::server(
        dir.path(),
        &command::as_refs(&env),
        &["seed-demo", "--images", DEMO_IMAGES, "--seed", "7"],
        None,
    );
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let url = &env.iter().find(|(key, _)| key == "DATABASE_URL").unwrap().1;
    let db = Database::connect(url, 2).await.expect("the test database");
    for (_, email, role) in ACCOUNTS {
        let user = NewUser {
            email,
            display_name: "Load Tester",
            password: PASSWORD,
            role,
            email_verified: true,
        };
        create_user(&db, user).await.expect("a test account");
    }

    let server = ServedBinary::start(dir.path(), &env, "warn", 600);
    let mut client = Client {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_max_idle_per_host(CONCURRENCY)
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap(),
        base: server.base_url.clone(),
        cookies: BTreeMap::new(),
    };
    for (who, email, _) in ACCOUNTS {
        let response = client
            .http
            .post(format!("{}{}", client.base, SignIn::PATH))
            .form(&[("email", email), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        client.cookies.insert(who, support::members::session_cookie(&response));
    }
    let samples = samples(&db, &client).await;
    let probes = probes(&samples);

    // Each probe alone first: the answer it must give under load too.
    let mut expected = Vec::with_capacity(probes.len());
    for probe in &probes {
        let status = client
            .send(probe)
            .await
            .unwrap_or_else(|error| panic!("{probe:?}: {error}"));
        assert!(status < 500, "{probe:?} answered {status} even alone");
        expected.push(status);
    }

    let started = std::time::Instant::now();
    let outcomes: Vec<(usize, Outcome)> = futures::stream::iter((0..ROUNDS).flat_map(|_| 0..probes.len()))
        .map(|index| {
            let (client, probe) = (&client, &probes[index]);
            async move { (index, client.send(probe).await) }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let mut failures = failures(&probes, &expected, &outcomes);
    let every_function = every_server_function(&samples);
    let (sent, broken) = under_load(&client, &every_function).await;
    failures.extend(broken);
    println!(
        "load gate: every server function, {} probes × {FUNCTION_ROUNDS} = {sent} requests at {CONCURRENCY} connections",
        every_function.len()
    );
    let log = server.stop();

    let lines: Vec<&str> = log.lines().collect();
    let panics: Vec<usize> = (0..lines.len()).filter(|&at| lines[at].contains("panicked")).collect();
    // The first panic with the lines after it: its message and where it came from.
    let first_panic = panics
        .first()
        .map(|&at| lines[at..lines.len().min(at + 12)].join("\n"))
        .unwrap_or_default();
    println!(
        "load gate: {} requests ({} probes × {ROUNDS}) at {CONCURRENCY} connections in {:.1} s ({:.0} req/s); {} failed; {} panics logged",
        outcomes.len(),
        probes.len(),
        elapsed.as_secs_f64(),
        outcomes.len() as f64 / elapsed.as_secs_f64(),
        failures.values().sum::<usize>(),
        panics.len(),
    );
    assert!(
        failures.is_empty() && panics.is_empty(),
        "under load:\n{}\npanics in the log: {}; the first:\n{first_panic}",
        failures
            .iter()
            .map(|(what, count)| format!("  {count} × {what}"))
            .collect::<Vec<_>>()
            .join("\n"),
        panics.len(),
    );
}

/// Every answer under load that was a 5xx, broke off, or differed from the answer the same
/// request got alone (a 429 from a rate limit is an answer, not a failure), counted by
/// request and outcome.
fn failures(probes: &[Probe], expected: &[u16], outcomes: &[(usize, Outcome)]) -> BTreeMap<String, usize> {
    let mut failures = BTreeMap::new();
    for (index, outcome) in outcomes {
        let probe = &probes[*index];
        let failed = match outcome {
            Ok(status) => *status >= 500 || (*status != expected[*index] && *status != 429),
            Err(_) => true,
        };
        if failed {
            let what = match outcome {
                Ok(status) => format!("{status} (alone: {})", expected[*index]),
                Err(error) => error.clone(),
            };
            let kind = if probe.form.is_some() { "POST" } else { "GET" };
            *failures
                .entry(format!("{kind} {} as {:?}: {what}", probe.path, probe.who))
                .or_insert(0) += 1;
        }
    }
    failures
}

/// Rounds of the phase that calls every server function.
const FUNCTION_ROUNDS: usize = 5;

/// A sample value for a server function argument of this name (an empty one otherwise).
fn sample_argument(name: &str, samples: &Samples) -> String {
    match name {
        "slug" => samples.collection.clone(),
        "public_id" => samples.image.clone(),
        "public_ids" => samples.image.clone(),
        "id" => samples.conversation.clone(),
        "contributor" => samples.contributor.clone(),
        "page" => "1".into(),
        "sort" => "newest".into(),
        "size" => "small".into(),
        "name" | "title" | "display_name" => "Under load".into(),
        "visibility" => "public".into(),
        "choice" => "accept".into(),
        // No such account: a sign-in must not replace the session the member calls with.
        "email" => "nobody@example.org".into(),
        "password" | "current_password" => PASSWORD.into(),
        "to_index" => "0".into(),
        _ => String::new(),
    }
}

/// Every server function of the registry for every identity, with sample arguments; the
/// ones that end the caller's session only as the visitor, who has none to end.
fn every_server_function(samples: &Samples) -> Vec<Probe> {
    let arguments = crate::fuzz_http::server_function_arguments();
    let mut probes = Vec::new();
    for (path, _) in leptos::server_fn::axum::server_fn_paths() {
        let name = path
            .trim_start_matches("/api/")
            .trim_end_matches(|c: char| c.is_ascii_digit());
        let form: Vec<(String, String)> = arguments
            .get(name)
            .into_iter()
            .flatten()
            .map(|argument| (argument.clone(), sample_argument(argument, samples)))
            .collect();
        for who in [Who::Visitor, Who::Member, Who::Admin] {
            if who != Who::Visitor && crate::fuzz_http::ends_the_session(path) {
                continue;
            }
            probes.push(Probe {
                who,
                path: path.to_owned(),
                form: Some(form.clone()),
            });
        }
    }
    assert!(probes.len() > 150, "the registry lists the server functions");
    probes
}

/// Sends every probe [`FUNCTION_ROUNDS`] times at [`CONCURRENCY`]; returns how many were
/// sent and the 5xx answers and broken bodies, counted by request and outcome.
async fn under_load(client: &Client, probes: &[Probe]) -> (usize, BTreeMap<String, usize>) {
    let outcomes: Vec<(usize, Outcome)> = futures::stream::iter((0..FUNCTION_ROUNDS).flat_map(|_| 0..probes.len()))
        .map(|index| async move { (index, client.send(&probes[index]).await) })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut broken = BTreeMap::new();
    for (index, outcome) in &outcomes {
        let what = match outcome {
            Ok(status) if *status >= 500 => status.to_string(),
            Ok(_) => continue,
            Err(error) => error.clone(),
        };
        let probe = &probes[*index];
        *broken
            .entry(format!("POST {} as {:?}: {what}", probe.path, probe.who))
            .or_insert(0) += 1;
    }
    (outcomes.len(), broken)
}

/// Real ids for the route parameters: demo images, contributors and categories from the
/// database, and a public collection and a conversation the member makes over HTTP.
async fn samples(db: &Database, client: &Client) -> Samples {
    let first = |sql: &'static str| async move {
        sqlx::query_scalar::<_, String>(sql)
            .fetch_one(db.pool())
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"))
    };
    let image = first("SELECT public_id FROM images ORDER BY id LIMIT 1").await;
    let contributor = first("SELECT slug FROM contributors ORDER BY id LIMIT 1").await;
    let category = first("SELECT slug FROM categories ORDER BY id LIMIT 1").await;
    let collection: String = client
        .call(
            Who::Member,
            CreateCollection::PATH,
            &[("name", "Under load"), ("description", ""), ("visibility", "public")],
        )
        .await;
    let _: bool = client
        .call(
            Who::Member,
            AddToCollection::PATH,
            &[("slug", &collection), ("public_id", &image)],
        )
        .await;
    let conversation: String = client
        .call(Who::Member, StartChat::PATH, &[("contributor", &contributor)])
        .await;
    Samples {
        image,
        contributor,
        category,
        collection,
        conversation,
    }
}

/// Every page route for every identity, a few variants the route table cannot name (a
/// query, a second page, an unknown id), and a handful of server functions, reads and one
/// idempotent write.
fn probes(samples: &Samples) -> Vec<Probe> {
    let mut paths: Vec<String> = server::startup::page_patterns()
        .map(|pattern| samples.path_for(pattern))
        .collect();
    assert!(paths.len() >= 30, "the route table lists every page: {paths:?}");
    paths.extend([
        "/search?q=light".to_owned(),
        "/photos?sort=popular".to_owned(),
        format!("/contributors/{}?page=2", samples.contributor),
        "/photos/no-such-image".to_owned(),
        "/contributors/no-such-artist".to_owned(),
    ]);
    let page = |who, path: &String| Probe {
        who,
        path: path.clone(),
        form: None,
    };
    let call = |who, path: &str, form: &[(&'static str, &str)]| Probe {
        who,
        path: path.to_owned(),
        form: Some(
            form.iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect(),
        ),
    };
    let mut probes = Vec::new();
    for who in [Who::Visitor, Who::Member, Who::Admin] {
        probes.extend(paths.iter().map(|path| page(who, path)));
        probes.extend([
            call(who, WhoAmI::PATH, &[]),
            call(who, BrowseImages::PATH, &[("page", "1"), ("sort", "newest")]),
            call(who, PhotoDetails::PATH, &[("public_id", &samples.image)]),
            call(
                who,
                FetchContributor::PATH,
                &[("slug", &samples.contributor), ("page", "1")],
            ),
            call(who, ListContributors::PATH, &[]),
            call(who, LoadPricing::PATH, &[]),
        ]);
    }
    probes.extend([
        call(Who::Member, MyCollections::PATH, &[]),
        call(Who::Member, SaveTargets::PATH, &[("public_id", &samples.image)]),
        call(Who::Member, LoadChatList::PATH, &[]),
        call(
            Who::Member,
            AddToCollection::PATH,
            &[("slug", &samples.collection), ("public_id", &samples.image)],
        ),
    ]);
    probes
}
