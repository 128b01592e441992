//! Server functions behind `/account/privacy`: what the member lets us do with their data,
//! read and saved; each saved change applies on the server before the answer returns.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// How long chat conversations are kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChatRetention {
    #[default]
    Keep,
    ThirtyDays,
    DoNotKeep,
}

impl ChatRetention {
    pub const ALL: [ChatRetention; 3] = [Self::Keep, Self::ThirtyDays, Self::DoNotKeep];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keep => "keep",
            Self::ThirtyDays => "30_days",
            Self::DoNotKeep => "none",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|retention| retention.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Keep => "Keep until I delete them",
            Self::ThirtyDays => "Delete after 30 days",
            Self::DoNotKeep => "Do not keep them",
        }
    }
}

/// What the member lets us do. The defaults are the most private choice for everything
/// that needs consent (marketing email, use of inputs) and "on" for what runs on legitimate
/// interest and can be objected to (activity history, personalisation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacySettings {
    /// Downloads and searches are recorded with the member's account (their activity history).
    pub analytics: bool,
    pub marketing_email: bool,
    /// What the member writes in the studio and chat may be used to improve the service.
    pub improve_service: bool,
    pub personalised: bool,
    pub chat_retention: ChatRetention,
}

impl Default for PrivacySettings {
    fn default() -> Self {
        Self {
            analytics: true,
            marketing_email: false,
            improve_service: false,
            personalised: true,
            chat_retention: ChatRetention::Keep,
        }
    }
}

/// Everything the privacy settings page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacyPage {
    pub settings: PrivacySettings,
    /// `small`, `full` or `original`.
    pub download_size: String,
    pub updated_at: Option<i64>,
}

/// The signed-in member's privacy settings.
#[server]
pub async fn load_privacy_settings() -> Result<PrivacyPage, AppError> {
    use crate::{
        features::accounts::{guard, service as accounts},
        platform::state::app_state,
    };
    let member = guard::require_member().await?;
    let state = app_state();
    let (settings, updated_at) = super::settings::load(&state.db, member.user_id).await?;
    let download_size = accounts::account(&state.db, member.user_id).await?.download_size;
    Ok(PrivacyPage {
        settings,
        download_size,
        updated_at,
    })
}

/// Saves the whole settings form. Checkboxes left unticked are absent from a form post,
/// so each switch is `Some` when on. Stopping a kind of processing is also recorded as a
/// tracked objection or restriction, handled at once.
#[server]
pub async fn save_privacy_settings(
    analytics: Option<String>,
    marketing_email: Option<String>,
    improve_service: Option<String>,
    personalised: Option<String>,
    chat_retention: String,
    download_size: String,
) -> Result<PrivacySettings, AppError> {
    use crate::{
        features::accounts::{guard, service as accounts},
        platform::{clock::now_unix, state::app_state},
    };
    let member = guard::require_member().await?;
    let chat_retention = ChatRetention::parse(&chat_retention).ok_or_else(|| {
        AppError::field(
            "chat_retention",
            "Choose how long to keep chats: keep, 30 days or not at all.",
        )
    })?;
    if !accounts::DOWNLOAD_SIZES.contains(&download_size.as_str()) {
        return Err(AppError::field("download_size", "Choose small, full or original."));
    }
    let settings = PrivacySettings {
        analytics: analytics.is_some(),
        marketing_email: marketing_email.is_some(),
        improve_service: improve_service.is_some(),
        personalised: personalised.is_some(),
        chat_retention,
    };
    let state = app_state();
    super::settings::save(&state.db, member.user_id, settings, &download_size, now_unix()).await?;
    Ok(settings)
}
