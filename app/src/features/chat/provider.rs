//! The model behind chat, through one interface over two wire formats: OpenAI-compatible
//! Chat Completions (OpenAI, Ollama, vLLM, llama.cpp) and Anthropic Messages, both
//! streamed as Server-Sent Events. Failures before the first token are retried with
//! backoff; after it, the reply is cut off and the caller says so.

use super::sse::{SseEvent, SseParser};
use crate::platform::config::{invalid, parse_base_url, parse_number, ConfigError};
use std::{collections::VecDeque, time::Duration};

/// Which wire format the provider speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    OpenAi,
    Anthropic,
}

/// `ATELIER_CHAT_*`: the provider and how chat is metered. `Debug` leaves the key out.
#[derive(Clone)]
pub struct ChatSettings {
    pub wire: Wire,
    /// Without a trailing slash: `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1`,
    /// `https://api.anthropic.com`.
    pub base_url: String,
    /// Sent as a bearer token (OpenAI) or `x-api-key` (Anthropic); local servers need none.
    pub api_key: Option<String>,
    pub model: String,
    /// The longest reply asked for, in tokens.
    pub max_tokens: u32,
    /// Replies a member on the Free plan may have each UTC day before replies cost credits.
    pub free_daily: u32,
    /// Gives up on a provider that sends nothing for this long.
    pub read_timeout: Duration,
}

impl std::fmt::Debug for ChatSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatSettings")
            .field("wire", &self.wire)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("model", &self.model)
            .field("max_tokens", &self.max_tokens)
            .field("free_daily", &self.free_daily)
            .field("read_timeout", &self.read_timeout)
            .finish()
    }
}

impl ChatSettings {
    /// `None` when `ATELIER_CHAT_PROVIDER` is unset: chat then says how to configure it.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let Some(provider) = get("ATELIER_CHAT_PROVIDER") else {
            return Ok(None);
        };
        let (wire, default_base) = match provider.as_str() {
            "openai" => (Wire::OpenAi, "https://api.openai.com/v1"),
            "anthropic" => (Wire::Anthropic, "https://api.anthropic.com"),
            other => {
                return Err(invalid(
                    "ATELIER_CHAT_PROVIDER",
                    format!("expected openai (any OpenAI-compatible server) or anthropic, got “{other}”"),
                ))
            }
        };
        let base_url = match get("ATELIER_CHAT_BASE_URL") {
            Some(raw) => parse_base_url(&raw).map_err(|problem| invalid("ATELIER_CHAT_BASE_URL", problem))?,
            None => default_base.to_owned(),
        };
        let api_key = get("ATELIER_CHAT_API_KEY");
        if api_key.is_none() && wire == Wire::Anthropic {
            return Err(invalid("ATELIER_CHAT_API_KEY", "is required for Anthropic"));
        }
        let model = get("ATELIER_CHAT_MODEL").ok_or_else(|| {
            invalid(
                "ATELIER_CHAT_MODEL",
                "is required when ATELIER_CHAT_PROVIDER is set (e.g. gpt-4o-mini, llama3.1, claude-sonnet-4-5)",
            )
        })?;
        Ok(Some(ChatSettings {
            wire,
            base_url,
            api_key,
            model,
            max_tokens: parse_number(
                "ATELIER_CHAT_MAX_TOKENS",
                get("ATELIER_CHAT_MAX_TOKENS"),
                1_024,
                16..=32_000,
            )? as u32,
            free_daily: parse_number(
                "ATELIER_CHAT_FREE_DAILY",
                get("ATELIER_CHAT_FREE_DAILY"),
                20,
                0..=10_000,
            )? as u32,
            read_timeout: Duration::from_secs(parse_number(
                "ATELIER_CHAT_TIMEOUT_SECS",
                get("ATELIER_CHAT_TIMEOUT_SECS"),
                60,
                1..=600,
            )?),
        }))
    }
}

/// Who said a turn of the conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speaker {
    Member,
    Persona,
}

#[derive(Clone, Debug)]
pub struct Turn {
    pub speaker: Speaker,
    pub text: String,
}

/// Why no (complete) reply came. `message` is what the member reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Still failing after the retries: busy, rate limited or down.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request itself (bad key, unknown model, too long).
    #[error("refused: {0}")]
    Refused(String),
    /// The stream broke or went quiet after tokens had arrived.
    #[error("interrupted: {0}")]
    Interrupted(String),
}

impl ProviderError {
    pub fn message(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "The model is busy or unreachable right now. Nothing was charged; try again in a minute.",
            Self::Refused(_) => "The model refused this request. Nothing was charged; an operator may need to check the chat configuration.",
            Self::Interrupted(_) => "The reply was cut off by the model. What arrived is kept, nothing was charged, and you can retry.",
        }
    }
}

/// Attempts before giving up on a provider that is busy or down, and the first wait.
const ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest `Retry-After` we wait for; longer ones fail at once.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(4);

/// A configured provider with its HTTP client (connection pool shared by every reply).
pub struct ChatProvider {
    settings: ChatSettings,
    http: reqwest::Client,
}

impl ChatProvider {
    pub fn new(settings: ChatSettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(settings.read_timeout)
            // Every token matters for latency: no Nagle delay on the upstream socket.
            .tcp_nodelay(true)
            .build()?;
        Ok(ChatProvider { settings, http })
    }

    pub fn settings(&self) -> &ChatSettings {
        &self.settings
    }

    /// Starts a reply and waits for its first token, retrying with backoff while the
    /// provider answers 429, 5xx or 529, cannot be reached, or fails before any token.
    pub async fn open(&self, system: &str, turns: &[Turn]) -> Result<ReplyStream, ProviderError> {
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            match self.try_open(system, turns).await {
                Ok(stream) => return Ok(stream),
                Err(Failure::Retryable { reason, retry_after }) if attempt < ATTEMPTS => {
                    let wait = retry_after.unwrap_or(backoff);
                    if wait > MAX_RETRY_AFTER {
                        return Err(ProviderError::Unavailable(reason));
                    }
                    tracing::info!(attempt, %reason, wait_ms = wait.as_millis() as u64, "chat provider busy; retrying");
                    tokio::time::sleep(wait).await;
                    backoff *= 2;
                    attempt += 1;
                }
                Err(Failure::Retryable { reason, .. }) => return Err(ProviderError::Unavailable(reason)),
                Err(Failure::Final(error)) => return Err(error),
            }
        }
    }

    async fn try_open(&self, system: &str, turns: &[Turn]) -> Result<ReplyStream, Failure> {
        let request = match self.settings.wire {
            Wire::OpenAi => self.openai_request(system, turns),
            Wire::Anthropic => self.anthropic_request(system, turns),
        };
        let response = request.send().await.map_err(|error| Failure::Retryable {
            reason: format!("could not reach the provider: {error}"),
            retry_after: None,
        })?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = response.text().await.unwrap_or_default();
            let reason = format!("{status}: {}", body.chars().take(300).collect::<String>());
            return Err(
                if status.as_u16() == 429 || status.as_u16() == 529 || status.is_server_error() {
                    Failure::Retryable { reason, retry_after }
                } else {
                    Failure::Final(ProviderError::Refused(reason))
                },
            );
        }
        let mut stream = ReplyStream {
            wire: self.settings.wire,
            response,
            parser: SseParser::default(),
            pending: VecDeque::new(),
            finished: false,
        };
        // Wait for the first token here, so a failure before it can still be retried.
        match stream.next_token().await {
            Ok(Some(first)) => {
                stream.pending.push_front(first);
                Ok(stream)
            }
            Ok(None) => Err(Failure::Retryable {
                reason: "the stream ended before any token".into(),
                retry_after: None,
            }),
            Err(error) => Err(Failure::Retryable {
                reason: error.to_string(),
                retry_after: None,
            }),
        }
    }

    fn openai_request(&self, system: &str, turns: &[Turn]) -> reqwest::RequestBuilder {
        let mut messages = vec![serde_json::json!({ "role": "system", "content": system })];
        messages.extend(turns.iter().map(|turn| {
            serde_json::json!({
                "role": match turn.speaker { Speaker::Member => "user", Speaker::Persona => "assistant" },
                "content": turn.text,
            })
        }));
        let body = serde_json::json!({
            "model": self.settings.model,
            "messages": messages,
            "stream": true,
            "max_tokens": self.settings.max_tokens,
        });
        let request = self
            .http
            .post(format!("{}/chat/completions", self.settings.base_url))
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .json(&body);
        match &self.settings.api_key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    fn anthropic_request(&self, system: &str, turns: &[Turn]) -> reqwest::RequestBuilder {
        let messages: Vec<_> = turns
            .iter()
            .map(|turn| {
                serde_json::json!({
                    "role": match turn.speaker { Speaker::Member => "user", Speaker::Persona => "assistant" },
                    "content": turn.text,
                })
            })
            .collect();
        let body = serde_json::json!({
            "model": self.settings.model,
            "system": system,
            "messages": messages,
            "stream": true,
            "max_tokens": self.settings.max_tokens,
        });
        self.http
            .post(format!("{}/v1/messages", self.settings.base_url))
            .header("x-api-key", self.settings.api_key.as_deref().unwrap_or_default())
            .header("anthropic-version", "2023-06-01")
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .json(&body)
    }
}

enum Failure {
    Retryable {
        reason: String,
        retry_after: Option<Duration>,
    },
    Final(ProviderError),
}

/// A reply on its way: text tokens in order. Dropping it closes the upstream connection,
/// which stops the provider's work.
pub struct ReplyStream {
    wire: Wire,
    response: reqwest::Response,
    parser: SseParser,
    pending: VecDeque<String>,
    finished: bool,
}

impl ReplyStream {
    /// The next piece of text, `None` when the reply is complete.
    pub async fn next_token(&mut self) -> Result<Option<String>, ProviderError> {
        loop {
            if let Some(token) = self.pending.pop_front() {
                return Ok(Some(token));
            }
            if self.finished {
                return Ok(None);
            }
            let chunk = self
                .response
                .chunk()
                .await
                .map_err(|error| ProviderError::Interrupted(format!("the stream broke: {error}")))?;
            let Some(chunk) = chunk else {
                return Err(ProviderError::Interrupted(
                    "the stream ended without its final event".into(),
                ));
            };
            let events = self
                .parser
                .feed(&chunk)
                .map_err(|_| ProviderError::Interrupted("an event was too long".into()))?;
            for event in events {
                // Nothing after the end counts (a `[DONE]` after the finishing chunk).
                if self.finished {
                    break;
                }
                match read_event(self.wire, &event)? {
                    Read::Text(text) if !text.is_empty() => self.pending.push_back(text),
                    Read::Text(_) | Read::Nothing => {}
                    Read::TextThenEnd(text) => {
                        self.pending.push_back(text);
                        self.finished = true;
                    }
                    Read::End => self.finished = true,
                }
            }
        }
    }
}

enum Read {
    Text(String),
    TextThenEnd(String),
    Nothing,
    End,
}

/// What one provider event means: text, the end, an error, or nothing we need.
fn read_event(wire: Wire, event: &SseEvent) -> Result<Read, ProviderError> {
    match wire {
        Wire::OpenAi => {
            if event.data.trim() == "[DONE]" {
                return Ok(Read::End);
            }
            let value: serde_json::Value = serde_json::from_str(&event.data)
                .map_err(|_| ProviderError::Interrupted("the provider sent an event that is not JSON".into()))?;
            if let Some(error) = value.get("error") {
                return Err(ProviderError::Interrupted(format!("the provider reported: {error}")));
            }
            let choice = &value["choices"][0];
            let text = choice["delta"]["content"].as_str().unwrap_or_default();
            // Some compatible servers close after the finishing chunk without `[DONE]`.
            if !choice["finish_reason"].is_null() {
                return Ok(if text.is_empty() {
                    Read::End
                } else {
                    Read::TextThenEnd(text.to_owned())
                });
            }
            Ok(if text.is_empty() {
                Read::Nothing
            } else {
                Read::Text(text.to_owned())
            })
        }
        Wire::Anthropic => match event.name.as_str() {
            "content_block_delta" => {
                let value: serde_json::Value = serde_json::from_str(&event.data)
                    .map_err(|_| ProviderError::Interrupted("the provider sent an event that is not JSON".into()))?;
                Ok(match value["delta"]["type"].as_str() {
                    Some("text_delta") => Read::Text(value["delta"]["text"].as_str().unwrap_or_default().to_owned()),
                    _ => Read::Nothing,
                })
            }
            "message_stop" => Ok(Read::End),
            "error" => Err(ProviderError::Interrupted(format!(
                "the provider reported: {}",
                event.data.chars().take(300).collect::<String>()
            ))),
            // message_start, content_block_start/stop, message_delta, ping
            _ => Ok(Read::Nothing),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, data: &str) -> SseEvent {
        SseEvent {
            name: name.into(),
            data: data.into(),
        }
    }

    #[test]
    fn openai_chunks_carry_text_until_done() {
        let text = read_event(
            Wire::OpenAi,
            &event("message", r#"{"choices":[{"delta":{"content":"Hi"}}]}"#),
        );
        assert!(matches!(text, Ok(Read::Text(t)) if t == "Hi"));
        let role = read_event(
            Wire::OpenAi,
            &event("message", r#"{"choices":[{"delta":{"role":"assistant"}}]}"#),
        );
        assert!(matches!(role, Ok(Read::Nothing)));
        assert!(matches!(
            read_event(Wire::OpenAi, &event("message", "[DONE]")),
            Ok(Read::End)
        ));
        let last = r#"{"choices":[{"delta":{"content":"!"},"finish_reason":"stop"}]}"#;
        assert!(matches!(read_event(Wire::OpenAi, &event("message", last)), Ok(Read::TextThenEnd(t)) if t == "!"));
        let stop = r#"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#;
        assert!(matches!(
            read_event(Wire::OpenAi, &event("message", stop)),
            Ok(Read::End)
        ));
        assert!(read_event(Wire::OpenAi, &event("message", r#"{"error":{"message":"overloaded"}}"#)).is_err());
    }

    #[test]
    fn anthropic_text_deltas_and_stop() {
        let delta = r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#;
        assert!(
            matches!(read_event(Wire::Anthropic, &event("content_block_delta", delta)), Ok(Read::Text(t)) if t == "Hello")
        );
        assert!(matches!(
            read_event(Wire::Anthropic, &event("ping", "{}")),
            Ok(Read::Nothing)
        ));
        assert!(matches!(
            read_event(Wire::Anthropic, &event("message_stop", "{}")),
            Ok(Read::End)
        ));
        assert!(read_event(Wire::Anthropic, &event("error", r#"{"type":"overloaded_error"}"#)).is_err());
    }

    #[test]
    fn settings_name_the_variable_at_fault() {
        let values = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.to_string())
            }
        };
        assert!(ChatSettings::from_lookup(values(&[])).unwrap().is_none());
        let error = ChatSettings::from_lookup(values(&[("ATELIER_CHAT_PROVIDER", "gemini")])).unwrap_err();
        assert_eq!(error.variable, "ATELIER_CHAT_PROVIDER");
        let error = ChatSettings::from_lookup(values(&[("ATELIER_CHAT_PROVIDER", "openai")])).unwrap_err();
        assert_eq!(error.variable, "ATELIER_CHAT_MODEL");
        let error = ChatSettings::from_lookup(values(&[
            ("ATELIER_CHAT_PROVIDER", "anthropic"),
            ("ATELIER_CHAT_MODEL", "m"),
        ]))
        .unwrap_err();
        assert_eq!(error.variable, "ATELIER_CHAT_API_KEY");
        let ollama = ChatSettings::from_lookup(values(&[
            ("ATELIER_CHAT_PROVIDER", "openai"),
            ("ATELIER_CHAT_BASE_URL", "http://127.0.0.1:11434/v1/"),
            ("ATELIER_CHAT_MODEL", "llama3.1"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(ollama.base_url, "http://127.0.0.1:11434/v1");
        assert_eq!(ollama.free_daily, 20);
        let hosted = ChatSettings::from_lookup(values(&[
            ("ATELIER_CHAT_PROVIDER", "anthropic"),
            ("ATELIER_CHAT_MODEL", "m"),
            ("ATELIER_CHAT_API_KEY", "sk-ant-secret-value"),
        ]))
        .unwrap()
        .unwrap();
        let printed = format!("{hosted:?}");
        assert!(
            !printed.contains("sk-ant-secret-value") && printed.contains("<redacted>"),
            "{printed}"
        );
    }
}
