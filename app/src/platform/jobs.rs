//! A database-backed job queue. Jobs survive restarts; several instances sharing PostgreSQL
//! claim work with `FOR UPDATE SKIP LOCKED`, SQLite serialises claims through its single
//! writer. Failed attempts retry with exponential backoff; exhausted jobs stay visible as
//! `failed` for /admin/jobs and `jobs list` / `jobs retry`, and are never run again unless
//! an operator retries them.

use super::{
    clock::now_unix,
    db::{Backend, Database},
};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc, time::Duration};
use tokio::sync::watch;
use tracing::Instrument;

/// Attempts before a job is marked failed, unless the enqueuer says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i64 = 5;
/// A running job whose worker has been silent this long is presumed dead and requeued.
pub const STALE_AFTER_SECONDS: i64 = 15 * 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "done" => JobStatus::Done,
            "failed" => JobStatus::Failed,
            _ => return None,
        })
    }
}

/// A job as listed for operators.
#[derive(Clone, Debug, Serialize)]
pub struct JobRecord {
    pub id: i64,
    pub kind: String,
    pub status: JobStatus,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A job this worker now owns.
#[derive(Clone, Debug)]
pub struct ClaimedJob {
    pub id: i64,
    pub kind: String,
    pub payload: serde_json::Value,
    /// 1 on the first try.
    pub attempt: i64,
    pub max_attempts: i64,
}

impl ClaimedJob {
    /// Whether `error` ends this job: it is permanent, or this was the last attempt. A
    /// handler that shows its work's state to people marks it failed then.
    pub fn is_last_try(&self, error: &JobError) -> bool {
        matches!(error, JobError::Permanent(_)) || self.attempt >= self.max_attempts
    }

    pub fn payload<T: for<'de> Deserialize<'de>>(&self) -> Result<T, JobError> {
        serde_json::from_value(self.payload.clone())
            .map_err(|error| JobError::Permanent(format!("payload does not match {}: {error}", self.kind)))
    }
}

/// How a handler failed: `Retry` tries again later, `Permanent` gives up at once.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Retry(String),
    #[error("{0}")]
    Permanent(String),
}

/// Days a job that failed for good is kept for an operator to read and retry.
pub const FAILED_JOB_DAYS: i64 = 30;

pub type JobFuture<'a> = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send + 'a>>;

/// Work for one job kind. Handlers must be idempotent: a job can run again after a crash.
pub trait JobHandler: Send + Sync + 'static {
    fn kind(&self) -> &'static str;
    fn run<'a>(&'a self, job: &'a ClaimedJob) -> JobFuture<'a>;
}

#[derive(Clone, Debug)]
pub struct JobQueue {
    db: Database,
}

impl JobQueue {
    pub fn new(db: Database) -> Self {
        JobQueue { db }
    }

    /// Queues a job to run as soon as a worker is free.
    pub async fn enqueue(&self, kind: &str, payload: &impl Serialize) -> Result<i64, sqlx::Error> {
        self.enqueue_at(kind, payload, now_unix(), DEFAULT_MAX_ATTEMPTS).await
    }

    pub async fn enqueue_at(
        &self,
        kind: &str,
        payload: &impl Serialize,
        run_at: i64,
        max_attempts: i64,
    ) -> Result<i64, sqlx::Error> {
        let mut conn = self.db.pool().acquire().await?;
        insert_job(&mut conn, kind, payload, run_at, max_attempts).await
    }

    /// Queues a job inside the caller's transaction: it exists only if the transaction
    /// commits, so a record and the work it asks for are written together or not at all.
    pub async fn enqueue_in(
        conn: &mut sqlx::AnyConnection,
        kind: &str,
        payload: &impl Serialize,
        max_attempts: i64,
    ) -> Result<i64, sqlx::Error> {
        insert_job(conn, kind, payload, now_unix(), max_attempts).await
    }

    /// Takes the oldest due job of one of `kinds`, marking it running for `worker`.
    pub async fn claim(&self, worker: &str, kinds: &[&str]) -> Result<Option<ClaimedJob>, sqlx::Error> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let now = now_unix();
        let kind_placeholders = (0..kinds.len())
            .map(|i| format!("${}", i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let lock = match self.db.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            // SQLite has one writer; the UPDATE below is atomic on its own.
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $1, locked_at = $2, updated_at = $2 \
             WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND run_at <= $2 AND kind IN ({kind_placeholders}) \
                         ORDER BY run_at, id LIMIT 1 {lock}) \
             RETURNING id, kind, payload, attempts, max_attempts"
        );
        let mut query = sqlx::query(&sql).bind(worker).bind(now);
        for kind in kinds {
            query = query.bind(*kind);
        }
        let Some(row) = query.fetch_optional(self.db.pool()).await? else {
            return Ok(None);
        };
        let payload: String = row.try_get("payload")?;
        Ok(Some(ClaimedJob {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
            attempt: row.try_get("attempts")?,
            max_attempts: row.try_get("max_attempts")?,
        }))
    }

    /// Marks a job done and drops its payload: payloads can hold personal data and one-time
    /// links (a queued mail), which a finished job no longer needs.
    pub async fn complete(&self, job: &ClaimedJob) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE jobs SET status = 'done', payload = '{}', locked_by = NULL, locked_at = NULL, last_error = NULL, \
             updated_at = $2 WHERE id = $1",
        )
        .bind(job.id)
        .bind(now_unix())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Records a failure: retried after a backoff while attempts remain, else `failed`.
    pub async fn fail(&self, job: &ClaimedJob, error: &JobError) -> Result<JobStatus, sqlx::Error> {
        let now = now_unix();
        let retry = matches!(error, JobError::Retry(_)) && job.attempt < job.max_attempts;
        let status = if retry { JobStatus::Queued } else { JobStatus::Failed };
        let run_at = now + retry_delay_seconds(job.attempt);
        let message: String = error.to_string().chars().take(2000).collect();
        sqlx::query(
            "UPDATE jobs SET status = $2, run_at = $3, last_error = $4, locked_by = NULL, locked_at = NULL, updated_at = $5 \
             WHERE id = $1",
        )
        .bind(job.id)
        .bind(status.as_str())
        .bind(run_at)
        .bind(message)
        .bind(now)
        .execute(self.db.pool())
        .await?;
        Ok(status)
    }

    /// Puts jobs whose worker died mid-run back in the queue, or marks them failed when
    /// that was their last attempt: a job that kills its worker every time (say, one that
    /// exhausts memory) would otherwise be claimed, and kill a worker, forever.
    pub async fn requeue_stale(&self) -> Result<u64, sqlx::Error> {
        let now = now_unix();
        let result = sqlx::query(
            "UPDATE jobs SET \
             status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, \
             last_error = CASE WHEN attempts >= max_attempts \
                 THEN 'worker stopped while running; no attempts left' \
                 ELSE 'worker stopped while running; requeued' END, \
             locked_by = NULL, locked_at = NULL, updated_at = $1 \
             WHERE status = 'running' AND locked_at < $2",
        )
        .bind(now)
        .bind(now - STALE_AFTER_SECONDS)
        .execute(self.db.pool())
        .await?;
        Ok(result.rows_affected())
    }

    pub async fn list(&self, status: Option<JobStatus>, limit: i64) -> Result<Vec<JobRecord>, sqlx::Error> {
        self.page(status, None, limit).await
    }

    /// Up to `limit` jobs, newest first, only those older than job `before` when given: the
    /// pages of /admin/jobs. Paging by id keeps a page steady while new jobs arrive.
    pub async fn page(
        &self,
        status: Option<JobStatus>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<JobRecord>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, kind, status, attempts, max_attempts, run_at, last_error, created_at, updated_at FROM jobs \
             WHERE ($1 = '' OR status = $1) AND id < $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(status.map(JobStatus::as_str).unwrap_or(""))
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter()
            .map(|row| {
                let status: String = row.try_get("status")?;
                Ok(JobRecord {
                    id: row.try_get("id")?,
                    kind: row.try_get("kind")?,
                    status: JobStatus::parse(&status).unwrap_or(JobStatus::Failed),
                    attempts: row.try_get("attempts")?,
                    max_attempts: row.try_get("max_attempts")?,
                    run_at: row.try_get("run_at")?,
                    last_error: row.try_get("last_error")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// How many jobs each status holds (statuses with none are left out).
    pub async fn counts(&self) -> Result<Vec<(JobStatus, i64)>, sqlx::Error> {
        let rows = sqlx::query("SELECT status, CAST(COUNT(*) AS BIGINT) AS n FROM jobs GROUP BY status")
            .fetch_all(self.db.pool())
            .await?;
        let mut counts = Vec::with_capacity(rows.len());
        for row in rows {
            let status: String = row.try_get("status")?;
            if let Some(status) = JobStatus::parse(&status) {
                counts.push((status, row.try_get("n")?));
            }
        }
        Ok(counts)
    }

    /// Status and last error of the given jobs (unknown ids are left out).
    pub async fn outcomes(&self, ids: &[i64]) -> Result<Vec<(i64, JobStatus, Option<String>)>, sqlx::Error> {
        let mut outcomes = Vec::with_capacity(ids.len());
        // Bounded IN lists: SQLite allows 32766 parameters, PostgreSQL 65535.
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT id, status, last_error FROM jobs WHERE id IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(self.db.pool()).await? {
                let status: String = row.try_get("status")?;
                outcomes.push((
                    row.try_get("id")?,
                    JobStatus::parse(&status).unwrap_or(JobStatus::Failed),
                    row.try_get("last_error")?,
                ));
            }
        }
        Ok(outcomes)
    }

    /// Sends a failed job back to the queue with fresh attempts. Returns whether it was failed.
    pub async fn retry(&self, id: i64) -> Result<bool, sqlx::Error> {
        let now = now_unix();
        let result = sqlx::query(
            "UPDATE jobs SET status = 'queued', attempts = 0, run_at = $2, updated_at = $2 WHERE id = $1 AND status = 'failed'",
        )
        .bind(id)
        .bind(now)
        .execute(self.db.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Removes finished jobs after a week (they only serve `jobs list` and /admin/jobs),
    /// and jobs that failed for good after [`FAILED_JOB_DAYS`]: a failed mail keeps its
    /// recipient and bodies in its payload for an operator's retry, but not for ever.
    pub async fn purge_finished(&self) -> Result<u64, sqlx::Error> {
        let now = now_unix();
        let result = sqlx::query(
            "DELETE FROM jobs WHERE (status = 'done' AND updated_at < $1) OR (status = 'failed' AND updated_at < $2)",
        )
        .bind(now - 7 * 24 * 3600)
        .bind(now - FAILED_JOB_DAYS * 24 * 3600)
        .execute(self.db.pool())
        .await?;
        Ok(result.rows_affected())
    }

    pub async fn retry_all_failed(&self) -> Result<u64, sqlx::Error> {
        let now = now_unix();
        let result = sqlx::query(
            "UPDATE jobs SET status = 'queued', attempts = 0, run_at = $1, updated_at = $1 WHERE status = 'failed'",
        )
        .bind(now)
        .execute(self.db.pool())
        .await?;
        Ok(result.rows_affected())
    }
}

/// 10 s, 20 s, 40 s … capped at one hour.
pub fn retry_delay_seconds(attempt: i64) -> i64 {
    let exponent = attempt.clamp(1, 12) as u32 - 1;
    (10i64 << exponent).min(3600)
}

/// The set of handlers a worker runs, by kind.
#[derive(Clone, Default)]
pub struct JobRegistry {
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
}

impl JobRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register(mut self, handler: impl JobHandler) -> Self {
        self.handlers.insert(handler.kind(), Arc::new(handler));
        self
    }

    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self.handlers.keys().copied().collect();
        kinds.sort_unstable();
        kinds
    }

    pub fn is_empty(&self) -> bool {
        self.handlers.is_empty()
    }
}

async fn insert_job(
    conn: &mut sqlx::AnyConnection,
    kind: &str,
    payload: &impl Serialize,
    run_at: i64,
    max_attempts: i64,
) -> Result<i64, sqlx::Error> {
    let payload = serde_json::to_string(payload).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let now = now_unix();
    let row = sqlx::query(
        "INSERT INTO jobs (kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at) \
         VALUES ($1, $2, 'queued', 0, $3, $4, $5, $5) RETURNING id",
    )
    .bind(kind)
    .bind(payload)
    .bind(max_attempts.max(1))
    .bind(run_at)
    .bind(now)
    .fetch_one(conn)
    .await?;
    row.try_get::<i64, _>(0)
}

/// Polls the queue and runs jobs until `shutdown` turns true; finishes the job in hand first.
pub async fn run_worker(
    queue: JobQueue,
    registry: JobRegistry,
    worker_name: String,
    poll_interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let kinds = registry.kinds();
    let mut last_stale_check = 0;
    loop {
        if *shutdown.borrow() {
            break;
        }
        if now_unix() - last_stale_check > 60 {
            last_stale_check = now_unix();
            match queue.requeue_stale().await {
                Ok(0) => {}
                Ok(count) => tracing::warn!(
                    count,
                    "requeued (or, out of attempts, failed) jobs whose worker stopped"
                ),
                Err(error) => tracing::error!(%error, "could not requeue stale jobs"),
            }
        }
        let claimed = match queue.claim(&worker_name, &kinds).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::error!(%error, "could not claim a job");
                None
            }
        };
        let Some(job) = claimed else {
            tokio::select! {
                _ = tokio::time::sleep(poll_interval) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        };
        let handler = registry.handlers.get(job.kind.as_str()).cloned();
        let span = tracing::info_span!("job", id = job.id, kind = %job.kind, attempt = job.attempt);
        async {
            let outcome = match handler {
                Some(handler) => run_caught(handler.as_ref(), &job).await,
                None => Err(JobError::Permanent(format!("no handler for job kind {}", job.kind))),
            };
            let recorded = match &outcome {
                Ok(()) => queue.complete(&job).await.map(|_| JobStatus::Done),
                Err(error) => queue.fail(&job, error).await,
            };
            match (outcome, recorded) {
                (Ok(()), Ok(_)) => tracing::info!("job done"),
                (Err(error), Ok(status)) => tracing::warn!(%error, status = status.as_str(), "job attempt failed"),
                (_, Err(error)) => tracing::error!(%error, "could not record the job outcome"),
            }
        }
        .instrument(span)
        .await;
    }
}

/// Runs a handler, turning a panic into a failed attempt (retried like any other until its
/// attempts run out). Uncaught, a panic would end this worker's loop for good, and the
/// process would quietly stop doing background work.
async fn run_caught(handler: &dyn JobHandler, job: &ClaimedJob) -> Result<(), JobError> {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(handler.run(job)).catch_unwind().await {
        Ok(outcome) => outcome,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|text| text.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            tracing::error!(%message, "job handler panicked");
            Err(JobError::Retry(format!("the handler panicked: {message}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::retry_delay_seconds;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(retry_delay_seconds(1), 10);
        assert_eq!(retry_delay_seconds(2), 20);
        assert_eq!(retry_delay_seconds(3), 40);
        assert_eq!(retry_delay_seconds(30), 3600);
    }
}
