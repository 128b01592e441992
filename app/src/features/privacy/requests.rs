//! Tracked data requests: every export or deletion a member asks for is a row with its
//! kind, status, the date the law gives us to answer and what came of it.

use super::data_api::RequestInfo;
use crate::platform::db::Database;
use sqlx::{AnyConnection, Row};

/// GDPR gives a month to answer, California's CCPA 45 days. We do not ask where members
/// live, so every request is due by the stricter of the two: 30 days.
pub const DUE_DAYS: i64 = 30;
const DAY: i64 = 86_400;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Export,
    Deletion,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Export => "export",
            Kind::Deletion => "deletion",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Open,
    Done,
    Withdrawn,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Done => "done",
            Status::Withdrawn => "withdrawn",
            Status::Failed => "failed",
        }
    }
}

/// Opens a request inside the caller's transaction and returns its id.
pub async fn open(conn: &mut AnyConnection, user_id: i64, kind: Kind, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO data_requests (user_id, kind, status, created_at, due_at) VALUES ($1, $2, 'open', $3, $4) \
         RETURNING id",
    )
    .bind(user_id)
    .bind(kind.as_str())
    .bind(now)
    .bind(now + DUE_DAYS * DAY)
    .fetch_one(conn)
    .await
}

/// Closes an open request with its outcome. A request already closed is left as it was,
/// so a job that runs twice records one outcome.
pub async fn close(
    conn: &mut AnyConnection,
    request_id: i64,
    status: Status,
    outcome: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE data_requests SET status = $2, outcome = $3, closed_at = $4 WHERE id = $1 AND status = 'open'",
    )
    .bind(request_id)
    .bind(status.as_str())
    .bind(outcome)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The member's requests, newest first.
pub async fn list(db: &Database, user_id: i64) -> Result<Vec<RequestInfo>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT kind, status, created_at, due_at, closed_at, outcome FROM data_requests \
         WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 50",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(RequestInfo {
                kind: row.try_get("kind")?,
                status: row.try_get("status")?,
                created_at: row.try_get("created_at")?,
                due_at: row.try_get("due_at")?,
                closed_at: row.try_get("closed_at")?,
                outcome: row.try_get("outcome")?,
            })
        })
        .collect()
}
