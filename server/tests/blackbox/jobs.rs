//! The background job queue: runs jobs once, retries with backoff, fails visibly, never
//! hands one job to two workers, and recovers jobs whose worker died (but not forever).
//! The operators' page over it, /admin/jobs, is tested in `admin_jobs`.

use crate::support;

use crate::support::spawn_app_with;
use app::platform::{
    clock::now_unix,
    jobs::{ClaimedJob, JobError, JobFuture, JobHandler, JobQueue, JobRegistry, JobStatus},
};
use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicU32, Ordering},
        Arc,
    },
    time::Duration,
};

struct Counting {
    runs: Arc<AtomicU32>,
}

impl JobHandler for Counting {
    fn kind(&self) -> &'static str {
        "test.count"
    }
    fn run<'a>(&'a self, job: &'a ClaimedJob) -> JobFuture<'a> {
        Box::pin(async move {
            let payload: serde_json::Value = job.payload()?;
            assert_eq!(payload["n"], 7);
            self.runs.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }
}

/// An app whose workers are off, so the test drives the queue by hand.
async fn queue_only_app() -> support::TestApp {
    spawn_app_with(
        |values| {
            values.insert("ATELIER_JOB_WORKERS".into(), "0".into());
        },
        JobRegistry::new(),
    )
    .await
}

async fn status_of(queue: &JobQueue, id: i64) -> JobStatus {
    queue
        .list(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.id == id)
        .unwrap()
        .status
}

/// Whether the job is done within 10 s.
async fn finishes(queue: &JobQueue, id: i64) -> bool {
    for _ in 0..100 {
        if status_of(queue, id).await == JobStatus::Done {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_job_runs_once_and_is_marked_done() {
    let runs = Arc::new(AtomicU32::new(0));
    let registry = JobRegistry::new().register(Counting { runs: runs.clone() });
    let app = spawn_app_with(|_| {}, registry).await;
    let id = app
        .state
        .jobs
        .enqueue("test.count", &serde_json::json!({ "n": 7 }))
        .await
        .unwrap();
    let done = finishes(&app.state.jobs, id).await;
    assert!(done, "the worker finished the job");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1, "exactly once");
    app.stop().await;
}

#[tokio::test]
async fn failures_retry_with_backoff_then_fail_visibly_and_can_be_retried() {
    let app = queue_only_app().await;
    let queue = &app.state.jobs;
    let id = queue
        .enqueue_at("test.flaky", &serde_json::json!({}), now_unix(), 2)
        .await
        .unwrap();

    let job = queue.claim("w1", &["test.flaky"]).await.unwrap().unwrap();
    assert_eq!((job.id, job.attempt), (id, 1));
    let status = queue
        .fail(&job, &JobError::Retry("upstream timed out".into()))
        .await
        .unwrap();
    assert_eq!(status, JobStatus::Queued);
    assert!(
        queue.claim("w1", &["test.flaky"]).await.unwrap().is_none(),
        "not due until the backoff passes"
    );
    let record = queue
        .list(None, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.id == id)
        .unwrap();
    assert!(
        record.run_at >= now_unix() + 5,
        "backoff pushed the next run into the future"
    );

    sqlx::query("UPDATE jobs SET run_at = 0 WHERE id = $1")
        .bind(id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let job = queue.claim("w1", &["test.flaky"]).await.unwrap().unwrap();
    assert_eq!(job.attempt, 2);
    let status = queue.fail(&job, &JobError::Retry("still down".into())).await.unwrap();
    assert_eq!(status, JobStatus::Failed, "attempts are exhausted");
    let failed = queue.list(Some(JobStatus::Failed), 10).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].last_error.as_deref(), Some("still down"));

    assert!(queue.retry(id).await.unwrap());
    assert_eq!(status_of(queue, id).await, JobStatus::Queued);
    assert!(!queue.retry(id).await.unwrap(), "only failed jobs can be retried");
    app.stop().await;
}

#[tokio::test]
async fn permanent_errors_fail_at_once() {
    let app = queue_only_app().await;
    let queue = &app.state.jobs;
    queue.enqueue("test.bad", &serde_json::json!({})).await.unwrap();
    let job = queue.claim("w", &["test.bad"]).await.unwrap().unwrap();
    assert_eq!(
        queue
            .fail(&job, &JobError::Permanent("bad payload".into()))
            .await
            .unwrap(),
        JobStatus::Failed
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_workers_never_claim_the_same_job() {
    let app = queue_only_app().await;
    for n in 0..30 {
        app.state
            .jobs
            .enqueue("test.race", &serde_json::json!({ "n": n }))
            .await
            .unwrap();
    }
    let mut workers = Vec::new();
    for w in 0..4 {
        let queue = app.state.jobs.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(job) = queue.claim(&format!("w{w}"), &["test.race"]).await.unwrap() {
                mine.push(job.id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.unwrap());
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 30, "every job claimed");
    assert_eq!(distinct.len(), 30, "no job claimed twice");
    app.stop().await;
}

#[tokio::test]
async fn jobs_of_a_dead_worker_are_requeued_and_unknown_kinds_left_alone() {
    let app = queue_only_app().await;
    let queue = &app.state.jobs;
    let id = queue.enqueue("test.stale", &serde_json::json!({})).await.unwrap();
    assert!(queue.claim("w", &["some.other.kind"]).await.unwrap().is_none());
    queue.claim("w", &["test.stale"]).await.unwrap().unwrap();
    assert_eq!(queue.requeue_stale().await.unwrap(), 0, "a fresh claim is not stale");
    sqlx::query("UPDATE jobs SET locked_at = $1 WHERE id = $2")
        .bind(now_unix() - 3600)
        .bind(id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(queue.requeue_stale().await.unwrap(), 1);
    assert_eq!(status_of(queue, id).await, JobStatus::Queued);
    app.stop().await;
}

#[tokio::test]
async fn a_job_whose_worker_dies_on_its_last_attempt_fails_instead_of_running_forever() {
    let app = queue_only_app().await;
    let queue = &app.state.jobs;
    let id = queue
        .enqueue_at("test.crashes", &serde_json::json!({}), now_unix(), 2)
        .await
        .unwrap();
    for attempt in 1..=2 {
        let job = queue
            .claim("w", &["test.crashes"])
            .await
            .unwrap()
            .expect("the job is due");
        assert_eq!(job.attempt, attempt);
        // The worker died mid-run long enough ago to count as stale.
        sqlx::query("UPDATE jobs SET locked_at = $1 WHERE id = $2")
            .bind(now_unix() - 3600)
            .bind(id)
            .execute(app.state.db.pool())
            .await
            .unwrap();
        assert_eq!(queue.requeue_stale().await.unwrap(), 1);
    }
    let failed = queue.list(Some(JobStatus::Failed), 10).await.unwrap();
    assert_eq!(
        failed.len(),
        1,
        "out of attempts, it failed rather than went back to the queue"
    );
    assert_eq!((failed[0].id, failed[0].attempts), (id, 2));
    assert!(
        failed[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("no attempts left"),
        "{:?}",
        failed[0].last_error
    );
    assert!(
        queue.claim("w", &["test.crashes"]).await.unwrap().is_none(),
        "never claimed again"
    );
    app.stop().await;
}

/// Panics on its first run, succeeds after.
struct PanicsOnce {
    runs: Arc<AtomicU32>,
}

impl JobHandler for PanicsOnce {
    fn kind(&self) -> &'static str {
        "test.panics_once"
    }
    fn run<'a>(&'a self, _job: &'a ClaimedJob) -> JobFuture<'a> {
        Box::pin(async move {
            if self.runs.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("a handler bug");
            }
            Ok(())
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_fails_its_attempt_and_the_worker_keeps_working() {
    let panics = Arc::new(AtomicU32::new(0));
    let counted = Arc::new(AtomicU32::new(0));
    let registry = JobRegistry::new()
        .register(PanicsOnce { runs: panics.clone() })
        .register(Counting { runs: counted.clone() });
    // One worker: if the panic ended it, nothing else would ever run.
    let app = spawn_app_with(|_| {}, registry).await;
    let panicking = app
        .state
        .jobs
        .enqueue("test.panics_once", &serde_json::json!({}))
        .await
        .unwrap();
    let mut failed_once = false;
    for _ in 0..100 {
        let job = app
            .state
            .jobs
            .list(None, 1000)
            .await
            .unwrap()
            .into_iter()
            .find(|j| j.id == panicking)
            .unwrap();
        if job.status == JobStatus::Queued && job.attempts == 1 {
            assert!(
                job.last_error.as_deref().unwrap_or_default().contains("a handler bug"),
                "{job:?}"
            );
            failed_once = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        failed_once,
        "the panic became a failed attempt, queued again with backoff"
    );
    let id = app
        .state
        .jobs
        .enqueue("test.count", &serde_json::json!({ "n": 7 }))
        .await
        .unwrap();
    let done = finishes(&app.state.jobs, id).await;
    assert!(done, "the same worker went on to the next job");
    assert_eq!(counted.load(Ordering::SeqCst), 1);
    app.stop().await;
}

#[tokio::test]
async fn jobs_that_failed_for_good_are_purged_after_thirty_days() {
    let app = queue_only_app().await;
    let queue = &app.state.jobs;
    let mut ids = Vec::new();
    for age_days in [29, 31] {
        let id = queue
            .enqueue_at(
                "test.dead",
                &serde_json::json!({ "to": "ada@example.org" }),
                now_unix(),
                1,
            )
            .await
            .unwrap();
        let job = queue.claim("w1", &["test.dead"]).await.unwrap().unwrap();
        let status = queue
            .fail(&job, &JobError::Permanent("550 no such mailbox".into()))
            .await
            .unwrap();
        assert_eq!(status, JobStatus::Failed);
        sqlx::query("UPDATE jobs SET updated_at = $1 WHERE id = $2")
            .bind(now_unix() - age_days * 24 * 3600)
            .bind(id)
            .execute(app.state.db.pool())
            .await
            .unwrap();
        ids.push(id);
    }
    assert_eq!(queue.purge_finished().await.unwrap(), 1);
    let left: Vec<i64> = queue
        .list(None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|job| job.id)
        .collect();
    assert_eq!(
        left,
        vec![ids[0]],
        "the 29-day-old failure stays for an operator to retry"
    );
    app.stop().await;
}
