//! The pages of getting in: sign in, sign up, forgotten password, reset, and the pages that
//! mail links open. Every form is an `ActionForm`: it posts and redirects without
//! JavaScript and updates in place with it.

use super::{
    api::SignIn,
    oidc_views::{OidcErrorNotice, OidcSignIn},
    recovery_api::{check_link, RequestPasswordReset, ResetPassword, SignUp, VerifyEmail},
    settings_api::ConfirmEmailChange,
};
use crate::ui::{
    form::{action_error, Field, FormAlert, SubmitButton},
    meta::PageMeta,
    status::ErrorNotice,
};
use leptos::{form::ActionForm, prelude::*};
use leptos_router::hooks::use_query_map;

/// The narrow column every page here uses.
#[component]
pub(super) fn AuthFrame(
    #[prop(into)] heading: String,
    #[prop(into)] intro: String,
    children: Children,
) -> impl IntoView {
    view! {
        <section class="mx-auto max-w-md px-4 py-14 sm:px-6">
            <h1 class="font-display text-3xl font-semibold tracking-tight text-ink">{heading}</h1>
            <p class="mt-2 text-muted">{intro}</p>
            <div class="mt-8">{children()}</div>
        </section>
    }
}

/// A one-line query value, e.g. `?verified=1`.
fn query_flag(name: &'static str) -> Signal<bool> {
    let query = use_query_map();
    Signal::derive(move || query.read().get(name).is_some())
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let error = action_error(action);
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".to_owned());
    let notice = move || {
        let query = query.read();
        if query.get("verified").is_some() {
            Some("Your email address is confirmed. Sign in to continue.")
        } else if query.get("reset").is_some() {
            Some("Your password was changed and every device was signed out. Sign in with the new password.")
        } else if query.get("email_changed").is_some() {
            Some("Your new email address is confirmed. Sign in with it.")
        } else if query.get("deletion_scheduled").is_some() {
            Some("Your account is scheduled for deletion and you were signed out everywhere. Changed your mind? Sign in before the date in our email and cancel it.")
        } else {
            None
        }
    };
    view! {
        <PageMeta title="Sign in" description="Sign in to your Atelier account."/>
        <AuthFrame heading="Sign in" intro="Welcome back.">
            <OidcErrorNotice/>
            {move || notice().map(|text| view! { <p class="form-notice mb-6" role="status" data-testid="sign-in-notice">{text}</p> })}
            <ActionForm action=action attr:class="space-y-5" attr:novalidate="">
                <input type="hidden" name="next" value=next/>
                <FormAlert error/>
                <Field label="Email" name="email" kind="email" autocomplete="username" maxlength=254 required=true error/>
                <Field label="Password" name="password" kind="password" autocomplete="current-password" maxlength=256 required=true error/>
                <div class="flex items-center justify-between gap-4">
                    <label class="flex items-center gap-2 text-sm text-ink">
                        <input type="checkbox" name="remember" value="on" class="size-4 accent-[var(--accent)]"/>
                        "Keep me signed in for 30 days"
                    </label>
                    <a href="/forgot-password" class="text-sm font-medium text-accent hover:underline">"Forgot password?"</a>
                </div>
                <SubmitButton label="Sign in" busy_label="Signing in…" pending=action.pending()/>
            </ActionForm>
            <OidcSignIn next=Signal::derive(next)/>
            <p class="mt-8 text-center text-sm text-muted">
                "New here? " <a href="/signup" class="font-medium text-accent hover:underline">"Create an account"</a>
            </p>
        </AuthFrame>
    }
}

#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let error = action_error(action);
    let min_age = Resource::new(|| (), |_| super::recovery_api::minimum_age());
    view! {
        <PageMeta title="Create an account" description="Create a free Atelier account to save collections and more."/>
        <AuthFrame heading="Create your account" intro="Free forever for browsing, saving and downloading.">
            <ActionForm action=action attr:class="space-y-5" attr:novalidate="">
                <FormAlert error/>
                <Field label="Display name" name="display_name" autocomplete="nickname" maxlength=80 required=true
                    hint="Shown on your collections and comments." error/>
                <Field label="Email" name="email" kind="email" autocomplete="email" maxlength=254 required=true
                    hint="We'll send a link to confirm it." error/>
                <Field label="Password" name="password" kind="password" autocomplete="new-password" minlength=12 maxlength=256 required=true
                    hint="At least 12 characters. A few unrelated words make a strong password." error/>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let years = min_age.await.unwrap_or(13);
                        view! {
                            <Field label="Date of birth" name="birth_date" kind="date" autocomplete="bday" required=true
                                hint=format!("You must be at least {years}. We check it once and don't keep it.") error/>
                        }
                    })}
                </Transition>
                <SubmitButton label="Create account" busy_label="Creating your account…" pending=action.pending()/>
            </ActionForm>
            <p class="mt-8 text-center text-sm text-muted">
                "Already have an account? " <a href="/signin" class="font-medium text-accent hover:underline">"Sign in"</a>
            </p>
        </AuthFrame>
    }
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<RequestPasswordReset>::new();
    let error = action_error(action);
    let sent = query_flag("sent");
    view! {
        <PageMeta title="Forgot password" description="Get a link to choose a new password."/>
        <AuthFrame heading="Forgot your password?" intro="Enter your account's email and we'll send a link to choose a new one.">
            <Show
                when=move || sent.get()
                fallback=move || view! {
                    <ActionForm action=action attr:class="space-y-5" attr:novalidate="">
                        <FormAlert error/>
                        <Field label="Email" name="email" kind="email" autocomplete="email" maxlength=254 required=true error/>
                        <SubmitButton label="Send reset link" busy_label="Sending…" pending=action.pending()/>
                    </ActionForm>
                }
            >
                <div class="form-notice" role="status" data-testid="reset-sent">
                    <p class="font-semibold">"Check your inbox"</p>
                    <p class="mt-1">"If an account uses that address, a reset link is on its way. It works once, for 1 hour."</p>
                </div>
                <p class="mt-6 text-sm text-muted">
                    "Nothing arrived? Check spam, or " <a href="/forgot-password" class="font-medium text-accent hover:underline">"try again"</a> "."
                </p>
            </Show>
        </AuthFrame>
    }
}

/// The token in `?token=`.
fn link_token() -> Signal<String> {
    let query = use_query_map();
    Signal::derive(move || query.read().get("token").unwrap_or_default())
}

/// Shows its children when the link's token can still be used, and otherwise says why not
/// and where to go instead.
#[component]
fn LinkGate(
    purpose: &'static str,
    dead_message: &'static str,
    dead_href: &'static str,
    dead_label: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    let token = link_token();
    let valid = Resource::new(move || token.get(), move |token| check_link(token, purpose.to_owned()));
    let children = StoredValue::new(children);
    view! {
        <Transition fallback=|| view! { <p class="text-muted" aria-busy="true">"Checking your link…"</p> }>
            {move || Suspend::new(async move {
                match valid.await {
                    Ok(true) => children.read_value()().into_any(),
                    Ok(false) => view! {
                        <div class="card text-center" data-testid="dead-link">
                            <p class="font-semibold text-ink">"This link can't be used"</p>
                            <p class="mt-2 text-sm text-muted">{dead_message}</p>
                            <a href=dead_href class="btn-primary mt-6 inline-flex">{dead_label}</a>
                        </div>
                    }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    let error = action_error(action);
    let token = link_token();
    view! {
        <PageMeta title="Choose a new password" description="Set a new password for your account."/>
        <AuthFrame heading="Choose a new password" intro="Every device signed in to your account will be signed out.">
            <LinkGate purpose="reset_password" dead_message="Reset links work once and expire after an hour."
                dead_href="/forgot-password" dead_label="Send a new link">
                <ActionForm action=action attr:class="space-y-5" attr:novalidate="">
                    <input type="hidden" name="token" value=token/>
                    <FormAlert error/>
                    <Field label="New password" name="password" kind="password" autocomplete="new-password" minlength=12 maxlength=256 required=true
                        hint="At least 12 characters." error/>
                    <SubmitButton label="Save new password" busy_label="Saving…" pending=action.pending()/>
                </ActionForm>
            </LinkGate>
        </AuthFrame>
    }
}

/// Opened from the verification mail: one button confirms the address.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let action = ServerAction::<VerifyEmail>::new();
    let error = action_error(action);
    let token = link_token();
    view! {
        <PageMeta title="Confirm your email" description="Confirm the email address of your account."/>
        <AuthFrame heading="Confirm your email" intro="One click and your address is confirmed.">
            <LinkGate purpose="verify_email" dead_href="/account" dead_label="Go to my account"
                dead_message="This link was already used or has expired. Sign in to send a new one from your account page.">
                <ActionForm action=action attr:class="space-y-5">
                    <input type="hidden" name="token" value=token/>
                    <FormAlert error/>
                    <SubmitButton label="Confirm my email" busy_label="Confirming…" pending=action.pending()/>
                </ActionForm>
            </LinkGate>
        </AuthFrame>
    }
}

/// Opened from the mail sent to a new address: one button completes the change.
#[component]
pub fn ConfirmEmailChangePage() -> impl IntoView {
    let action = ServerAction::<ConfirmEmailChange>::new();
    let error = action_error(action);
    let token = link_token();
    view! {
        <PageMeta title="Confirm your new email" description="Confirm the new email address of your account."/>
        <AuthFrame heading="Confirm your new email" intro="Your account will use this address from now on.">
            <LinkGate purpose="change_email" dead_href="/account" dead_label="Go to my account"
                dead_message="This link was already used or has expired. Start the change again from your account page.">
                <ActionForm action=action attr:class="space-y-5">
                    <input type="hidden" name="token" value=token/>
                    <FormAlert error/>
                    <SubmitButton label="Use this address" busy_label="Confirming…" pending=action.pending()/>
                </ActionForm>
            </LinkGate>
        </AuthFrame>
    }
}
