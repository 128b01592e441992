//! Fuzzing over HTTP: generated and mutated input sent to every server function (listed
//! from server_fn's registry, so a new one is covered without touching this file) and to
//! every page route, as a visitor, a member and an administrator. Nothing may answer 5xx:
//! bad input gets a clear 4xx (or a page that says what is wrong), never a crash.
//!
//! Bounded: a fixed seed and a few cases per function in the README's test command. By hand,
//! `ATELIER_FUZZ_SEED=random ATELIER_FUZZ_CASES=500 cargo test --release -p server --test
//! blackbox fuzz_http -- --nocapture` runs longer with a new seed (printed, to replay).

use crate::support::{
    members::{create_admin, create_member, signed_in, BROWSER_ACCEPT},
    spawn_app, TestApp,
};
use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

/// Cases per server function and identity in the README's test command.
const CI_CASES: usize = 6;
const CI_SEED: u64 = 20261207;

/// Values that have broken parsers and services elsewhere: empty and huge strings, numbers
/// past every integer width, unknown enum values, markup, paths, percent-escapes that
/// decode to invalid UTF-8, control characters.
pub(crate) fn hostile_values() -> Vec<String> {
    let mut values: Vec<String> = [
        "",
        " ",
        "0",
        "-1",
        "1",
        "2147483648",
        "4294967296",
        "-9223372036854775809",
        "9223372036854775807",
        "18446744073709551616",
        "1e309",
        "NaN",
        "-0",
        "0x10",
        "true",
        "null",
        "[]",
        "{}",
        "newest",
        "popular",
        "monthly",
        "yearly",
        "pro",
        "studio",
        "free",
        "original",
        "small",
        "approve",
        "refuse",
        "on",
        "../../etc/passwd",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "\u{0}",
        "\u{202e}evil",
        "line\r\nbreak",
        "//evil.example",
        "/\t/evil.example",
        "ada@example.org",
        "1970-01-01",
        "9999-12-31",
        "😀",
    ]
    .iter()
    .map(|value| value.to_string())
    .collect();
    values.push("x".repeat(70_000));
    values.push("é".repeat(5_000));
    values
}

/// The argument names of every `#[server]` function in the app's source, by function name.
/// Arguments that are structs are sent as `name[field]` with fields from all the others.
pub(crate) fn server_function_arguments() -> BTreeMap<String, Vec<String>> {
    let mut found = BTreeMap::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src");
    collect_arguments(&root, &mut found);
    assert!(found.len() > 50, "the scan found the server functions: {found:?}");
    found
}

fn collect_arguments(dir: &Path, found: &mut BTreeMap<String, Vec<String>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_arguments(&path, found);
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (start, _) in text.match_indices("#[server") {
            let Some(fn_at) = text[start..].find("async fn ") else {
                continue;
            };
            let signature = &text[start + fn_at + "async fn ".len()..];
            let Some(open) = signature.find('(') else { continue };
            let name = signature[..open].trim().to_owned();
            found.insert(name, argument_names(&signature[open + 1..]));
        }
    }
}

/// `a: String, b: Option<Vec<u32>>) -> …` → `["a", "b"]`.
fn argument_names(after_paren: &str) -> Vec<String> {
    let mut depth = 0usize;
    let mut names = Vec::new();
    let mut current = String::new();
    for c in after_paren.chars() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ']' => depth = depth.saturating_sub(1),
            ')' if depth == 0 => break,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                names.extend(current.split(':').next().map(|name| name.trim().to_owned()));
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    names.extend(current.split(':').next().map(|name| name.trim().to_owned()));
    names.retain(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    names
}

pub(crate) const FORM: &str = "application/x-www-form-urlencoded";

/// Values every server function gets in every argument, whatever the seed: a NUL (which
/// PostgreSQL cannot store), a number past i64, a 70 KB string (echoed back in errors).
fn fixed_values() -> [String; 3] {
    ["\0".to_owned(), "-9223372036854775809".to_owned(), "x".repeat(70_000)]
}

/// A form with `value` in every one of `own`.
fn every_argument(own: &[String], value: &str) -> Vec<u8> {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(own.iter().map(|name| (name.as_str(), value)))
        .finish()
        .into_bytes()
}

/// A deterministic source of choices for one run.
pub(crate) struct Generator {
    pub(crate) rng: fastrand::Rng,
    pub(crate) values: Vec<String>,
    pub(crate) field_names: Vec<String>,
}

impl Generator {
    pub(crate) fn value(&mut self) -> String {
        match self.rng.u8(0..10) {
            0 => {
                let length = self.rng.usize(0..40);
                (0..length).map(|_| self.rng.alphanumeric()).collect()
            }
            1 => self.rng.i64(..).to_string(),
            _ => self.values[self.rng.usize(..self.values.len())].clone(),
        }
    }

    fn field_name(&mut self, own: &[String]) -> String {
        match self.rng.u8(0..10) {
            0..=5 if !own.is_empty() => own[self.rng.usize(..own.len())].clone(),
            6 | 7 => {
                let outer = self.field_names[self.rng.usize(..self.field_names.len())].clone();
                let inner = self.field_names[self.rng.usize(..self.field_names.len())].clone();
                format!("{outer}[{inner}]")
            }
            _ => self.field_names[self.rng.usize(..self.field_names.len())].clone(),
        }
    }

    /// A request body: a form over the function's own arguments (some missing, some twice,
    /// some with other names), raw bytes, JSON, or nothing.
    pub(crate) fn body(&mut self, own: &[String]) -> (Vec<u8>, &'static str) {
        match self.rng.u8(0..12) {
            0 => {
                let length = self.rng.usize(0..256);
                ((0..length).map(|_| self.rng.u8(..)).collect(), FORM)
            }
            1 => (
                br#"{"page": -1, "slug": null, "public_id": [1, 2]}"#.to_vec(),
                "application/json",
            ),
            2 => (Vec::new(), FORM),
            // Percent-escapes that decode to bytes that are not UTF-8.
            3 => (format!("{}=%FF%FE%C3%28", self.field_name(own)).into_bytes(), FORM),
            _ => {
                let mut pairs: Vec<(String, String)> = Vec::new();
                for name in own {
                    if self.rng.u8(0..5) > 0 {
                        pairs.push((name.clone(), self.value()));
                    }
                    if self.rng.u8(0..8) == 0 {
                        pairs.push((name.clone(), self.value()));
                    }
                }
                for _ in 0..self.rng.usize(0..3) {
                    let name = self.field_name(own);
                    let value = self.value();
                    pairs.push((name, value));
                }
                let body = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs)
                    .finish();
                (body.into_bytes(), FORM)
            }
        }
    }
}

pub(crate) fn run_settings() -> (u64, usize) {
    let seed = match std::env::var("ATELIER_FUZZ_SEED").ok().as_deref() {
        None | Some("") => CI_SEED,
        Some("random") => fastrand::u64(..),
        Some(number) => number.parse().expect("ATELIER_FUZZ_SEED is a number or `random`"),
    };
    let cases = std::env::var("ATELIER_FUZZ_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(CI_CASES);
    (seed, cases)
}

/// A visitor, a member and an administrator (cookies; the visitor has none).
pub(crate) async fn identities(app: &TestApp) -> Vec<(&'static str, Option<String>)> {
    create_member(app, "member@example.org", "Fuzz Member", true).await;
    create_admin(app, "admin@example.org", "Fuzz Admin").await;
    vec![
        ("visitor", None),
        ("member", Some(signed_in(app, "member@example.org").await)),
        ("admin", Some(signed_in(app, "admin@example.org").await)),
    ]
}

/// Server functions whose success ends the caller's session go last, so the signed-in
/// identities stay signed in for the others.
pub(crate) fn ends_the_session(path: &str) -> bool {
    [
        "sign_out",
        "end_all_sessions",
        "end_session",
        "delete_account",
        "change_password",
        "reset_password",
    ]
    .iter()
    .any(|name| path.starts_with(&format!("/api/{name}")))
}

#[tokio::test]
async fn every_server_function_and_page_refuses_bad_input_without_a_5xx() {
    let (seed, cases) = run_settings();
    eprintln!("fuzz_http: seed {seed}, {cases} cases per server function and identity");
    let app = spawn_app().await;
    app.seed(4).await;
    let who = identities(&app).await;
    let arguments = server_function_arguments();
    let values = hostile_values();
    let field_names: BTreeSet<String> = arguments.values().flatten().cloned().collect();
    let mut generator = Generator {
        rng: fastrand::Rng::with_seed(seed),
        values,
        field_names: field_names.into_iter().collect(),
    };

    let mut functions: Vec<(&'static str, String)> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, method)| (path, method.to_string()))
        .collect();
    functions.sort_by_key(|(path, _)| (ends_the_session(path), *path));
    assert!(
        functions.len() > 50,
        "the registry lists the server functions: {functions:?}"
    );

    let mut failures = Vec::new();
    let mut sent = 0usize;
    for (label, cookie) in &who {
        for (path, method) in &functions {
            let name = path
                .trim_start_matches("/api/")
                .trim_end_matches(|c: char| c.is_ascii_digit());
            let own = arguments.get(name).cloned().unwrap_or_default();
            // Every argument at once with each of the values that broke things before (a
            // NUL, which PostgreSQL cannot store; a huge string, echoed back in errors),
            // then the generated cases.
            let fixed = fixed_values()
                .into_iter()
                .map(|value| (every_argument(&own, &value), FORM));
            let generated: Vec<_> = (0..cases).map(|_| generator.body(&own)).collect();
            for (body, content_type) in fixed.chain(generated) {
                let accept = if generator.rng.bool() { BROWSER_ACCEPT } else { "*/*" };
                let request = if method == "GET" {
                    let query = String::from_utf8_lossy(&body).into_owned();
                    app.client.get(app.url(&format!("{path}?{query}")))
                } else {
                    app.client
                        .post(app.url(path))
                        .header("content-type", content_type)
                        .body(body.clone())
                };
                let request = as_identity(request.header("accept", accept), cookie);
                let response = request.send().await.unwrap();
                sent += 1;
                if response.status().is_server_error() {
                    let status = response.status();
                    let answer = response.text().await.unwrap_or_default();
                    let shown = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                    failures.push(format!("{label} {method} {path} [{shown}] -> {status} {answer:.300}"));
                }
            }
        }
    }
    sent += fuzz_pages(&app, &who, &mut generator, cases, &mut failures).await;
    assert_no_5xx("fuzz_http", seed, sent, &failures);
    app.stop().await;
}

/// Prints how many requests `test` sent and fails it with the first 25 that answered 5xx.
pub(crate) fn assert_no_5xx(test: &str, seed: u64, sent: usize, failures: &[String]) {
    eprintln!("{test}: {sent} requests, {} answered 5xx", failures.len());
    assert!(
        failures.is_empty(),
        "{} of {sent} fuzzed requests answered 5xx (seed {seed}):\n{}",
        failures.len(),
        failures.iter().take(25).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// `request` sent as the identity whose session cookie this is (a visitor has none).
pub(crate) fn as_identity(request: reqwest::RequestBuilder, cookie: &Option<String>) -> reqwest::RequestBuilder {
    match cookie {
        Some(cookie) => request.header("cookie", cookie.as_str()),
        None => request,
    }
}

/// Every page pattern with fuzzed path parameters and query strings.
async fn fuzz_pages(
    app: &TestApp,
    who: &[(&'static str, Option<String>)],
    generator: &mut Generator,
    cases: usize,
    failures: &mut Vec<String>,
) -> usize {
    let query_names = [
        "page",
        "q",
        "sort",
        "orientation",
        "color",
        "category",
        "contributor",
        "next",
        "size",
        "error",
    ];
    let mut sent = 0;
    for pattern in server::startup::page_patterns() {
        for (label, cookie) in who {
            for _ in 0..cases {
                let mut path = String::new();
                for segment in pattern.split('/').filter(|segment| !segment.is_empty()) {
                    path.push('/');
                    if segment.starts_with('{') || segment.starts_with(':') {
                        let value = generator.value();
                        let value: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
                        path.push_str(&value[..value.len().min(4000)]);
                    } else {
                        path.push_str(segment);
                    }
                }
                if path.is_empty() {
                    path.push('/');
                }
                let mut query = url::form_urlencoded::Serializer::new(String::new());
                for _ in 0..generator.rng.usize(0..4) {
                    let name = query_names[generator.rng.usize(..query_names.len())];
                    let value: String = generator.value().chars().take(2000).collect();
                    query.append_pair(name, &value);
                }
                let url = format!("{path}?{}", query.finish());
                let response = app.get_as(&url, cookie.as_deref()).await;
                sent += 1;
                if response.status().is_server_error() {
                    failures.push(format!("{label} GET {:.300} -> {}", url, response.status()));
                }
            }
        }
    }
    sent
}
