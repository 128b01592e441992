//! Server functions behind "Your data": what is held, exports, and account deletion.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One category of data held about the member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldCategory {
    pub name: String,
    pub data: String,
    pub records: i64,
    pub retention: String,
    pub exported: bool,
    /// Where the member can see or correct it, when they can.
    pub manage: Option<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportInfo {
    pub id: i64,
    /// `queued`, `building`, `ready`, `failed` or `expired`.
    pub status: String,
    pub progress: i64,
    pub size_bytes: Option<i64>,
    pub created_at: i64,
    pub ready_at: Option<i64>,
    pub expires_at: Option<i64>,
}

impl ExportInfo {
    pub fn in_progress(&self) -> bool {
        matches!(self.status.as_str(), "queued" | "building")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestInfo {
    pub id: i64,
    /// `export`, `deletion`, `correction`, `objection` or `restriction`.
    pub kind: String,
    /// `open`, `done`, `withdrawn`, `failed` or `refused`.
    pub status: String,
    pub created_at: i64,
    pub due_at: i64,
    pub closed_at: Option<i64>,
    pub outcome: Option<String>,
    /// What the member wrote or switched off.
    pub details: Option<String>,
    pub appeal: Option<String>,
    pub appealed_at: Option<i64>,
    /// `open`, `upheld` or `rejected` once appealed.
    pub appeal_status: Option<String>,
    pub appeal_outcome: Option<String>,
}

impl RequestInfo {
    /// A refused request may be appealed once.
    pub fn can_appeal(&self) -> bool {
        self.status == "refused" && self.appeal_status.is_none()
    }

    pub fn kind_label(&self) -> &'static str {
        match self.kind.as_str() {
            "export" => "Export",
            "deletion" => "Account deletion",
            "correction" => "Correction",
            "objection" => "Objection",
            "restriction" => "Restriction",
            _ => "Request",
        }
    }
}

/// Everything the "Your data" page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataOverview {
    pub categories: Vec<HeldCategory>,
    pub exports: Vec<ExportInfo>,
    pub requests: Vec<RequestInfo>,
    /// When the account will be deleted, if the member asked.
    pub deletion_due: Option<i64>,
    pub grace_days: u32,
    /// When another export may be asked for, if not now.
    pub next_export_at: Option<i64>,
}

/// Where a category can be seen or corrected by the member.
#[cfg(feature = "ssr")]
fn manage_link(category: &str) -> Option<(String, String)> {
    let (label, href) = match category {
        "Account identity" | "Profile" | "Avatar" | "Password" => ("Edit on your account page", "/account"),
        "Sessions" => ("See and end sessions", "/account/sessions"),
        "Cookie decisions" => ("Change cookie settings", "/cookies"),
        "Privacy settings" => ("Change privacy settings", "/account/privacy"),
        _ => return None,
    };
    Some((label.to_owned(), href.to_owned()))
}

/// The signed-in member's data: each category with how much of it is held.
#[server]
pub async fn my_data() -> Result<DataOverview, AppError> {
    use super::{
        deletion, export,
        inventory::{Export, CATEGORIES},
        member_data::{self, Member},
        requests,
    };
    use crate::{features::accounts::guard, platform::state::app_state};
    let member = guard::require_member().await?;
    let state = app_state();
    let db = &state.db;
    let owner = Member::load(db, member.user_id).await?.ok_or(AppError::Unauthorized)?;
    let mut categories = Vec::new();
    for category in CATEGORIES.iter().filter(|category| member_data::is_linked(category)) {
        categories.push(HeldCategory {
            name: category.name.to_owned(),
            data: category.data.to_owned(),
            records: member_data::count(db, category, &owner).await?,
            retention: category.retention.to_owned(),
            exported: !matches!(category.export, Export::No(_)),
            manage: manage_link(category.name),
        });
    }
    let now = crate::platform::clock::now_unix();
    let next_export_at = export::next_allowed_at(&mut *db.pool().acquire().await?, member.user_id, now).await?;
    Ok(DataOverview {
        categories,
        exports: export::list(db, member.user_id).await?,
        requests: requests::list(db, member.user_id).await?,
        deletion_due: deletion::scheduled(db, member.user_id).await?,
        grace_days: state.config.deletion_grace_days,
        next_export_at,
    })
}

/// Asks for an export of everything held about the member; the job queue builds it.
#[server]
pub async fn request_export() -> Result<(), AppError> {
    use super::export::{self, ExportError};
    use crate::{
        features::accounts::guard,
        platform::{clock::now_unix, state::app_state},
    };
    let member = guard::require_member().await?;
    let state = app_state();
    match export::request(&state.db, &state.jobs, member.user_id, now_unix()).await {
        Ok(_) => Ok(()),
        Err(ExportError::TooSoon { next_at }) => Err(AppError::Invalid(format!(
            "You can ask for one export a day. Your last one is on this page; the next can be made on {}.",
            crate::dates::format_day(next_at)
        ))),
        Err(ExportError::Database(error)) => Err(error.into()),
    }
}

/// Schedules deletion of the member's account after re-entering the password: every
/// session ends at once, and the account goes when the grace period is over.
#[server]
pub async fn delete_account(password: String, confirm: Option<String>) -> Result<(), AppError> {
    use super::deletion;
    use crate::{
        features::accounts::{guard, service},
        platform::{clock::now_unix, mail, state::app_state},
    };
    let member = guard::require_member().await?;
    let state = app_state();
    if confirm.is_none() {
        return Err(AppError::field(
            "confirm",
            "Tick the box to confirm that you want your account deleted.",
        ));
    }
    if password.is_empty() {
        return Err(AppError::field("password", "Enter your password to confirm it is you."));
    }
    guard::limit(&state.auth_limits.sign_in, &member.email)?;
    if !service::password_matches(&state.db, member.user_id, &password).await? {
        return Err(AppError::field("password", "That is not your current password."));
    }
    let due_at = deletion::schedule(&state.db, member.user_id, now_unix(), state.config.deletion_grace_days).await?;
    mail::send(
        &state.jobs,
        mail::templates::deletion_scheduled(
            &state.config.site_name,
            &member.email,
            &crate::dates::format_day(due_at),
            &format!("{}/signin?next=/account/data", state.config.public_url),
        ),
    )
    .await?;
    guard::forget_cookie()?;
    leptos_axum::redirect("/signin?deletion_scheduled=1");
    Ok(())
}

/// Cancels a scheduled deletion: the account stays exactly as it was.
#[server]
pub async fn cancel_deletion() -> Result<(), AppError> {
    use super::deletion;
    use crate::{
        features::accounts::guard,
        platform::{clock::now_unix, state::app_state},
    };
    let member = guard::require_member().await?;
    let state = app_state();
    if !deletion::cancel(&state.db, member.user_id, now_unix()).await? {
        return Err(AppError::Invalid("Your account is not scheduled for deletion.".into()));
    }
    Ok(())
}

#[cfg(feature = "ssr")]
impl From<super::requests::RequestError> for AppError {
    fn from(error: super::requests::RequestError) -> Self {
        use super::requests::RequestError;
        match error {
            RequestError::Invalid { field, message } => AppError::field(field, message),
            RequestError::NotFound => AppError::Invalid(
                "That request is not waiting for this any more. Reload the page to see where it stands.".into(),
            ),
            RequestError::Database(error) => error.into(),
        }
    }
}

/// Asks for a correction of something the member cannot edit on their own pages; staff
/// answer it from the requests queue.
#[server]
pub async fn ask_correction(details: String) -> Result<(), AppError> {
    use crate::{
        features::accounts::guard,
        platform::{clock::now_unix, state::app_state},
    };
    let member = guard::require_member().await?;
    super::requests::ask_correction(&app_state().db, member.user_id, &details, now_unix()).await?;
    Ok(())
}

/// Appeals a refused request, once, with the member's reasons.
#[server]
pub async fn appeal_request(request_id: i64, appeal: String) -> Result<(), AppError> {
    use crate::{
        features::accounts::guard,
        platform::{clock::now_unix, state::app_state},
    };
    let member = guard::require_member().await?;
    super::requests::appeal(&app_state().db, member.user_id, request_id, &appeal, now_unix()).await?;
    Ok(())
}
