//! Server functions behind the account page: profile, password and email changes.

use super::AccountDetails;
use crate::error::AppError;
use leptos::prelude::*;

/// The signed-in member's account.
#[server]
pub async fn my_account() -> Result<AccountDetails, AppError> {
    use super::{guard, service, tokens};
    let member = guard::require_member().await?;
    let state = crate::platform::state::app_state();
    let account = service::account(&state.db, member.user_id).await?;
    Ok(AccountDetails {
        email: account.email,
        display_name: account.display_name,
        bio: account.bio,
        download_size: account.download_size,
        email_verified: account.email_verified,
        pending_email: tokens::pending_email_change(&state.db, member.user_id).await?,
        role: member.role,
        avatar_url: account
            .avatar_key
            .as_deref()
            .map(crate::platform::media::MediaStore::url_for),
    })
}

/// Saves display name, bio and preferred download size.
#[server]
pub async fn update_profile(display_name: String, bio: String, download_size: String) -> Result<(), AppError> {
    use super::{guard, service};
    let member = guard::require_member().await?;
    let state = crate::platform::state::app_state();
    service::update_profile(&state.db, member.user_id, &display_name, &bio, &download_size).await?;
    Ok(())
}

/// Changes the password after checking the current one. Every session of the account ends
/// (a changed password must shut out whoever knew the old one) and this browser gets a
/// fresh one, so the member stays signed in here only.
#[server]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    use super::{guard, service, session};
    use crate::platform::{mail, state::app_state};
    let member = guard::require_member().await?;
    let state = app_state();
    guard::limit(&state.auth_limits.sign_in, &member.email)?;
    if !service::password_matches(&state.db, member.user_id, &current_password).await? {
        return Err(AppError::field(
            "current_password",
            "That is not your current password.",
        ));
    }
    if current_password == new_password {
        return Err(AppError::field(
            "new_password",
            "Choose a password different from the current one.",
        ));
    }
    service::set_password(&state.db, member.user_id, &new_password)
        .await
        .map_err(|error| match AppError::from(error) {
            AppError::Field { message, .. } => AppError::field("new_password", message),
            other => other,
        })?;
    let ended = session::end_all(&state.db, member.user_id).await?;
    tracing::info!(user_id = member.user_id, sessions_ended = ended, "password changed");
    guard::begin_session(member.user_id, member.remember).await?;
    mail::send(
        &state.jobs,
        mail::templates::password_changed(&state.config.site_name, &member.email),
    )
    .await?;
    Ok(())
}

/// Starts a change of address: a link to the new address, a notice to the old one. The
/// account keeps its current address until the link is used.
#[server]
pub async fn change_email(new_email: String, password: String) -> Result<(), AppError> {
    use super::{
        guard, service,
        tokens::{self, Purpose},
    };
    use crate::platform::{mail, state::app_state};
    let member = guard::require_member().await?;
    let state = app_state();
    let new_email = service::normalise_email(&new_email).map_err(|error| match AppError::from(error) {
        AppError::Field { message, .. } => AppError::field("new_email", message),
        other => other,
    })?;
    if new_email == member.email {
        return Err(AppError::field("new_email", "That is already your email address."));
    }
    guard::limit(&state.auth_limits.mail_links, &member.email)?;
    if !service::password_matches(&state.db, member.user_id, &password).await? {
        return Err(AppError::field("password", "That is not your current password."));
    }
    if service::find_by_email(&state.db, &new_email).await?.is_some() {
        return Err(AppError::field(
            "new_email",
            "Another account already uses this address.",
        ));
    }
    let token = tokens::issue(&state.db, member.user_id, Purpose::ChangeEmail, &new_email).await?;
    let link = format!("{}/confirm-email?token={token}", state.config.public_url);
    let site = &state.config.site_name;
    mail::send(&state.jobs, mail::templates::confirm_new_email(site, &new_email, &link)).await?;
    mail::send(
        &state.jobs,
        mail::templates::email_change_notice(site, &member.email, &new_email),
    )
    .await?;
    Ok(())
}

/// Completes a change of address with the link sent to the new one.
#[server]
pub async fn confirm_email_change(token: String) -> Result<(), AppError> {
    use super::{
        guard,
        service::{self, AccountError},
        tokens::{self, Purpose},
    };
    let state = crate::platform::state::app_state();
    let Some(redeemed) = tokens::redeem(&state.db, token.trim(), Purpose::ChangeEmail).await? else {
        return Err(AppError::Invalid(
            "This link has expired or was already used. Start the change again from your account page.".into(),
        ));
    };
    match service::change_email(&state.db, redeemed.user_id, &redeemed.email).await {
        Ok(()) => {}
        Err(AccountError::EmailTaken) => {
            return Err(AppError::Invalid(
                "Another account started using this address in the meantime.".into(),
            ))
        }
        Err(other) => return Err(other.into()),
    }
    tracing::info!(user_id = redeemed.user_id, "email address changed");
    let signed_in = guard::current_member()
        .await?
        .is_some_and(|member| member.user_id == redeemed.user_id);
    leptos_axum::redirect(if signed_in {
        "/account?email_changed=1"
    } else {
        "/signin?email_changed=1"
    });
    Ok(())
}
