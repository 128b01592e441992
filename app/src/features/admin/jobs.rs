//! The background job queue as /admin/jobs shows it: one page of jobs per status, newest
//! first, and an operator's retry of a failed job. The queue's SQL stays in
//! `platform::jobs`, so this page and `server jobs` read and retry jobs the same way.

use super::{JobEntry, JobList, JOB_FILTERS};
use crate::{
    error::AppError,
    platform::jobs::{JobQueue, JobRecord, JobStatus},
};

/// Jobs on one page.
pub const PAGE_SIZE: i64 = 50;

/// The status a `?status=` value asks for: failed when none is given (what needs a person),
/// every status for `all`.
pub fn filter(raw: Option<&str>) -> Result<Option<JobStatus>, AppError> {
    match raw.map(str::trim).filter(|raw| !raw.is_empty()) {
        None => Ok(Some(JobStatus::Failed)),
        Some("all") => Ok(None),
        Some(raw) => JobStatus::parse(raw)
            .map(Some)
            .ok_or_else(|| AppError::Invalid("Choose failed, queued, running, done or all jobs.".into())),
    }
}

/// One page of jobs with `status` (all when `None`), below job `before` when given.
pub async fn list(queue: &JobQueue, status: Option<JobStatus>, before: Option<i64>) -> Result<JobList, AppError> {
    let mut records = queue.page(status, before, PAGE_SIZE + 1).await?;
    let older = if records.len() as i64 > PAGE_SIZE {
        records.truncate(PAGE_SIZE as usize);
        records.last().map(|record| record.id)
    } else {
        None
    };
    let by_status = queue.counts().await?;
    let counts: Vec<(String, i64)> = JOB_FILTERS
        .iter()
        .map(|(key, _)| {
            let count: i64 = match JobStatus::parse(key) {
                Some(wanted) => by_status
                    .iter()
                    .filter(|(status, _)| *status == wanted)
                    .map(|(_, n)| n)
                    .sum(),
                None => by_status.iter().map(|(_, n)| n).sum(),
            };
            ((*key).to_owned(), count)
        })
        .collect();
    Ok(JobList {
        status: status.map(JobStatus::as_str).unwrap_or("all").to_owned(),
        jobs: records.into_iter().map(entry).collect(),
        counts,
        before,
        older,
    })
}

/// What an operator sees of a job: never the payload, which for a mail holds the
/// recipient, the message and its one-time links.
///
/// The error is shown in full although it can name a person: a mail provider's refusal
/// quotes the recipient (SMTP servers answer `550 5.1.1 <ada@example.org>: user unknown`,
/// HTTP providers echo the address in their JSON). We show it anyway, because it is what
/// tells an operator why the mail failed and whether a retry can help, and this page is
/// for admins only (`require_role(Role::Admin)` in its server functions), who already read
/// recipients at /admin/outbox and /admin/requests. It is not logged or sent anywhere else.
fn entry(record: JobRecord) -> JobEntry {
    JobEntry {
        id: record.id,
        kind: record.kind,
        status: record.status.as_str().to_owned(),
        attempts: record.attempts,
        max_attempts: record.max_attempts,
        run_at: record.run_at,
        updated_at: record.updated_at,
        last_error: record.last_error,
    }
}

/// Sends a failed job back to the queue with fresh attempts, through the queue's own retry
/// (the same one `server jobs retry` uses). Its `UPDATE … WHERE status = 'failed'` makes
/// this happen once however many retries race: the others find the job queued, running or
/// done and are told so.
pub async fn retry(queue: &JobQueue, id: i64) -> Result<(), AppError> {
    if queue.retry(id).await? {
        return Ok(());
    }
    match queue.outcomes(&[id]).await?.into_iter().next() {
        None => Err(AppError::NotFound),
        Some((_, status, _)) => Err(AppError::Invalid(format!(
            "Job #{id} is {}, not failed: only a failed job can be retried.",
            status.as_str()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::filter;
    use crate::platform::jobs::JobStatus;

    #[test]
    fn failed_jobs_are_the_default_filter_and_unknown_ones_are_refused() {
        assert_eq!(filter(None).unwrap(), Some(JobStatus::Failed));
        assert_eq!(filter(Some(" ")).unwrap(), Some(JobStatus::Failed));
        assert_eq!(filter(Some("all")).unwrap(), None);
        assert_eq!(filter(Some("done")).unwrap(), Some(JobStatus::Done));
        assert!(filter(Some("stuck")).is_err());
    }
}
