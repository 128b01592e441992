//! Server functions for chat pages: list, start, load, rename and delete conversations.
//! Replies themselves stream from a plain route (`POST /chat/{id}/messages`), because a
//! server function's answer arrives whole.

use super::{ChatList, Conversation};
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
mod server {
    use super::super::{persona::Persona, service, Availability};
    use crate::{
        error::AppError,
        features::privacy::{settings, settings_api::ChatRetention},
        platform::state::AppState,
    };

    /// Whether chat can answer, and what the member has left today.
    pub async fn availability(state: &AppState, user_id: i64) -> Result<Availability, AppError> {
        let Some(provider) = &state.chat else {
            return Ok(Availability::NotConfigured);
        };
        let now = crate::platform::clock::now_unix();
        let free_daily = service::free_daily(&state.db, user_id, provider.settings().free_daily).await?;
        let used = service::used_today(&state.db, user_id, now).await?;
        let balance = crate::features::billing::ledger::balance(&state.db, user_id)
            .await
            .map_err(service::ChatError::from)?;
        Ok(Availability::Ready {
            free_left: free_daily.saturating_sub(used),
            free_daily,
            balance,
        })
    }

    /// How long the member's conversations are kept, in their words.
    pub async fn retention(state: &AppState, user_id: i64) -> Result<String, AppError> {
        let (settings, _) = settings::load(&state.db, user_id).await?;
        Ok(match settings.chat_retention {
            ChatRetention::Keep => "Conversations are kept until you delete them.",
            ChatRetention::ThirtyDays => "Conversations are deleted 30 days after their last message.",
            ChatRetention::DoNotKeep => "Conversations are deleted an hour after their last message.",
        }
        .to_owned())
    }

    pub async fn persona_of(state: &AppState, contributor_id: i64) -> Result<Persona, AppError> {
        super::super::persona::by_id(&state.db, contributor_id)
            .await?
            .ok_or(AppError::NotFound)
    }
}

#[cfg(feature = "ssr")]
pub use server::{availability, persona_of};

/// The signed-in member's conversations, most recent first.
#[server]
pub async fn load_chat_list() -> Result<ChatList, AppError> {
    let state = crate::platform::state::app_state();
    let member = crate::features::accounts::guard::require_member().await?;
    Ok(ChatList {
        conversations: super::service::list(&state.db, member.user_id).await?,
        availability: server::availability(&state, member.user_id).await?,
        retention: server::retention(&state, member.user_id).await?,
    })
}

/// Starts a conversation with the contributor `contributor` (a slug) and returns its id;
/// a plain form post goes straight to it.
#[server]
pub async fn start_chat(contributor: String) -> Result<String, AppError> {
    use crate::features::accounts::guard;
    let state = crate::platform::state::app_state();
    let member = guard::require_member().await?;
    guard::require_verified_email(&member)?;
    let persona = if contributor.len() > 64 {
        None
    } else {
        super::persona::by_slug(&state.db, &contributor).await?
    };
    let persona = persona.ok_or_else(|| AppError::Invalid("There is no such contributor to talk to.".into()))?;
    let public_id =
        super::service::start(&state.db, member.user_id, &persona, crate::platform::clock::now_unix()).await?;
    crate::platform::request::back_to(&super::conversation_href(&public_id));
    Ok(public_id)
}

/// One of the member's conversations with every message, or `None` when they have no such
/// conversation.
#[server]
pub async fn load_conversation(id: String) -> Result<Option<Conversation>, AppError> {
    let state = crate::platform::state::app_state();
    let member = crate::features::accounts::guard::require_member().await?;
    // Not found is an answer, not a failure, so a script can tell the two apart; the page
    // renders `NotFound`, which sets the 404 status.
    let owned = match super::service::owned(&state.db, member.user_id, &id).await {
        Ok(owned) => owned,
        Err(super::service::ChatError::NotFound) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let persona = server::persona_of(&state, owned.contributor_id).await?;
    Ok(Some(Conversation {
        public_id: id,
        title: owned.title,
        partner: super::service::partner(&persona),
        messages: super::service::messages(&state.db, owned.id).await?,
        availability: server::availability(&state, member.user_id).await?,
        retention: server::retention(&state, member.user_id).await?,
    }))
}

/// Renames one of the member's conversations; returns the title as stored.
#[server]
pub async fn rename_chat(id: String, title: String) -> Result<String, AppError> {
    let state = crate::platform::state::app_state();
    let member = crate::features::accounts::guard::require_member().await?;
    let title = super::service::rename(
        &state.db,
        member.user_id,
        &id,
        &title,
        crate::platform::clock::now_unix(),
    )
    .await
    .map_err(|error| match error {
        super::service::ChatError::Invalid(message) => AppError::field("title", message),
        other => other.into(),
    })?;
    crate::platform::request::back_to(&super::conversation_href(&id));
    Ok(title)
}

/// Deletes one of the member's conversations and every message in it, at once.
#[server]
pub async fn delete_chat(id: String) -> Result<(), AppError> {
    let state = crate::platform::state::app_state();
    let member = crate::features::accounts::guard::require_member().await?;
    super::service::delete(&state.db, member.user_id, &id, crate::platform::clock::now_unix()).await?;
    crate::platform::request::back_to("/chat?deleted=1");
    Ok(())
}
