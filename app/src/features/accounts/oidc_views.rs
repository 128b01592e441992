//! Single sign-on in the browser: the “Continue with …” button on the sign-in page (only
//! when `ATELIER_OIDC_*` is configured), the sentence for each `?oidc_error=<code>` the
//! callback can send back (text from the URL is never printed), and `/signup/provider`,
//! where someone new finishes creating an account after the provider vouched for their
//! email: the date of birth the minimum age needs, and a display name.

use super::auth_views::AuthFrame;
use crate::{
    error::AppError,
    ui::{
        form::{action_error, Field, FormAlert, SubmitButton},
        meta::PageMeta,
    },
};
use leptos::{form::ActionForm, prelude::*};
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

/// The provider's name for “Continue with …”, or `None` when single sign-on is not
/// configured. Reads configuration only: showing the button contacts nobody.
#[server]
pub async fn sign_in_provider() -> Result<Option<String>, AppError> {
    let state = crate::platform::state::app_state();
    Ok(state.oidc.as_ref().map(|oidc| oidc.display_name().to_owned()))
}

/// For a code this page does not know (a forged or outdated link).
pub const UNKNOWN_OIDC_ERROR: &str =
    "Signing in with single sign-on didn’t work. Please try again, or sign in with your email and password.";

/// The sentence for each code of `app::features::accounts::oidc::OidcFailure::code`.
pub fn oidc_error_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "cancelled" => "Single sign-on was cancelled, so you’re not signed in. Try again, or sign in with your email and password.",
        "provider" => "The single sign-on provider couldn’t sign you in. Please try again in a moment.",
        "expired" => "That sign-in took too long, was already used, or was started in another browser. Please start again.",
        "unavailable" => "We couldn’t reach the single sign-on provider. Please try again in a moment, or sign in with your email and password.",
        "rejected" => "The single sign-on provider’s answer didn’t pass our security checks, so you’re not signed in. Please try again.",
        "email" => "Your single sign-on account didn’t share a confirmed email address, so we couldn’t sign you in. Confirm your email address with the provider, then try again.",
        "conflict" => "This email address belongs to an Atelier account that is already linked to another account at this provider. Sign in with that one, or with your email and password.",
        "failed" => "Something went wrong on our side. Please try again in a moment.",
        _ => return None,
    })
}

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
fn encode_query_value(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => encoded.push(byte as char),
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

/// “Continue with {provider}”: a link (it works before hydration) to `/auth/oidc/start`,
/// carrying the page's `next`. Renders nothing when single sign-on is not configured.
#[component]
pub fn OidcSignIn(
    /// Where to go after signing in (the sign-in page's own `?next=`); checked again on
    /// the server.
    next: Signal<String>,
) -> impl IntoView {
    let provider = Resource::new(|| (), |_| sign_in_provider());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                provider.await.ok().flatten().map(|name| {
                    let href = move || format!("/auth/oidc/start?next={}", encode_query_value(&next.get()));
                    view! {
                        <div class="mt-8" data-testid="oidc-sign-in">
                            <div class="flex items-center gap-3 text-xs uppercase tracking-wide text-muted">
                                <span class="h-px flex-1 bg-line" aria-hidden="true"></span>
                                "or"
                                <span class="h-px flex-1 bg-line" aria-hidden="true"></span>
                            </div>
                            <a href=href class="btn-secondary mt-6 w-full" rel="nofollow">
                                {format!("Continue with {name}")}
                            </a>
                        </div>
                    }
                })
            })}
        </Transition>
    }
}

/// The alert for `?oidc_error=<code>`, above the sign-in form.
#[component]
pub fn OidcErrorNotice() -> impl IntoView {
    let query = use_query_map();
    move || {
        query.read().get("oidc_error").map(|code| {
            let message = oidc_error_message(&code).unwrap_or(UNKNOWN_OIDC_ERROR);
            view! { <p class="form-alert mb-6" role="alert" data-testid="oidc-error">{message}</p> }
        })
    }
}

/// A verified identity waiting for its owner to finish signing up, as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingSignUp {
    pub email: String,
    /// Suggested display name, from the provider's `name` claim or the email.
    pub display_name: String,
    pub provider: String,
    pub min_age: u32,
}

/// The sign-up waiting for this browser (bound by its sign-up cookie), if any.
#[server]
pub async fn provider_sign_up() -> Result<Option<WaitingSignUp>, AppError> {
    use super::oidc;
    use crate::platform::{request, state::app_state};
    let state = app_state();
    let Some(provider) = state.oidc.as_ref() else {
        return Ok(None);
    };
    let binding =
        request::request_parts().and_then(|parts| request::cookie(&parts, oidc::sign_up_cookie_name(&state.config)));
    let Some(binding) = binding else {
        return Ok(None);
    };
    Ok(oidc::pending_sign_up(&state.db, &binding)
        .await?
        .map(|pending| WaitingSignUp {
            email: pending.email,
            display_name: pending.display_name,
            provider: provider.display_name().to_owned(),
            min_age: state.config.min_age,
        }))
}

/// Creates the account for the waiting sign-up and signs the new member in. A malformed
/// date or name keeps the sign-up waiting so the person can correct it; a date below the
/// minimum age ends it and nothing about the person is kept.
#[server]
pub async fn finish_provider_sign_up(display_name: String, birth_date: String) -> Result<(), AppError> {
    use super::{guard, oidc, service};
    use crate::{
        dates::{age_on, date_of, parse_iso_date},
        platform::{clock::now_unix, request, state::app_state},
    };
    let state = app_state();
    let expired = || AppError::Invalid(EXPIRED_SIGN_UP.into());
    let binding = request::request_parts()
        .and_then(|parts| request::cookie(&parts, oidc::sign_up_cookie_name(&state.config)))
        .ok_or_else(expired)?;
    let pending = oidc::pending_sign_up(&state.db, &binding).await?.ok_or_else(expired)?;

    let today = now_unix();
    let too_young = parse_iso_date(&birth_date)
        .map(|birth| age_on(birth, date_of(today)))
        .is_some_and(|age| (0..i64::from(state.config.min_age)).contains(&age));
    if too_young {
        oidc::discard_sign_up(&state.db, &binding).await?;
        guard::set_response_header(
            axum::http::header::SET_COOKIE,
            &oidc::clear_sign_up_cookie(&state.config),
        )?;
    }
    service::check_age(&birth_date, today, state.config.min_age)?;
    let display_name = service::check_display_name(&display_name)?.to_owned();

    let created = oidc::create_member(&state.db, &binding, &pending, &display_name)
        .await
        .map_err(|_| AppError::Internal)?;
    guard::set_response_header(
        axum::http::header::SET_COOKIE,
        &oidc::clear_sign_up_cookie(&state.config),
    )?;
    let Some(user_id) = created else {
        return Err(AppError::Invalid(
            "An account with this email was created a moment ago. Sign in instead.".into(),
        ));
    };
    guard::begin_session(user_id, false).await?;
    leptos_axum::redirect(&pending.next);
    Ok(())
}

const EXPIRED_SIGN_UP: &str = "This sign-up has expired or was already used. Start again from the sign-in page.";

/// `/signup/provider`: the last step of creating an account through single sign-on.
#[component]
pub fn ProviderSignUpPage() -> impl IntoView {
    let action = ServerAction::<FinishProviderSignUp>::new();
    let error = action_error(action);
    let waiting = Resource::new(|| (), |_| provider_sign_up());
    view! {
        <PageMeta title="Finish creating your account" description="Finish creating your Atelier account."/>
        <AuthFrame heading="Finish creating your account" intro="One more step and you're in.">
            <Transition fallback=|| view! { <p class="text-muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match waiting.await {
                        Ok(Some(sign_up)) => {
                            let hint = format!("You must be at least {}. We check it once and don't keep it.", sign_up.min_age);
                            view! {
                                <p class="mb-6 text-sm text-muted" data-testid="provider-sign-up">
                                    {format!("{} confirmed your email address, ", sign_up.provider)}
                                    <strong class="text-ink">{sign_up.email.clone()}</strong>
                                    "."
                                </p>
                                <ActionForm action=action attr:class="space-y-5" attr:novalidate="">
                                    <FormAlert error/>
                                    <Field label="Display name" name="display_name" autocomplete="nickname" maxlength=80 required=true
                                        value=sign_up.display_name.clone() hint="Shown on your collections and comments." error/>
                                    <Field label="Date of birth" name="birth_date" kind="date" autocomplete="bday" required=true
                                        hint=hint error/>
                                    <SubmitButton label="Create account" busy_label="Creating your account…" pending=action.pending()/>
                                </ActionForm>
                            }
                            .into_any()
                        }
                        _ => view! {
                            <p class="form-alert" role="alert" data-testid="provider-sign-up-expired">{EXPIRED_SIGN_UP}</p>
                            <a href="/signin" class="btn-primary mt-6">"Back to sign in"</a>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </AuthFrame>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_encoded_as_one_query_value() {
        assert_eq!(
            encode_query_value("/account/sessions?x=1&y=2"),
            "%2Faccount%2Fsessions%3Fx%3D1%26y%3D2"
        );
        assert_eq!(encode_query_value("/caf\u{e9}"), "%2Fcaf%C3%A9");
    }

    #[test]
    fn messages_survive_html_escaping_unchanged() {
        // The tests look for each sentence in rendered HTML: no characters that get escaped.
        for code in [
            "cancelled",
            "provider",
            "expired",
            "unavailable",
            "rejected",
            "email",
            "conflict",
            "failed",
        ] {
            let message = oidc_error_message(code).unwrap();
            assert!(!message.contains(['&', '<', '>', '"', '\'']), "{code}");
        }
        assert_eq!(oidc_error_message("Call Zanzibar"), None);
    }
}
