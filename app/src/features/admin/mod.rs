//! Operator pages, for admins only: the mail outbox of the embedded mail transport, the
//! queue of data requests that need a person, and the background job queue.

use serde::{Deserialize, Serialize};

pub mod api;
#[cfg(feature = "ssr")]
pub mod jobs;
pub mod jobs_view;
pub mod requests_view;
pub mod views;

/// One message in the outbox, as /admin/outbox lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: i64,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub created_at: i64,
}

/// The filters /admin/jobs offers (`?status=`), in the order it shows them: failed first,
/// and the default, because those are the jobs that need a person.
pub const JOB_FILTERS: [(&str, &str); 5] = [
    ("failed", "Failed"),
    ("queued", "Queued"),
    ("running", "Running"),
    ("done", "Done"),
    ("all", "All"),
];

/// One background job as /admin/jobs lists it: what it is and how it went, never its
/// payload (a queued mail's payload holds the recipient and one-time links).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobEntry {
    pub id: i64,
    pub kind: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub updated_at: i64,
    /// The last failure as the handler worded it; it can name a recipient (see
    /// `jobs::entry`).
    pub last_error: Option<String>,
}

/// One page of /admin/jobs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobList {
    /// The filter shown: one of [`JOB_FILTERS`]' keys.
    pub status: String,
    /// Newest first.
    pub jobs: Vec<JobEntry>,
    /// How many jobs each status holds, by [`JOB_FILTERS`] key (`all` included).
    pub counts: Vec<(String, i64)>,
    /// The page started below this job id; `None` on the first page.
    pub before: Option<i64>,
    /// The `before` of the next, older page; `None` on the last page.
    pub older: Option<i64>,
}
