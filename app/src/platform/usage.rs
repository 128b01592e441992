//! First-party usage events — page views and searches — queued without waiting and written
//! in batches by one task, so counting never slows a page down or fails it.

use super::{clock, db::Database};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::{
    net::IpAddr,
    num::NonZeroU32,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};
use tokio::sync::mpsc;

/// What happened. Stored as [`UsageKind::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsageKind {
    /// A page shown: `subject` is its route pattern (`/photos/{id}`), never the concrete
    /// path, and the event names nobody.
    PageView,
    /// A new search (its first page): `subject` is `found` or `empty`, never the words.
    Search,
}

impl UsageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PageView => "page_view",
            Self::Search => "search",
        }
    }
}

/// One event on its way to `usage_events`.
#[derive(Debug)]
struct UsageEvent {
    kind: UsageKind,
    subject: &'static str,
    user_id: Option<i64>,
    at: i64,
}

/// Events waiting for the writer at most; past it new events are dropped and counted,
/// because losing a statistic is better than holding memory or a request.
const QUEUE: usize = 10_000;
/// Events written per transaction.
const BATCH: usize = 500;

/// The handle every request uses to count something. Clones share one queue and writer.
#[derive(Clone)]
pub struct UsageRecorder {
    queue: mpsc::Sender<UsageEvent>,
    dropped: Arc<AtomicU64>,
    /// Page views the browser reports after client-side navigation, per client address: a
    /// person clicking around stays far below it; a script filling the table does not.
    beacons: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl UsageRecorder {
    /// Starts the writer, which ends once every recorder is dropped and the queue is empty.
    pub fn start(db: Database) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(db, receiver));
        let beacon_quota = Quota::per_second(NonZeroU32::new(1).expect("non-zero"))
            .allow_burst(NonZeroU32::new(60).expect("non-zero"));
        UsageRecorder {
            queue,
            dropped: Arc::default(),
            beacons: Arc::new(RateLimiter::keyed(beacon_quota)),
        }
    }

    /// Queues one event; `subject` is one of a fixed set of strings (a route pattern or an
    /// outcome), so nothing a visitor typed can reach the table.
    pub fn record(&self, kind: UsageKind, subject: &'static str, user_id: Option<i64>) {
        let event = UsageEvent {
            kind,
            subject,
            user_id,
            at: clock::now_unix(),
        };
        if self.queue.try_send(event).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // Once per doubling, so a long overload does not flood the log.
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "usage queue full; events dropped");
            }
        }
    }

    /// Whether a page-view beacon from `ip` may be counted now.
    pub fn allow_beacon(&self, ip: IpAddr) -> bool {
        self.beacons.check_key(&ip).is_ok()
    }

    /// Forgets addresses whose beacon limit has fully recovered (called periodically).
    pub fn forget_idle(&self) {
        self.beacons.retain_recent();
    }
}

/// Writes whatever has queued up, up to [`BATCH`] at a time: under load the batches grow
/// by themselves while the previous one is being written, and no timer delays a quiet one.
async fn write_batches(db: Database, mut receiver: mpsc::Receiver<UsageEvent>) {
    let mut batch = Vec::with_capacity(BATCH);
    while receiver.recv_many(&mut batch, BATCH).await > 0 {
        if let Err(error) = insert(&db, &batch).await {
            tracing::warn!(%error, events = batch.len(), "could not record usage events");
        }
        batch.clear();
    }
}

async fn insert(db: &Database, events: &[UsageEvent]) -> Result<(), sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    for event in events {
        sqlx::query("INSERT INTO usage_events (kind, subject, user_id, created_at) VALUES ($1, $2, $3, $4)")
            .bind(event.kind.as_str())
            .bind(event.subject)
            .bind(event.user_id)
            .bind(event.at)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// The route pattern among `patterns` (axum syntax, `{name}` for a parameter) that `path`
/// is a page of, preferring the one with the most fixed segments (`/collections/new` over
/// `/collections/{slug}`).
pub fn route_pattern<'a>(patterns: impl IntoIterator<Item = &'a str>, path: &str) -> Option<&'a str> {
    let segments: Vec<&str> = path.split('/').collect();
    patterns
        .into_iter()
        .filter_map(|pattern| {
            let parts: Vec<&str> = pattern.split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut fixed = 0;
            for (part, segment) in parts.iter().zip(&segments) {
                if part.starts_with('{') && part.ends_with('}') && !part.starts_with("{*") {
                    if segment.is_empty() {
                        return None;
                    }
                } else if part == segment {
                    fixed += 1;
                } else {
                    return None;
                }
            }
            Some((fixed, pattern))
        })
        .max_by_key(|(fixed, _)| *fixed)
        .map(|(_, pattern)| pattern)
}

#[cfg(test)]
mod tests {
    use super::route_pattern;

    const PATTERNS: [&str; 5] = [
        "/",
        "/photos",
        "/photos/{id}",
        "/collections/new",
        "/collections/{slug}",
    ];

    #[test]
    fn concrete_paths_map_to_their_route_pattern() {
        assert_eq!(route_pattern(PATTERNS, "/"), Some("/"));
        assert_eq!(route_pattern(PATTERNS, "/photos"), Some("/photos"));
        assert_eq!(route_pattern(PATTERNS, "/photos/k3x9"), Some("/photos/{id}"));
        assert_eq!(route_pattern(PATTERNS, "/collections/new"), Some("/collections/new"));
        assert_eq!(
            route_pattern(PATTERNS, "/collections/mine"),
            Some("/collections/{slug}")
        );
    }

    #[test]
    fn paths_that_are_no_page_match_nothing() {
        assert_eq!(route_pattern(PATTERNS, "/photos/"), None);
        assert_eq!(route_pattern(PATTERNS, "/photos/a/b"), None);
        assert_eq!(route_pattern(PATTERNS, "/wp-admin"), None);
        assert_eq!(route_pattern(PATTERNS, ""), None);
    }
}
