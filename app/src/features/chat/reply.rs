//! One reply, streamed: opens the provider, passes each token on as a `delta` event the
//! moment it arrives, and ends with `done` or `error`. The stream is the response body, so
//! when the browser goes away the server drops it, which drops the upstream request (the
//! provider stops) and ends the reply as stopped, giving its charge back.

use super::{
    markdown,
    provider::{ChatProvider, ProviderError, ReplyStream, Turn},
    service, wire, MessageState,
};
use crate::platform::{clock::now_unix, db::Database};
use bytes::Bytes;
use futures::Stream;
use std::{collections::HashSet, sync::Arc};

/// Everything a reply needs once it has begun and been charged.
pub struct ReplyJob {
    pub db: Database,
    pub provider: Arc<ChatProvider>,
    pub user_id: i64,
    pub reply_id: i64,
    pub system: String,
    pub turns: Vec<Turn>,
    pub title: String,
}

/// Ends the reply as stopped if the stream is dropped before it ended it itself.
struct Finisher {
    db: Database,
    user_id: i64,
    reply_id: i64,
    text: String,
    ended: bool,
}

impl Drop for Finisher {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let (db, user_id, reply_id, text) = (
            self.db.clone(),
            self.user_id,
            self.reply_id,
            std::mem::take(&mut self.text),
        );
        // Drop cannot wait; the runtime finishes it. A process that stops first leaves the
        // reply `streaming`, and the maintenance loop fails it (and gives the charge back).
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let html = render(&db, &text).await;
                if let Err(error) =
                    service::finish(&db, user_id, reply_id, MessageState::Stopped, &text, &html, now_unix()).await
                {
                    tracing::warn!(%error, reply_id, "could not end a stopped reply");
                }
            });
        }
    }
}

impl Finisher {
    async fn end(&mut self, state: MessageState) -> String {
        let html = render(&self.db, &self.text).await;
        match service::finish(
            &self.db,
            self.user_id,
            self.reply_id,
            state,
            &self.text,
            &html,
            now_unix(),
        )
        .await
        {
            Ok(_) => self.ended = true,
            // Left to the drop above, which tries once more as stopped.
            Err(error) => tracing::warn!(%error, reply_id = self.reply_id, "could not end a reply"),
        }
        html
    }
}

enum Phase {
    Opening,
    Streaming(Box<ReplyStream>),
    Ended,
}

struct Run {
    job: ReplyJob,
    finisher: Finisher,
    phase: Phase,
    started: std::time::Instant,
}

/// One SSE event, ready for the wire.
pub fn frame(name: &str, data: &impl serde::Serialize) -> Bytes {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "null".to_owned());
    Bytes::from(super::sse::format_event(name, &json))
}

/// The reply's events, as the response body.
pub fn stream(job: ReplyJob) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> + Send {
    let finisher = Finisher {
        db: job.db.clone(),
        user_id: job.user_id,
        reply_id: job.reply_id,
        text: String::new(),
        ended: false,
    };
    let run = Run {
        job,
        finisher,
        phase: Phase::Opening,
        started: std::time::Instant::now(),
    };
    futures::stream::unfold(run, |mut run| async move {
        let frame = step(&mut run).await?;
        Some((Ok(frame), run))
    })
}

/// The next event, or `None` once the reply has ended.
async fn step(run: &mut Run) -> Option<Bytes> {
    if let Phase::Opening = run.phase {
        match run.job.provider.open(&run.job.system, &run.job.turns).await {
            Ok(reply) => run.phase = Phase::Streaming(Box::new(reply)),
            Err(error) => {
                tracing::warn!(%error, reply_id = run.job.reply_id, "chat reply failed before its first token");
                run.phase = Phase::Ended;
                let html = run.finisher.end(MessageState::Failed).await;
                return Some(frame(
                    wire::ERROR,
                    &wire::Failed {
                        message: error.message().to_owned(),
                        html,
                    },
                ));
            }
        }
    }
    let Phase::Streaming(reply) = &mut run.phase else {
        return None;
    };
    // A reply has an end even when the provider does not stop: past the limit it is cut
    // off like a broken stream (and so refunded), long before the maintenance loop would
    // take it for abandoned.
    let limit = std::time::Duration::from_secs(service::MAX_REPLY_SECS).saturating_sub(run.started.elapsed());
    let next = tokio::time::timeout(limit, reply.next_token())
        .await
        .unwrap_or_else(|_| Err(ProviderError::Interrupted("the reply went on too long".into())));
    match next {
        Ok(Some(token)) => {
            run.finisher.text.push_str(&token);
            Some(frame(wire::DELTA, &token))
        }
        Ok(None) => {
            run.phase = Phase::Ended;
            let html = run.finisher.end(MessageState::Complete).await;
            Some(frame(
                wire::DONE,
                &wire::Done {
                    html,
                    title: run.job.title.clone(),
                },
            ))
        }
        Err(error) => {
            tracing::warn!(%error, reply_id = run.job.reply_id, "chat reply cut off");
            run.phase = Phase::Ended;
            let html = run.finisher.end(MessageState::Failed).await;
            Some(frame(
                wire::ERROR,
                &wire::Failed {
                    message: error.message().to_owned(),
                    html,
                },
            ))
        }
    }
}

/// Links to library images only survive if the image exists and is public.
const MAX_CHECKED_LINKS: usize = 20;

/// The reply's Markdown as safe HTML, with its links to library images checked.
pub async fn render(db: &Database, text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let mut ids = markdown::linked_photos(text);
    ids.sort();
    ids.dedup();
    ids.truncate(MAX_CHECKED_LINKS);
    let mut existing = HashSet::new();
    for id in ids {
        let found: Result<Option<String>, _> =
            sqlx::query_scalar("SELECT public_id FROM images WHERE public_id = $1 AND visibility = 'public'")
                .bind(&id)
                .fetch_optional(db.pool())
                .await;
        if let Ok(Some(id)) = found {
            existing.insert(id);
        }
    }
    markdown::render(text, &existing)
}
