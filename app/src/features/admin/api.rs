//! Server functions for operator pages. Each one checks the admin role itself.

use super::OutboxEntry;
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
