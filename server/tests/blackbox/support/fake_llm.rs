//! A fake model server on 127.0.0.1 speaking both streaming wire formats Atelier uses:
//! OpenAI-compatible Chat Completions (`POST /v1/chat/completions`, `data: {chunk}` … `data:
//! [DONE]`) and Anthropic Messages (`POST /v1/messages`, named events from `message_start`
//! to `message_stop`). Each request plays the next queued [`Script`] (normal, slow, broken
//! midway, an error status), records what was asked, and counts streams the client closed
//! before they ended.

#![allow(dead_code)]

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use serde_json::{json, Value};
use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};
use tokio::{net::TcpListener, task::JoinHandle};

pub const API_KEY: &str = "fake-model-key";
pub const MODEL: &str = "fake-persona-1";

/// What the fake does with one request.
#[derive(Clone, Debug)]
pub enum Script {
    /// Streams these tokens, `gap` apart, then ends properly.
    Tokens { tokens: Vec<String>, gap: Duration },
    /// Streams these tokens, then closes the connection without the final event.
    BreakAfter { tokens: Vec<String> },
    /// Streams these tokens, then sends nothing more and never ends.
    StallAfter { tokens: Vec<String> },
    /// Answers this status with an error body (and `Retry-After: 0` for 429).
    Status(u16),
}

impl Script {
    pub fn tokens(tokens: &[&str]) -> Self {
        Script::Tokens {
            tokens: tokens.iter().map(|token| token.to_string()).collect(),
            gap: Duration::ZERO,
        }
    }

    pub fn slow(tokens: &[&str], gap: Duration) -> Self {
        Script::Tokens {
            tokens: tokens.iter().map(|token| token.to_string()).collect(),
            gap,
        }
    }
}

/// One request as the fake received it.
#[derive(Clone, Debug)]
pub struct Asked {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Default)]
struct Shared {
    scripts: Mutex<VecDeque<Script>>,
    asked: Mutex<Vec<Asked>>,
    /// Streams whose body was dropped before its last event: the client went away.
    cancelled: AtomicUsize,
    finished: AtomicUsize,
}

pub struct FakeLlm {
    pub base_url: String,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeLlm {
    pub async fn start() -> FakeLlm {
        let shared = Arc::new(Shared::default());
        let router = Router::new()
            .route("/v1/chat/completions", post(openai))
            .route("/v1/messages", post(anthropic))
            .with_state(shared.clone());
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake model server");
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.ok();
        });
        FakeLlm {
            base_url,
            shared,
            server,
        }
    }

    /// Queues what the next requests do, in order; with none queued a request streams
    /// "Hello from the fake."
    pub fn script(&self, scripts: impl IntoIterator<Item = Script>) {
        self.shared.scripts.lock().unwrap().extend(scripts);
    }

    pub fn asked(&self) -> Vec<Asked> {
        self.shared.asked.lock().unwrap().clone()
    }

    pub fn cancelled(&self) -> usize {
        self.shared.cancelled.load(Ordering::SeqCst)
    }

    pub fn finished(&self) -> usize {
        self.shared.finished.load(Ordering::SeqCst)
    }

    /// The configuration that points Atelier's chat at this fake.
    pub fn env(&self, wire: &str) -> Vec<(String, String)> {
        let base = match wire {
            "anthropic" => self.base_url.clone(),
            _ => format!("{}/v1", self.base_url),
        };
        vec![
            ("ATELIER_CHAT_PROVIDER".into(), wire.into()),
            ("ATELIER_CHAT_BASE_URL".into(), base),
            ("ATELIER_CHAT_API_KEY".into(), API_KEY.into()),
            ("ATELIER_CHAT_MODEL".into(), MODEL.into()),
        ]
    }
}

fn next_script(shared: &Shared) -> Script {
    shared
        .scripts
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| Script::tokens(&["Hello", " from", " the", " fake."]))
}

fn record(shared: &Shared, path: &str, headers: HeaderMap, body: Value) {
    shared.asked.lock().unwrap().push(Asked {
        path: path.into(),
        headers,
        body,
    });
}

fn error_status(code: u16, anthropic: bool) -> Response {
    let status = StatusCode::from_u16(code).unwrap();
    let body = if anthropic {
        json!({ "type": "error", "error": { "type": "overloaded_error", "message": "Overloaded" } })
    } else {
        json!({ "error": { "message": "The server is busy", "type": "server_error" } })
    };
    let mut response = (status, Json(body)).into_response();
    if code == 429 {
        response.headers_mut().insert("retry-after", "0".parse().unwrap());
    }
    response
}

/// Counts the stream as cancelled if it is dropped before its last event was sent.
struct Watch {
    shared: Arc<Shared>,
    done: bool,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let counter = if self.done {
            &self.shared.finished
        } else {
            &self.shared.cancelled
        };
        counter.fetch_add(1, Ordering::SeqCst);
    }
}

/// The events of a script as a streamed body: `frames(token)` for each token, then `tail`
/// (the ending events) unless the script breaks midway.
fn stream(
    shared: Arc<Shared>,
    script: Script,
    head: Vec<String>,
    frame: fn(&str) -> String,
    tail: Vec<String>,
) -> Response {
    let (tokens, gap, ends, stalls) = match script {
        Script::Tokens { tokens, gap } => (tokens, gap, true, false),
        Script::BreakAfter { tokens } => (tokens, Duration::from_millis(10), false, false),
        Script::StallAfter { tokens } => (tokens, Duration::ZERO, false, true),
        Script::Status(_) => unreachable!("answered before streaming"),
    };
    let mut frames: VecDeque<(Duration, String)> = head.into_iter().map(|event| (Duration::ZERO, event)).collect();
    frames.extend(tokens.iter().map(|token| (gap, frame(token))));
    if ends {
        frames.extend(tail.into_iter().map(|event| (Duration::ZERO, event)));
    }
    let watch = Watch { shared, done: false };
    let body = futures::stream::unfold((frames, watch, ends), move |(mut frames, mut watch, ends)| async move {
        match frames.pop_front() {
            Some((wait, frame)) => {
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                Some((Ok::<_, std::io::Error>(Bytes::from(frame)), (frames, watch, ends)))
            }
            None if ends => {
                let _ended = std::mem::replace(&mut watch.done, true);
                None
            }
            None if stalls => {
                // Holds the connection open, silent, until the client gives up on it.
                std::future::pending::<()>().await;
                None
            }
            None => {
                // Broken on purpose: the fake ended it, the client did not leave. A moment
                // first, so what was sent reaches the client before the connection drops.
                tokio::time::sleep(Duration::from_millis(50)).await;
                let _ended = std::mem::replace(&mut watch.done, true);
                Some((
                    Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "broken on purpose",
                    )),
                    (frames, watch, ends),
                ))
            }
        }
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(Body::from_stream(body))
        .unwrap()
}

async fn openai(State(shared): State<Arc<Shared>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let authorized = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {API_KEY}"));
    record(&shared, "/v1/chat/completions", headers, body);
    if !authorized {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": { "message": "Incorrect API key" } })),
        )
            .into_response();
    }
    let script = next_script(&shared);
    if let Script::Status(code) = script {
        return error_status(code, false);
    }
    fn chunk(delta: Value, finish: Value) -> String {
        format!(
            "data: {}\n\n",
            json!({ "id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": MODEL,
                    "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }] })
        )
    }
    stream(
        shared,
        script,
        vec![chunk(json!({ "role": "assistant", "content": "" }), Value::Null)],
        |token| chunk(json!({ "content": token }), Value::Null),
        vec![chunk(json!({}), json!("stop")), "data: [DONE]\n\n".to_owned()],
    )
}

fn event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

async fn anthropic(State(shared): State<Arc<Shared>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let authorized = headers.get("x-api-key").and_then(|v| v.to_str().ok()) == Some(API_KEY)
        && headers.get("anthropic-version").and_then(|v| v.to_str().ok()) == Some("2023-06-01");
    record(&shared, "/v1/messages", headers, body);
    if !authorized {
        return (
            StatusCode::UNAUTHORIZED,
            Json(
                json!({ "type": "error", "error": { "type": "authentication_error", "message": "invalid x-api-key" } }),
            ),
        )
            .into_response();
    }
    let script = next_script(&shared);
    if let Script::Status(code) = script {
        return error_status(code, true);
    }
    stream(
        shared,
        script,
        vec![
            event(
                "message_start",
                json!({ "type": "message_start", "message": { "id": "msg_fake", "type": "message", "role": "assistant",
                        "content": [], "model": MODEL, "stop_reason": null, "usage": { "input_tokens": 10, "output_tokens": 1 } } }),
            ),
            event(
                "content_block_start",
                json!({ "type": "content_block_start", "index": 0, "content_block": { "type": "text", "text": "" } }),
            ),
            event("ping", json!({ "type": "ping" })),
        ],
        |token| {
            event(
                "content_block_delta",
                json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "text_delta", "text": token } }),
            )
        },
        vec![
            event(
                "content_block_stop",
                json!({ "type": "content_block_stop", "index": 0 }),
            ),
            event(
                "message_delta",
                json!({ "type": "message_delta", "delta": { "stop_reason": "end_turn" }, "usage": { "output_tokens": 12 } }),
            ),
            event("message_stop", json!({ "type": "message_stop" })),
        ],
    )
}
