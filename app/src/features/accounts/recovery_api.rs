//! Server functions for creating an account and proving control of its mailbox: sign-up,
//! email verification, verification resends, forgotten and reset passwords.

use crate::error::AppError;
use leptos::prelude::*;

/// Builds the absolute link a mail carries.
#[cfg(feature = "ssr")]
fn link(path: &str, token: &str) -> String {
    let state = crate::platform::state::app_state();
    format!("{}{path}?token={token}", state.config.public_url)
}

/// Issues a verification token for the account's address and queues the mail.
#[cfg(feature = "ssr")]
async fn send_verification(user_id: i64, email: &str, display_name: &str) -> Result<(), AppError> {
    use super::tokens::{self, Purpose};
    use crate::platform::{mail, state::app_state};
    let state = app_state();
    let token = tokens::issue(&state.db, user_id, Purpose::VerifyEmail, email).await?;
    let message = mail::templates::verify_email(
        &state.config.site_name,
        email,
        display_name,
        &link("/verify-email", &token),
    );
    mail::send(&state.jobs, message).await?;
    Ok(())
}

/// Creates an account, signs the new member in and mails a verification link. Below the
/// configured minimum age the request is refused before anything is stored.
#[server]
pub async fn sign_up(
    email: String,
    display_name: String,
    password: String,
    birth_date: String,
) -> Result<(), AppError> {
    use super::{
        guard,
        service::{self, NewUser},
        Role,
    };
    use crate::platform::{clock::now_unix, state::app_state};

    let state = app_state();
    // The age check comes first and keeps nothing: not the date, not the address.
    service::check_age(&birth_date, now_unix(), state.config.min_age)?;
    let email = service::normalise_email(&email)?;
    service::check_display_name(&display_name)?;
    service::check_password_strength(&password)?;
    guard::limit(&state.auth_limits.sign_up, &email)?;
    let user_id = service::create_user(
        &state.db,
        NewUser {
            email: &email,
            display_name: &display_name,
            password: &password,
            role: Role::Member,
            email_verified: false,
        },
    )
    .await?;
    tracing::info!(user_id, "account created");
    send_verification(user_id, &email, display_name.trim()).await?;
    guard::begin_session(user_id, false).await?;
    leptos_axum::redirect("/account?welcome=1");
    Ok(())
}

/// Confirms an address with the link from the verification mail. A POST from the page the
/// link opens, so mail scanners that prefetch links cannot use the token up.
#[server]
pub async fn verify_email(token: String) -> Result<(), AppError> {
    use super::{
        guard, service,
        tokens::{self, Purpose},
    };
    use crate::platform::state::app_state;
    let state = app_state();
    let Some(redeemed) = tokens::redeem(&state.db, token.trim(), Purpose::VerifyEmail).await? else {
        return Err(AppError::Invalid(
            "This link has expired or was already used. Sign in and send a new one from your account page.".into(),
        ));
    };
    if !service::mark_email_verified(&state.db, redeemed.user_id, &redeemed.email).await? {
        return Err(AppError::Invalid(
            "This link is for an address your account no longer uses.".into(),
        ));
    }
    tracing::info!(user_id = redeemed.user_id, "email verified");
    let signed_in = guard::current_member()
        .await?
        .is_some_and(|member| member.user_id == redeemed.user_id);
    leptos_axum::redirect(if signed_in {
        "/account?verified=1"
    } else {
        "/signin?verified=1"
    });
    Ok(())
}

/// Sends a fresh verification link to the signed-in member (the old link stops working).
#[server]
pub async fn resend_verification() -> Result<(), AppError> {
    use super::guard;
    use crate::platform::state::app_state;
    let member = guard::require_member().await?;
    if member.email_verified {
        return Err(AppError::Invalid("Your email address is already confirmed.".into()));
    }
    guard::limit(&app_state().auth_limits.mail_links, &member.email)?;
    send_verification(member.user_id, &member.email, &member.display_name).await
}

/// Mails a reset link when an account has this address. The answer is the same either way,
/// so the form cannot be used to learn who has an account.
#[server]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    use super::{
        guard, service,
        tokens::{self, Purpose},
    };
    use crate::platform::{mail, state::app_state};
    let state = app_state();
    let email = service::normalise_email(&email)?;
    guard::limit(&state.auth_limits.mail_links, &email)?;
    if let Some((user_id, _)) = service::find_by_email(&state.db, &email).await? {
        let token = tokens::issue(&state.db, user_id, Purpose::ResetPassword, &email).await?;
        let message =
            mail::templates::reset_password(&state.config.site_name, &email, &link("/reset-password", &token));
        mail::send(&state.jobs, message).await?;
    }
    leptos_axum::redirect("/forgot-password?sent=1");
    Ok(())
}

/// Whether a reset or verification link is still usable, so its page can say so up front.
#[server]
pub async fn check_link(token: String, purpose: String) -> Result<bool, AppError> {
    use super::tokens::{self, Purpose};
    let purpose = match purpose.as_str() {
        "reset_password" => Purpose::ResetPassword,
        "verify_email" => Purpose::VerifyEmail,
        "change_email" => Purpose::ChangeEmail,
        _ => return Err(AppError::Invalid("Unknown kind of link.".into())),
    };
    let state = crate::platform::state::app_state();
    Ok(tokens::is_valid(&state.db, token.trim(), purpose).await?)
}

/// Sets a new password with the link from the reset mail, then ends every session of the
/// account. The password is checked before the link is used, so a weak choice loses nothing.
#[server]
pub async fn reset_password(token: String, password: String) -> Result<(), AppError> {
    use super::{
        service, session,
        tokens::{self, Purpose},
    };
    use crate::platform::{mail, state::app_state};
    let state = app_state();
    service::check_password_strength(&password)?;
    let expired =
        || AppError::Invalid("This reset link has expired or was already used. Ask for a new one below.".into());
    let redeemed = tokens::redeem(&state.db, token.trim(), Purpose::ResetPassword)
        .await?
        .ok_or_else(expired)?;
    let account = service::account(&state.db, redeemed.user_id).await?;
    if account.email != redeemed.email {
        return Err(expired());
    }
    service::set_password(&state.db, redeemed.user_id, &password).await?;
    // Following the link proved the mailbox is theirs.
    service::mark_email_verified(&state.db, redeemed.user_id, &redeemed.email).await?;
    let ended = session::end_all(&state.db, redeemed.user_id).await?;
    tracing::info!(user_id = redeemed.user_id, sessions_ended = ended, "password reset");
    mail::send(
        &state.jobs,
        mail::templates::password_changed(&state.config.site_name, &redeemed.email),
    )
    .await?;
    super::guard::forget_cookie()?;
    leptos_axum::redirect("/signin?reset=1");
    Ok(())
}

/// The configured minimum age, for the sign-up form's wording.
#[server]
pub async fn minimum_age() -> Result<u32, AppError> {
    Ok(crate::platform::state::app_state().config.min_age)
}
