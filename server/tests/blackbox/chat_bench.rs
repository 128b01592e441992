//! Benchmark, not a test (ignored by default; it asserts nothing about time): how much time
//! Atelier adds before a reply's first token, and whether the gaps between tokens survive
//! the trip. The fake model sends a token every 20 ms; each sample asks it once directly
//! and once through Atelier, and the difference of the two first-token times is ours.
//!
//! cargo test --release -p server --test blackbox chat_bench -- --ignored --nocapture

use crate::support::{
    self,
    fake_llm::{FakeLlm, Script},
    members::{create_member, post_form, signed_in},
};
use app::features::chat::{api::StartChat, sse::SseParser, wire};
use leptos::server_fn::ServerFn;
use std::time::{Duration, Instant};

const SAMPLES: usize = 200;
const TOKENS: usize = 10;
const GAP: Duration = Duration::from_millis(20);
/// Members and client addresses the samples rotate through, so the per-member and per-IP
/// message limits (which are not what is measured) never hold a sample back.
const MEMBERS: usize = 10;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The time to the first `delta` event, and the gaps between deltas, of one stream.
async fn time_stream(request: reqwest::RequestBuilder, delta: &str) -> (Duration, Vec<Duration>) {
    let started = Instant::now();
    let mut response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut parser = SseParser::default();
    let mut arrivals = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        for event in parser.feed(&chunk).unwrap() {
            let is_token = match delta {
                "openai" => event.data.contains("\"content\":\"t"),
                _ => event.name == wire::DELTA,
            };
            if is_token {
                arrivals.push(started.elapsed());
            }
        }
    }
    assert_eq!(arrivals.len(), TOKENS, "every token arrived");
    let gaps = arrivals.windows(2).map(|pair| pair[1] - pair[0]).collect();
    (arrivals[0], gaps)
}

#[tokio::test]
#[ignore = "a benchmark: run it with --ignored --nocapture"]
async fn chat_bench() {
    let llm = FakeLlm::start().await;
    let env = llm.env("openai");
    let app = support::spawn_app_with(
        move |values| {
            values.extend(env);
            values.insert("ATELIER_CHAT_FREE_DAILY".into(), "10000".into());
            values.insert("ATELIER_TRUSTED_PROXIES".into(), "127.0.0.1".into());
        },
        server::jobs::registry(),
    )
    .await;
    app.seed(3).await;
    let mut members = Vec::new();
    for n in 0..MEMBERS {
        let email = format!("bench{n}@example.org");
        create_member(&app, &email, "Bench", true).await;
        let cookie = signed_in(&app, &email).await;
        let response = post_form(&app, StartChat::PATH, Some(&cookie), &[("contributor", "mira-solenne")]).await;
        let conversation: String = response.json().await.unwrap();
        members.push((cookie, conversation));
    }
    let tokens: Vec<String> = (0..TOKENS).map(|n| format!("t{n} ")).collect();
    let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let direct_client = reqwest::Client::builder().tcp_nodelay(true).build().unwrap();
    let body = serde_json::json!({ "model": "m", "stream": true, "messages": [{ "role": "user", "content": "hi" }] });

    let mut added = Vec::new();
    let mut direct_first = Vec::new();
    let mut through_first = Vec::new();
    let mut direct_gaps = Vec::new();
    let mut through_gaps = Vec::new();
    for sample in 0..SAMPLES + 10 {
        llm.script([Script::slow(&tokens, GAP), Script::slow(&tokens, GAP)]);
        let direct = direct_client
            .post(format!("{}/v1/chat/completions", llm.base_url))
            .bearer_auth(support::fake_llm::API_KEY)
            .json(&body);
        let (direct_ttft, gaps) = time_stream(direct, "openai").await;
        let (cookie, conversation) = &members[sample % MEMBERS];
        let through = app
            .client
            .post(app.url(&format!("/chat/{conversation}/messages")))
            .header("cookie", cookie)
            .header("accept", "text/event-stream")
            .header("x-forwarded-for", format!("10.0.{}.{}", sample / 250, sample % 250 + 1))
            .form(&[("text", "Tell me about your work")]);
        let (through_ttft, through) = time_stream(through, "atelier").await;
        // The first ten warm the pools and caches.
        if sample >= 10 {
            direct_first.push(direct_ttft.as_secs_f64() * 1000.0);
            through_first.push(through_ttft.as_secs_f64() * 1000.0);
            added.push((through_ttft.as_secs_f64() - direct_ttft.as_secs_f64()) * 1000.0);
            direct_gaps.extend(gaps.iter().map(|gap| gap.as_secs_f64() * 1000.0));
            through_gaps.extend(through.iter().map(|gap| gap.as_secs_f64() * 1000.0));
        }
    }
    for list in [
        &mut added,
        &mut direct_first,
        &mut through_first,
        &mut direct_gaps,
        &mut through_gaps,
    ] {
        list.sort_by(f64::total_cmp);
    }
    let backend = format!("{:?}", support::backend());
    println!(
        "chat latency, {SAMPLES} samples, {TOKENS} tokens {} ms apart, {backend}",
        GAP.as_millis()
    );
    println!(
        "first token direct:   p50 {:.2} ms  p95 {:.2} ms",
        percentile(&direct_first, 0.5),
        percentile(&direct_first, 0.95)
    );
    println!(
        "first token through:  p50 {:.2} ms  p95 {:.2} ms",
        percentile(&through_first, 0.5),
        percentile(&through_first, 0.95)
    );
    println!(
        "added by Atelier:     p50 {:.2} ms  p95 {:.2} ms  max {:.2} ms",
        percentile(&added, 0.5),
        percentile(&added, 0.95),
        added[added.len() - 1]
    );
    println!(
        "gaps direct:          p5 {:.2} ms  p50 {:.2} ms  p95 {:.2} ms",
        percentile(&direct_gaps, 0.05),
        percentile(&direct_gaps, 0.5),
        percentile(&direct_gaps, 0.95)
    );
    println!(
        "gaps through Atelier: p5 {:.2} ms  p50 {:.2} ms  p95 {:.2} ms",
        percentile(&through_gaps, 0.05),
        percentile(&through_gaps, 0.5),
        percentile(&through_gaps, 0.95)
    );
    app.stop().await;
}
