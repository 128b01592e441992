//! Fuzzing the HTTP routes that are neither pages nor server functions: health probes,
//! image files and signed downloads, stored media, avatar uploads, data and collection
//! exports, single sign-on, Stripe's webhook (unsigned, badly signed, and well signed over
//! mutated events), streamed chat messages and the page-view beacon. As in `fuzz_http`,
//! nothing may answer 5xx. The route list is checked against every `.route(` in the
//! server's source, so a new route fails this test until it is fuzzed too.

use crate::fuzz_http::{as_identity, assert_no_5xx, hostile_values, identities, run_settings, Generator};
use crate::support::{
    fake_llm::FakeLlm,
    fake_oidc::FakeOidc,
    fake_stripe::{FakeStripe, WEBHOOK_SECRET},
    members::{post_form, BROWSER_ACCEPT},
    spawn_app_with, TestApp,
};
use app::features::{
    accounts::oidc::{CALLBACK_PATH, START_PATH},
    billing::webhook,
    chat::api::StartChat,
    collections::api::CreateCollection,
};
use app::platform::clock::now_unix;
use leptos::server_fn::ServerFn;
use serde_json::json;
use server::startup::PAGE_VIEW_BEACON;
use std::{collections::BTreeSet, path::Path};

/// (method, pattern) of every route outside the page table and the server functions.
const ROUTES: [(&str, &str); 16] = [
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/.well-known/gpc.json"),
    ("POST", "/account/avatar"),
    ("POST", "/account/avatar/remove"),
    ("POST", "/chat/{id}/messages"),
    ("POST", "/chat/{id}/retry"),
    ("GET", "/account/data/exports/{id}"),
    ("GET", "/collections/{slug}/exports/{id}"),
    ("GET", "/img/{id}/{variant}"),
    ("GET", "/dl/{id}"),
    ("GET", START_PATH),
    ("GET", CALLBACK_PATH),
    ("POST", "/webhooks/stripe"),
    ("POST", PAGE_VIEW_BEACON),
    ("GET", "/media/{*key}"),
];

/// Route paths named by a constant in the server's source, and their values.
const NAMED_PATHS: [(&str, &str); 3] = [
    ("START_PATH", START_PATH),
    ("CALLBACK_PATH", CALLBACK_PATH),
    ("PAGE_VIEW_BEACON", PAGE_VIEW_BEACON),
];

const QUERY_NAMES: [&str; 12] = [
    "size", "expires", "token", "next", "state", "code", "error", "provider", "v", "sig", "exp", "page",
];
const RANGES: [&str; 7] = [
    "bytes=0-",
    "bytes=-1",
    "bytes=99999999999-",
    "bytes=5-2",
    "bytes=0-1,3-4",
    "bytes=",
    "items=0-9",
];
const EVENT_KINDS: [&str; 7] = [
    "invoice.paid",
    "invoice.payment_failed",
    "charge.refunded",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "checkout.session.completed",
    "ping",
];

/// The first argument of every `.route(` in the server's source, constants resolved.
fn routes_in_source() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = BTreeSet::new();
    let mut files = vec![root.join("startup.rs")];
    for entry in std::fs::read_dir(root.join("routes")).unwrap() {
        files.push(entry.unwrap().path());
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (at, _) in text.match_indices(".route(") {
            let argument = text[at + ".route(".len()..].split(',').next().unwrap().trim();
            let path = match argument.strip_prefix('"') {
                Some(literal) => literal.trim_end_matches('"').to_owned(),
                None => {
                    let name = argument.rsplit("::").next().unwrap();
                    let named = NAMED_PATHS.iter().find(|(constant, _)| *constant == name);
                    named
                        .unwrap_or_else(|| panic!("{file:?}: list {name} in NAMED_PATHS"))
                        .1
                        .to_owned()
                }
            };
            found.insert(path);
        }
    }
    found
}

#[test]
fn every_route_of_the_server_is_fuzzed() {
    let fuzzed: BTreeSet<String> = ROUTES.iter().map(|(_, path)| path.to_string()).collect();
    assert_eq!(routes_in_source(), fuzzed, "ROUTES lists every .route( of the server");
}

/// Real values a path segment sometimes gets, so handlers go past their first lookup.
struct Known {
    images: Vec<String>,
    slugs: Vec<String>,
    conversations: Vec<String>,
}

impl Known {
    fn segment(&self, generator: &mut Generator, name: &str) -> String {
        let real: &[String] = match name {
            "{id}" if generator.rng.bool() => &self.images,
            "{id}" => &self.conversations,
            "{slug}" => &self.slugs,
            _ => &[],
        };
        if name == "{variant}" && generator.rng.bool() {
            return ["thumb", "small", "full", "original"][generator.rng.usize(..4)].to_owned();
        }
        if !real.is_empty() && generator.rng.bool() {
            return real[generator.rng.usize(..real.len())].clone();
        }
        let value = generator.value();
        let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        encoded[..encoded.len().min(4000)].to_owned()
    }
}

fn fuzzed_path(generator: &mut Generator, known: &Known, pattern: &str) -> String {
    let mut path = String::new();
    for segment in pattern.split('/').filter(|segment| !segment.is_empty()) {
        path.push('/');
        if segment.starts_with('{') {
            path.push_str(&known.segment(generator, segment));
        } else {
            path.push_str(segment);
        }
    }
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for _ in 0..generator.rng.usize(0..4) {
        let name = QUERY_NAMES[generator.rng.usize(..QUERY_NAMES.len())];
        let value: String = generator.value().chars().take(2000).collect();
        query.append_pair(name, &value);
    }
    format!("{path}?{}", query.finish())
}

/// A multipart body: a field named `avatar` (or another) holding random bytes, sometimes
/// cut short or with a boundary that does not match the header's.
fn multipart(generator: &mut Generator) -> (Vec<u8>, String) {
    let boundary = "fuzzboundary";
    let field = if generator.rng.bool() {
        "avatar".to_owned()
    } else {
        generator.value()
    };
    let length = generator.rng.usize(0..2048);
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"a.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend((0..length).map(|_| generator.rng.u8(..)));
    match generator.rng.u8(0..4) {
        0 => body.truncate(generator.rng.usize(..body.len().max(1))),
        1 => body.extend(b"\r\n--otherboundary--\r\n"),
        _ => body.extend(format!("\r\n--{boundary}--\r\n").into_bytes()),
    }
    (body, format!("multipart/form-data; boundary={boundary}"))
}

/// A Stripe webhook: no signature, a fuzzed one, or a good signature over a mutated event.
fn webhook_request(generator: &mut Generator) -> (Vec<u8>, String, Option<String>) {
    let kind = match generator.rng.u8(0..4) {
        0 => generator.value(),
        _ => EVENT_KINDS[generator.rng.usize(..EVENT_KINDS.len())].to_owned(),
    };
    let object = json!({
        "id": generator.value(),
        "object": generator.value(),
        "customer": generator.value(),
        "subscription": generator.value(),
        "invoice": generator.value(),
        "amount": generator.rng.i64(..),
        "metadata": { "user_id": generator.value(), "credits": generator.value() },
    });
    let body = json!({
        "id": generator.value(),
        "object": "event",
        "type": kind,
        "created": generator.rng.i64(..),
        "livemode": generator.rng.bool(),
        "data": { "object": object },
    })
    .to_string()
    .into_bytes();
    let signature = match generator.rng.u8(0..3) {
        0 => None,
        1 => Some(generator.value().chars().take(500).collect()),
        _ => Some(webhook::sign(&body, WEBHOOK_SECRET, now_unix())),
    };
    (body, "application/json".to_owned(), signature)
}

/// The request for one route: its body, content type and extra headers.
fn request_for(
    app: &TestApp,
    generator: &mut Generator,
    known: &Known,
    method: &str,
    pattern: &str,
) -> reqwest::RequestBuilder {
    let url = app.url(&fuzzed_path(generator, known, pattern));
    if method == "GET" {
        let request = app.client.get(url);
        return match generator.rng.u8(0..3) {
            0 => request.header("range", RANGES[generator.rng.usize(..RANGES.len())]),
            _ => request,
        };
    }
    let (body, content_type, signature) = match pattern {
        "/account/avatar" => {
            let (body, content_type) = multipart(generator);
            (body, content_type, None)
        }
        "/webhooks/stripe" => webhook_request(generator),
        _ if pattern == PAGE_VIEW_BEACON => (generator.value().into_bytes(), "text/plain".to_owned(), None),
        _ => {
            let (body, content_type) = generator.body(&["text".to_owned()]);
            (body, content_type.to_owned(), None)
        }
    };
    let request = app.client.post(url).header("content-type", content_type).body(body);
    match signature {
        Some(signature) => request.header("stripe-signature", signature),
        None => request,
    }
}

#[tokio::test]
async fn every_other_route_refuses_bad_input_without_a_5xx() {
    let (seed, cases) = run_settings();
    eprintln!("fuzz_routes: seed {seed}, {cases} cases per route and identity");
    let stripe = FakeStripe::start().await;
    let oidc = FakeOidc::start().await;
    let llm = FakeLlm::start().await;
    let chat_env = llm.env("openai");
    let app = spawn_app_with(
        |values| {
            stripe.configure(values);
            oidc.configure(values);
            values.extend(chat_env);
        },
        server::jobs::registry(),
    )
    .await;
    app.seed(3).await;
    let who = identities(&app).await;
    let member = who[1].1.clone().expect("the member's cookie");
    let known = Known {
        images: sqlx::query_scalar("SELECT public_id FROM images")
            .fetch_all(app.state.db.pool())
            .await
            .unwrap(),
        slugs: vec![
            post_form(&app, CreateCollection::PATH, Some(&member), &[("name", "Fuzzed")])
                .await
                .json()
                .await
                .unwrap(),
        ],
        conversations: vec![
            post_form(&app, StartChat::PATH, Some(&member), &[("contributor", "mira-solenne")])
                .await
                .json()
                .await
                .unwrap(),
        ],
    };
    let mut generator = Generator {
        rng: fastrand::Rng::with_seed(seed),
        values: hostile_values(),
        field_names: QUERY_NAMES
            .iter()
            .map(|name| name.to_string())
            .chain(["text".to_owned()])
            .collect(),
    };

    let mut failures = Vec::new();
    let mut sent = 0usize;
    for (label, cookie) in &who {
        for (method, pattern) in ROUTES {
            for _ in 0..cases * 3 {
                let accept = [BROWSER_ACCEPT, "*/*", "text/event-stream"][generator.rng.usize(..3)];
                let request = request_for(&app, &mut generator, &known, method, pattern).header("accept", accept);
                let request = as_identity(request, cookie);
                let response = request.send().await.unwrap();
                sent += 1;
                if response.status().is_server_error() {
                    let status = response.status();
                    let url = response.url().to_string();
                    let answer = response.text().await.unwrap_or_default();
                    failures.push(format!("{label} {method} {url:.300} -> {status} {answer:.300}"));
                }
            }
        }
    }
    assert_no_5xx("fuzz_routes", seed, sent, &failures);
    app.stop().await;
}
