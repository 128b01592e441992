//! Tracked data requests: every export, deletion, correction, objection or restriction a
//! member asks for is a row with its kind, status, the date the law gives us to answer and
//! what came of it; a refused request can be appealed once, and staff answer what needs a
//! person (corrections and appeals) from a queue.

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
    Correction,
    Objection,
    Restriction,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Export => "export",
            Kind::Deletion => "deletion",
            Kind::Correction => "correction",
            Kind::Objection => "objection",
            Kind::Restriction => "restriction",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Open,
    Done,
    Withdrawn,
    Failed,
    Refused,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Done => "done",
            Status::Withdrawn => "withdrawn",
            Status::Failed => "failed",
            Status::Refused => "refused",
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

/// Withdraws the member's open corrections (their account is going).
pub async fn withdraw_open(
    conn: &mut AnyConnection,
    user_id: i64,
    outcome: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE data_requests SET status = 'withdrawn', outcome = $1, closed_at = $2 \
         WHERE user_id = $3 AND kind = 'correction' AND status = 'open'",
    )
    .bind(outcome)
    .bind(now)
    .bind(user_id)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Records a request that was handled the moment it was made (a settings switch), with
/// what the member asked for and what was done.
pub async fn record_handled(
    conn: &mut AnyConnection,
    user_id: i64,
    kind: Kind,
    details: &str,
    outcome: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO data_requests (user_id, kind, status, created_at, due_at, closed_at, outcome, details) \
         VALUES ($1, $2, 'done', $3, $4, $3, $5, $6) RETURNING id",
    )
    .bind(user_id)
    .bind(kind.as_str())
    .bind(now)
    .bind(now + DUE_DAYS * DAY)
    .bind(outcome)
    .bind(details)
    .fetch_one(conn)
    .await
}

const COLUMNS: &str = "id, kind, status, created_at, due_at, closed_at, outcome, details, appeal, appealed_at, \
                       appeal_status, appeal_outcome";

fn info(row: &sqlx::any::AnyRow) -> Result<RequestInfo, sqlx::Error> {
    Ok(RequestInfo {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        status: row.try_get("status")?,
        created_at: row.try_get("created_at")?,
        due_at: row.try_get("due_at")?,
        closed_at: row.try_get("closed_at")?,
        outcome: row.try_get("outcome")?,
        details: row.try_get("details")?,
        appeal: row.try_get("appeal")?,
        appealed_at: row.try_get("appealed_at")?,
        appeal_status: row.try_get("appeal_status")?,
        appeal_outcome: row.try_get("appeal_outcome")?,
    })
}

/// The member's requests, newest first.
pub async fn list(db: &Database, user_id: i64) -> Result<Vec<RequestInfo>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM data_requests WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 50"
    ))
    .bind(user_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(info).collect()
}

/// Longest correction or appeal a member can write, and the most corrections waiting at once.
pub const TEXT_MAX: usize = 2000;
pub const OPEN_CORRECTIONS_MAX: i64 = 3;
/// Appeals are answered within the same 30 days as requests.
const APPEAL_DUE: i64 = DUE_DAYS * DAY;

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    /// No such request of this member's, or nothing about it is waiting.
    #[error("that request is not waiting for this")]
    NotFound,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn written(field: &'static str, text: &str, what: &str) -> Result<String, RequestError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(RequestError::Invalid {
            field,
            message: format!("Write {what}."),
        });
    }
    if text.chars().count() > TEXT_MAX {
        return Err(RequestError::Invalid {
            field,
            message: format!("Keep it under {TEXT_MAX} characters."),
        });
    }
    Ok(text.to_owned())
}

/// Asks staff to correct something the member cannot edit themselves.
pub async fn ask_correction(db: &Database, user_id: i64, details: &str, now: i64) -> Result<i64, RequestError> {
    let details = written("details", details, "what is wrong and what it should say")?;
    let mut tx = db.pool().begin().await?;
    // Requests at once would each count the same corrections waiting.
    crate::platform::db::lock_member(&mut tx, db.backend(), user_id).await?;
    let waiting: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM data_requests WHERE user_id = $1 AND kind = 'correction' AND status = 'open'",
    )
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await?;
    if waiting >= OPEN_CORRECTIONS_MAX {
        return Err(RequestError::Invalid {
            field: "details",
            message: format!(
                "You have {waiting} corrections waiting for an answer. Please wait for one before asking for another."
            ),
        });
    }
    let id = open(&mut tx, user_id, Kind::Correction, now).await?;
    sqlx::query("UPDATE data_requests SET details = $1 WHERE id = $2")
        .bind(details)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// Appeals a refused request, once: the request goes back to staff with the member's text.
pub async fn appeal(db: &Database, user_id: i64, request_id: i64, text: &str, now: i64) -> Result<(), RequestError> {
    let text = written("appeal", text, "why the refusal should be looked at again")?;
    let result = sqlx::query(
        "UPDATE data_requests SET appeal = $1, appealed_at = $2, appeal_status = 'open' \
         WHERE id = $3 AND user_id = $4 AND status = 'refused' AND appeal_status IS NULL",
    )
    .bind(text)
    .bind(now)
    .bind(request_id)
    .bind(user_id)
    .execute(db.pool())
    .await?;
    if result.rows_affected() == 0 {
        return Err(RequestError::NotFound);
    }
    Ok(())
}

/// A request waiting for a person, as the staff queue shows it.
#[derive(Clone, Debug)]
pub struct Waiting {
    pub request: RequestInfo,
    pub email: Option<String>,
    /// When the answer is due: the request's date, or the appeal's.
    pub answer_by: i64,
}

/// Corrections waiting for an answer and open appeals, the soonest due first.
pub async fn waiting(db: &Database) -> Result<Vec<Waiting>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT * FROM (SELECT {COLUMNS}, \
         CASE WHEN appeal_status = 'open' THEN appealed_at + {APPEAL_DUE} ELSE due_at END AS answer_by, \
         (SELECT email FROM users WHERE users.id = data_requests.user_id) AS email \
         FROM data_requests WHERE appeal_status = 'open' OR (kind = 'correction' AND status = 'open')) AS waiting \
         ORDER BY answer_by, id LIMIT 200"
    ))
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Waiting {
                request: info(row)?,
                email: row.try_get("email")?,
                answer_by: row.try_get("answer_by")?,
            })
        })
        .collect()
}

/// What staff decided about a waiting request or appeal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The correction is made, or the appeal upheld (the request is then done).
    Grant,
    /// The correction is refused, or the appeal rejected; the outcome says why.
    Refuse,
}

/// Answers a waiting appeal, or else a waiting correction, with the outcome the member
/// will read. Answering something no longer waiting changes nothing and says so.
pub async fn decide(
    db: &Database,
    request_id: i64,
    decision: Decision,
    outcome: &str,
    now: i64,
) -> Result<(), RequestError> {
    let outcome = written("outcome", outcome, "the answer the member will read")?;
    let mut tx = db.pool().begin().await?;
    let appeal = match decision {
        Decision::Grant => {
            "UPDATE data_requests SET appeal_status = 'upheld', appeal_outcome = $1, appeal_closed_at = $2, \
             status = 'done', closed_at = $2 WHERE id = $3 AND appeal_status = 'open'"
        }
        Decision::Refuse => {
            "UPDATE data_requests SET appeal_status = 'rejected', appeal_outcome = $1, appeal_closed_at = $2 \
             WHERE id = $3 AND appeal_status = 'open'"
        }
    };
    let mut changed = sqlx::query(appeal)
        .bind(&outcome)
        .bind(now)
        .bind(request_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if !changed {
        let status = match decision {
            Decision::Grant => Status::Done,
            Decision::Refuse => Status::Refused,
        };
        changed = sqlx::query(
            "UPDATE data_requests SET status = $1, outcome = $2, closed_at = $3 \
             WHERE id = $4 AND kind = 'correction' AND status = 'open'",
        )
        .bind(status.as_str())
        .bind(&outcome)
        .bind(now)
        .bind(request_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
    }
    if !changed {
        return Err(RequestError::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

/// Who to tell about an answered request, and what to call it: `None` when the account is
/// gone.
pub async fn answered(db: &Database, request_id: i64) -> Result<Option<(String, &'static str)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT users.email, data_requests.kind, data_requests.appeal_status FROM data_requests \
         JOIN users ON users.id = data_requests.user_id WHERE data_requests.id = $1",
    )
    .bind(request_id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let appealed: Option<String> = row.try_get("appeal_status")?;
    let kind: String = row.try_get("kind")?;
    let what = match (appealed, kind.as_str()) {
        (Some(_), _) => "appeal",
        (None, "correction") => "correction request",
        (None, _) => "request",
    };
    Ok(Some((row.try_get("email")?, what)))
}
