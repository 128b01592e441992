//! `/account/privacy`: switches for what Atelier may do with the member's data, the chat
//! history period and the download size. Each change is saved at once (the form submits
//! itself on change once hydrated); before hydration the Save button posts the same form.

use super::{
    banner::use_consent,
    settings_api::{load_privacy_settings, ChatRetention, PrivacyPage, SavePrivacySettings},
};
use crate::{
    dates::format_day,
    ui::{
        form::{action_error, FormAlert, SubmitButton},
        meta::PageMeta,
        status::MembersOnly,
    },
};
use leptos::{form::ActionForm, html, prelude::*};

#[component]
pub fn PrivacySettingsPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| load_privacy_settings());
    view! {
        <PageMeta title="Privacy settings" description="Choose what Atelier may do with your data."/>
        <section class="mx-auto max-w-3xl px-4 py-12 sm:px-6">
            <nav aria-label="Breadcrumb" class="text-sm text-muted">
                <a href="/account" class="hover:text-ink hover:underline">"Your account"</a>
                " / "
            </nav>
            <h1 class="mt-2 font-display text-3xl font-semibold tracking-tight text-ink">"Privacy settings"</h1>
            <p class="mt-2 max-w-2xl text-muted">
                "What we may do with your data. A change applies as soon as it is saved; switching something off is also kept as a request on "
                <a href="/account/data#requests" class="font-medium text-accent hover:underline">"Your data"</a>
                "."
            </p>
            <MembersOnly data=page loading="Loading your settings…" sign_in="Sign in to change your privacy settings"
                path="/account/privacy" loaded={|page| view! { <SettingsForm page/> <CookieChoices/> }}/>
        </section>
    }
}

/// One switch: a labelled checkbox with what it changes.
#[component]
fn Switch(name: &'static str, label: &'static str, help: &'static str, checked: bool) -> impl IntoView {
    let id = format!("privacy-{name}");
    let help_id = format!("{id}-help");
    view! {
        <div class="flex items-start gap-3 py-4">
            <input type="checkbox" id=id.clone() name=name value="on" checked=checked role="switch"
                aria-describedby=help_id.clone() class="mt-1 size-5 shrink-0 accent-[var(--accent)]"/>
            <div class="text-sm">
                <label for=id class="font-medium text-ink">{label}</label>
                <p id=help_id class="text-muted">{help}</p>
            </div>
        </div>
    }
}

#[component]
fn SettingsForm(page: PrivacyPage) -> impl IntoView {
    let action = ServerAction::<SavePrivacySettings>::new();
    let error = action_error(action);
    let form = NodeRef::<html::Form>::new();
    let settings = page.settings;
    // Once hydrated every change saves itself; the whole form is sent, so the last
    // change wins whatever order the answers come back in.
    let save_now = move |_: leptos::ev::Event| {
        if let Some(form) = form.get() {
            let _ = form.request_submit();
        }
    };
    let status = move || {
        if action.pending().get() {
            Some("Saving…".to_owned())
        } else {
            match action.value().get() {
                Some(Ok(_)) => Some("Saved. It applies from now on.".to_owned()),
                _ => None,
            }
        }
    };
    let last_saved = page
        .updated_at
        .map(|at| format!("Last changed on {}.", format_day(at)))
        .unwrap_or_else(|| "You have not changed these yet; these are the defaults.".to_owned());
    let sizes = [
        ("small", "Small: quick to share"),
        ("full", "Full: for most uses"),
        ("original", "Original: the largest file"),
    ];
    view! {
        // `change` bubbles from every switch, radio and select to this wrapper.
        <div on:change=save_now>
        <ActionForm action node_ref=form attr:class="mt-8 space-y-6" attr:data-testid="privacy-settings">
            <FormAlert error/>
            <section class="card">
                <h2 class="font-semibold text-ink">"How we use your data"</h2>
                <p class="mt-1 text-sm text-muted">{last_saved}</p>
                <div class="mt-2 divide-y divide-line">
                    <Switch name="analytics" label="Keep my activity history" checked=settings.analytics
                        help="Your downloads and searches (whether they found anything, never the words) are recorded with your account and listed in your data. Off: they are still counted, but without you."/>
                    <Switch name="personalised" label="Personalised recommendations" checked=settings.personalised
                        help="Suggestions may use what you download and save. Off: everything suggested to you is the same as for anyone."/>
                    <Switch name="improve_service" label="Use what I write to improve Atelier" checked=settings.improve_service
                        help="Prompts, briefs and chat messages may be used to improve the service. Off (the default): they are used only to answer you."/>
                    <Switch name="marketing_email" label="Email me about new features and offers" checked=settings.marketing_email
                        help="Off (the default): you get only the email your account needs, such as sign-in links and receipts."/>
                </div>
            </section>
            <section class="card">
                <fieldset>
                    <legend class="font-semibold text-ink">"Chat history"</legend>
                    <p class="mt-1 text-sm text-muted">"How long your conversations with AI contributors are kept."</p>
                    <div class="mt-4 space-y-2">
                        {ChatRetention::ALL.into_iter().map(|retention| {
                            let id = format!("chat-retention-{}", retention.as_str());
                            view! {
                                <div class="flex items-center gap-2">
                                    <input type="radio" id=id.clone() name="chat_retention" value=retention.as_str()
                                        checked=settings.chat_retention == retention class="size-4 accent-[var(--accent)]"/>
                                    <label for=id class="text-sm text-ink">{retention.label()}</label>
                                </div>
                            }
                        }).collect_view()}
                    </div>
                </fieldset>
            </section>
            <section class="card">
                <label for="privacy-download-size" class="font-semibold text-ink">"Download size"</label>
                <p class="mt-1 text-sm text-muted">"The size the download button picks first on every device you sign in on."</p>
                <select id="privacy-download-size" name="download_size" class="field-input mt-3 max-w-xs">
                    {sizes.into_iter().map(|(value, label)| view! {
                        <option value=value selected=page.download_size == value>{label}</option>
                    }).collect_view()}
                </select>
            </section>
            <div class="flex flex-wrap items-center gap-4">
                <SubmitButton label="Save settings" busy_label="Saving…" pending=action.pending() class="btn-primary"/>
                <p class="text-sm text-ink" role="status" aria-live="polite" data-testid="privacy-status">{status}</p>
            </div>
        </ActionForm>
        </div>
    }
}

/// The cookie choice belongs to this browser, not the account, so it is changed where it
/// is kept.
#[component]
fn CookieChoices() -> impl IntoView {
    let consent = use_consent();
    let summary = move || {
        let state = consent.state.get();
        let on_off = |allowed: bool| if allowed { "on" } else { "off" };
        if state.gpc && !state.decided {
            "This browser sends Global Privacy Control, so analytics is off.".to_owned()
        } else if !state.decided {
            "You have not chosen on this browser yet: only essential cookies are set.".to_owned()
        } else {
            format!(
                "On this browser preference cookies are {} and analytics is {}.",
                on_off(state.preferences),
                on_off(state.analytics)
            )
        }
    };
    view! {
        <section class="card mt-6" data-testid="cookie-choices">
            <h2 class="font-semibold text-ink">"Cookies"</h2>
            <p class="mt-1 text-sm text-muted">{summary}</p>
            <a href="/cookies" class="btn-secondary mt-4 inline-flex">"Change cookie settings"</a>
        </section>
    }
}
