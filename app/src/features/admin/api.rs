//! Server functions for operator pages. Each one checks the admin role itself.

use super::{JobList, OutboxEntry};
use crate::error::AppError;
use leptos::prelude::*;

/// The newest outbox messages, optionally for one recipient. Admins only.
#[server]
pub async fn outbox_messages(to: Option<String>) -> Result<Vec<OutboxEntry>, AppError> {
    use crate::features::accounts::{guard, Role};
    use crate::platform::{mail::outbox, state::app_state};
    guard::require_role(Role::Admin).await?;
    let state = app_state();
    let to = to.filter(|address| !address.trim().is_empty());
    let mails = outbox::latest(&state.db, to.as_deref(), 100).await?;
    Ok(mails
        .into_iter()
        .map(|mail| OutboxEntry {
            id: mail.id,
            to: mail.to,
            subject: mail.subject,
            text: mail.text,
            created_at: mail.created_at,
        })
        .collect())
}

/// A data request waiting for a person (a correction, or an appeal against a refusal).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WaitingRequest {
    pub request: crate::features::privacy::data_api::RequestInfo,
    /// The member's address; `None` once the account is deleted.
    pub email: Option<String>,
    pub answer_by: i64,
}

/// Corrections and appeals waiting for an answer, the soonest due first. Admins only.
#[server]
pub async fn waiting_requests() -> Result<Vec<WaitingRequest>, AppError> {
    use crate::features::{accounts::guard, accounts::Role, privacy::requests};
    use crate::platform::state::app_state;
    guard::require_role(Role::Admin).await?;
    Ok(requests::waiting(&app_state().db)
        .await?
        .into_iter()
        .map(|waiting| WaitingRequest {
            request: waiting.request,
            email: waiting.email,
            answer_by: waiting.answer_by,
        })
        .collect())
}

/// Grants or refuses a waiting correction or appeal; the member is told by email and on
/// their data page. Admins only.
#[server]
pub async fn decide_request(request_id: i64, decision: String, outcome: String) -> Result<(), AppError> {
    use crate::features::{
        accounts::{guard, Role},
        privacy::requests::{self, Decision},
    };
    use crate::platform::{clock::now_unix, mail, state::app_state};
    guard::require_role(Role::Admin).await?;
    let decision = match decision.as_str() {
        "grant" => Decision::Grant,
        "refuse" => Decision::Refuse,
        _ => return Err(AppError::field("decision", "Choose to grant or to refuse.")),
    };
    let state = app_state();
    requests::decide(&state.db, request_id, decision, &outcome, now_unix()).await?;
    let answered = requests::answered(&state.db, request_id).await?;
    if let Some((email, what)) = answered {
        mail::send(
            &state.jobs,
            mail::templates::request_answered(
                &state.config.site_name,
                &email,
                what,
                outcome.trim(),
                &format!("{}/account/data#requests", state.config.public_url),
            ),
        )
        .await?;
    }
    Ok(())
}

/// One page of background jobs, newest first: failed ones unless `status` says otherwise
/// (`queued`, `running`, `done` or `all`), older than job `before` when given. Admins only.
#[server]
pub async fn list_jobs(status: Option<String>, before: Option<i64>) -> Result<JobList, AppError> {
    use crate::features::accounts::{guard, Role};
    use crate::platform::state::app_state;
    guard::require_role(Role::Admin).await?;
    let status = super::jobs::filter(status.as_deref())?;
    super::jobs::list(&app_state().jobs, status, before).await
}

/// Sends a failed job back to the queue with fresh attempts. Admins only. Posted by a plain
/// form as well, so it works before the page hydrates.
#[server]
pub async fn retry_job(id: i64) -> Result<(), AppError> {
    use crate::features::accounts::{guard, Role};
    use crate::platform::state::app_state;
    let admin = guard::require_role(Role::Admin).await?;
    super::jobs::retry(&app_state().jobs, id).await?;
    tracing::info!(
        job = id,
        admin = admin.user_id,
        "failed job sent back to the queue from /admin/jobs"
    );
    Ok(())
}
