//! The account page: confirmation status, profile, email, password, and a way to the
//! session list. Each section is its own form and reports its own result.

use super::{
    avatar_view::AvatarForm,
    recovery_api::ResendVerification,
    settings_api::{my_account, ChangeEmail, ChangePassword, UpdateProfile},
    AccountDetails,
};
use crate::ui::{
    form::{action_error, action_succeeded, Field, FormAlert, SubmitButton},
    meta::PageMeta,
    status::MembersOnly,
};
use leptos::{form::ActionForm, prelude::*};
use leptos_router::hooks::use_query_map;

#[component]
pub fn AccountPage() -> impl IntoView {
    let update_profile = ServerAction::<UpdateProfile>::new();
    let change_email = ServerAction::<ChangeEmail>::new();
    let account = Resource::new(
        move || (update_profile.version().get(), change_email.version().get()),
        |_| my_account(),
    );
    view! {
        <PageMeta title="Your account" description="Manage your Atelier profile, email and password."/>
        <section class="mx-auto max-w-3xl px-4 py-12 sm:px-6">
            <h1 class="font-display text-3xl font-semibold tracking-tight text-ink">"Your account"</h1>
            <ArrivalNotice/>
            <MembersOnly data=account loading="Loading your account…" sign_in="Sign in to manage your account" path="/account"
                loaded={move |details| view! { <AccountSections details update_profile change_email/> }}/>
        </section>
    }
}

/// What the link or form that brought the member here did.
#[component]
fn ArrivalNotice() -> impl IntoView {
    let query = use_query_map();
    let text = move || {
        let query = query.read();
        if query.get("welcome").is_some() {
            Some("Welcome to Atelier! We sent you a link to confirm your email address.")
        } else if query.get("verified").is_some() {
            Some("Thank you, your email address is confirmed.")
        } else if query.get("email_changed").is_some() {
            Some("Your new email address is confirmed and in use.")
        } else {
            None
        }
    };
    move || {
        text().map(|text| view! { <p class="form-notice mt-6" role="status" data-testid="account-notice">{text}</p> })
    }
}

#[component]
fn AccountSections(
    details: AccountDetails,
    update_profile: ServerAction<UpdateProfile>,
    change_email: ServerAction<ChangeEmail>,
) -> impl IntoView {
    view! {
        {(!details.email_verified).then(|| view! { <VerifyReminder email=details.email.clone()/> })}
        <div class="mt-8 space-y-8">
            // Each form's view type is erased: nested together, they exceed the compiler's
            // type-depth limit in release builds.
            {view! { <ProfileForm details=details.clone() action=update_profile/> }.into_any()}
            {view! { <AvatarForm avatar_url=details.avatar_url.clone() display_name=details.display_name.clone()/> }.into_any()}
            {view! { <EmailForm details=details.clone() action=change_email/> }.into_any()}
            {view! { <PasswordForm/> }.into_any()}
            <div class="card flex flex-wrap items-center justify-between gap-4">
                <div>
                    <h2 class="font-semibold text-ink">"Sessions"</h2>
                    <p class="mt-1 text-sm text-muted">"See every device signed in to your account and sign any of them out."</p>
                </div>
                <a href="/account/sessions" class="btn-secondary">"Manage sessions"</a>
            </div>
            <div class="card flex flex-wrap items-center justify-between gap-4">
                <div>
                    <h2 class="font-semibold text-ink">"Billing"</h2>
                    <p class="mt-1 text-sm text-muted">"Your plan, your credit balance and its history, and payments through Stripe."</p>
                </div>
                <a href="/account/billing" class="btn-secondary" data-testid="billing-link">"Billing"</a>
            </div>
            <div class="card flex flex-wrap items-center justify-between gap-4">
                <div>
                    <h2 class="font-semibold text-ink">"Your data"</h2>
                    <p class="mt-1 text-sm text-muted">"See everything we hold about you, download it, or delete your account."</p>
                </div>
                <a href="/account/data" class="btn-secondary" data-testid="your-data-link">"Your data"</a>
            </div>
            <div class="card flex flex-wrap items-center justify-between gap-4">
                <div>
                    <h2 class="font-semibold text-ink">"Privacy settings"</h2>
                    <p class="mt-1 text-sm text-muted">"Choose what we may do with your data, how long chats are kept and your download size."</p>
                </div>
                <a href="/account/privacy" class="btn-secondary" data-testid="privacy-settings-link">"Privacy settings"</a>
            </div>
            {(details.role == super::Role::Admin).then(|| view! {
                <div class="card flex flex-wrap items-center justify-between gap-4">
                    <div>
                        <h2 class="font-semibold text-ink">"Administration"</h2>
                        <p class="mt-1 text-sm text-muted">"Data requests waiting for a person, background jobs (failed ones to retry), and mail written to the local outbox."</p>
                    </div>
                    <div class="flex flex-wrap gap-3">
                        <a href="/admin/requests" class="btn-secondary">"Data requests"</a>
                        <a href="/admin/jobs" class="btn-secondary">"Background jobs"</a>
                        <a href="/admin/outbox" class="btn-secondary">"Open the outbox"</a>
                    </div>
                </div>
            })}
        </div>
    }
}

/// Unverified members are told what is locked and can ask for a new link.
#[component]
fn VerifyReminder(email: String) -> impl IntoView {
    let resend = ServerAction::<ResendVerification>::new();
    let error = action_error(resend);
    let sent = action_succeeded(resend);
    view! {
        <div class="mt-6 rounded-2xl border border-accent/40 bg-accent/10 p-5" data-testid="verify-reminder">
            <p class="font-semibold text-ink">"Please confirm your email address"</p>
            <p class="mt-1 text-sm text-ink">
                {format!("We sent a link to {email}. Until you use it you can browse, download and save, but publishing and paid features stay locked.")}
            </p>
            <ActionForm action=resend attr:class="mt-4 flex flex-wrap items-center gap-3">
                <SubmitButton label="Send a new link" busy_label="Sending…" pending=resend.pending() class="btn-secondary h-9 px-4"/>
                <Show when=move || sent.get()>
                    <span class="text-sm text-ink" role="status">"Sent. Check your inbox."</span>
                </Show>
            </ActionForm>
            <div class="mt-3"><FormAlert error/></div>
        </div>
    }
}

#[component]
fn SectionHeading(#[prop(into)] title: String, #[prop(into)] text: String) -> impl IntoView {
    view! {
        <h2 class="font-semibold text-ink">{title}</h2>
        <p class="mt-1 text-sm text-muted">{text}</p>
    }
}

#[component]
fn ProfileForm(details: AccountDetails, action: ServerAction<UpdateProfile>) -> impl IntoView {
    let error = action_error(action);
    let saved = action_succeeded(action);
    let bio_error = Signal::derive(move || error.get().and_then(|e| e.for_field("bio")));
    let sizes = [
        ("small", "Small: quick to share"),
        ("full", "Full: for most uses"),
        ("original", "Original: the largest file"),
    ];
    view! {
        <ActionForm action=action attr:class="card space-y-5" attr:data-testid="profile-form">
            <SectionHeading title="Profile" text="How you appear to others on Atelier."/>
            <FormAlert error/>
            <Field label="Display name" name="display_name" autocomplete="nickname" maxlength=80 required=true value=details.display_name error/>
            <div>
                <label for="field-bio" class="field-label">"Bio"</label>
                <textarea id="field-bio" name="bio" rows="3" maxlength="500" class="field-input"
                    aria-invalid=move || bio_error.get().is_some().to_string()>{details.bio}</textarea>
                <p class="field-hint">"Up to 500 characters."</p>
                {move || bio_error.get().map(|message| view! { <p class="field-error">{message}</p> })}
            </div>
            <div>
                <label for="field-download_size" class="field-label">"Default download size"</label>
                <select id="field-download_size" name="download_size" class="field-input">
                    {sizes
                        .into_iter()
                        .map(|(value, label)| view! { <option value=value selected=details.download_size == value>{label}</option> })
                        .collect_view()}
                </select>
            </div>
            <div class="flex items-center gap-4">
                <SubmitButton label="Save profile" busy_label="Saving…" pending=action.pending() class="btn-primary"/>
                <Show when=move || saved.get()>
                    <span class="text-sm text-ink" role="status">"Saved."</span>
                </Show>
            </div>
        </ActionForm>
    }
}

#[component]
fn EmailForm(details: AccountDetails, action: ServerAction<ChangeEmail>) -> impl IntoView {
    let error = action_error(action);
    let badge = if details.email_verified {
        view! { <span class="ml-2 rounded-full bg-accent/15 px-2 py-0.5 text-xs font-semibold text-accent">"Confirmed"</span> }.into_any()
    } else {
        view! { <span class="ml-2 rounded-full bg-danger/10 px-2 py-0.5 text-xs font-semibold text-danger">"Not confirmed"</span> }.into_any()
    };
    view! {
        <ActionForm action=action attr:class="card space-y-5" attr:data-testid="email-form">
            <SectionHeading title="Email" text="Where we send links and notices. A new address takes effect once you confirm it."/>
            <p class="text-ink" data-testid="current-email">{details.email.clone()} {badge}</p>
            {details.pending_email.map(|pending| view! {
                <p class="form-notice" role="status" data-testid="pending-email">
                    {format!("Waiting for you to confirm {pending}: use the link we sent there.")}
                </p>
            })}
            <FormAlert error/>
            <Field label="New email" name="new_email" kind="email" autocomplete="email" maxlength=254 required=true error/>
            <Field label="Current password" name="password" kind="password" autocomplete="current-password" maxlength=256 required=true error/>
            <SubmitButton label="Change email" busy_label="Sending link…" pending=action.pending() class="btn-primary"/>
        </ActionForm>
    }
}

#[component]
fn PasswordForm() -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let error = action_error(action);
    let changed = action_succeeded(action);
    view! {
        <ActionForm action=action attr:class="card space-y-5" attr:data-testid="password-form">
            <SectionHeading title="Password" text="Changing it signs out every other device."/>
            <FormAlert error/>
            <Show when=move || changed.get()>
                <p class="form-notice" role="status">"Password changed. Every other device was signed out."</p>
            </Show>
            <Field label="Current password" name="current_password" kind="password" autocomplete="current-password" maxlength=256 required=true error/>
            <Field label="New password" name="new_password" kind="password" autocomplete="new-password" minlength=12 maxlength=256 required=true
                hint="At least 12 characters." error/>
            <SubmitButton label="Change password" busy_label="Changing…" pending=action.pending() class="btn-primary"/>
        </ActionForm>
    }
}
