//! `/privacy` and `/terms`: the privacy policy, whose list of what is held comes from the
//! data inventory and whose cookie list from `cookies::SITE_COOKIES` (so neither can drift
//! from the code), and the terms of use.

use super::cookies::CookieList;
use crate::{
    error::AppError,
    features::library::{LICENCE_ANCHOR, LICENCE_TERMS},
    ui::{meta::PageMeta, status::ErrorNotice},
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The date the terms last changed.
pub const TERMS_UPDATED: &str = "2026-12-07";

/// One inventory category, as the policy shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PolicyCategory {
    pub name: String,
    pub data: String,
    pub purpose: String,
    pub basis: String,
    pub retention: String,
    pub export: String,
    pub deletion: String,
}

/// Everything the policy page fills in from the running system.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PolicyFacts {
    pub version: u32,
    pub updated: String,
    pub categories: Vec<PolicyCategory>,
    pub not_personal: Vec<String>,
    /// Where to write with a data request (`ATELIER_PRIVACY_CONTACT`).
    pub contact: String,
    pub min_age: u32,
    /// Days between asking to delete an account and its deletion.
    pub deletion_grace_days: u32,
    /// PostHog's host, when the site uses it for analytics (with consent only).
    pub analytics_host: Option<String>,
    /// Where chat messages go to be answered (the model provider's host), when chat is on.
    pub chat_host: Option<String>,
    /// Whether payments go through Stripe on this instance.
    pub payments: bool,
}

/// The inventory and the settings the policy quotes.
#[server]
pub async fn privacy_policy() -> Result<PolicyFacts, AppError> {
    use super::inventory::{CATEGORIES, UNLINKED};
    let state = crate::platform::state::app_state();
    Ok(PolicyFacts {
        version: state.config.policy_version,
        updated: super::POLICY_UPDATED.to_owned(),
        categories: CATEGORIES
            .iter()
            .map(|category| PolicyCategory {
                name: category.name.to_owned(),
                data: category.data.to_owned(),
                purpose: category.purpose.to_owned(),
                basis: category.basis.label().to_owned(),
                retention: category.retention.to_owned(),
                export: category.export.describe(),
                deletion: category.deletion.describe(),
            })
            .collect(),
        not_personal: UNLINKED.iter().map(|unlinked| unlinked.why.to_owned()).collect(),
        contact: state.config.privacy_contact.clone(),
        min_age: state.config.min_age,
        deletion_grace_days: state.config.deletion_grace_days,
        analytics_host: state.config.posthog.as_ref().map(|posthog| posthog.host.clone()),
        chat_host: state.config.chat.as_ref().map(|chat| {
            let rest = chat
                .base_url
                .split_once("://")
                .map_or(chat.base_url.as_str(), |(_, rest)| rest);
            rest.split('/').next().unwrap_or(rest).to_owned()
        }),
        payments: state.config.stripe.is_some(),
    })
}

#[component]
pub fn PrivacyPage() -> impl IntoView {
    let facts = Resource::new(|| (), |_| privacy_policy());
    view! {
        <PageMeta title="Privacy policy" description="What Atelier holds about you, why, for how long, and how to see, export or delete it."/>
        <article class="mx-auto max-w-3xl px-4 py-12 sm:px-6">
            <h1 class="font-display text-3xl font-semibold tracking-tight text-ink">"Privacy policy"</h1>
            <Suspense fallback=|| view! { <p class="mt-6 text-muted" aria-busy="true">"Loading the policy…"</p> }>
                {move || Suspend::new(async move {
                    match facts.await {
                        Ok(facts) => view! { <PolicyBody facts/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error retry_href="/privacy"/> }.into_any(),
                    }
                })}
            </Suspense>
        </article>
    }
}

#[component]
fn PolicyBody(facts: PolicyFacts) -> impl IntoView {
    let PolicyFacts {
        version,
        updated,
        categories,
        not_personal,
        contact,
        min_age,
        deletion_grace_days,
        analytics_host,
        chat_host,
        payments,
    } = facts;
    view! {
        <p class="mt-2 text-sm text-muted" data-testid="policy-version">
            {format!("Version {version} · last updated {updated}")}
        </p>
        <Section title="The short version">
            <ul class="list-disc space-y-2 pl-5">
                <li>"Browsing, searching and downloading need no account, and set no cookie unless you choose one."</li>
                <li>"We hold as little as the service needs, sell nothing, show no ads, and do not track you across other sites."</li>
                <li>"Views are counted without cookies, with a hash that cannot be reversed and changes every day."</li>
                <li>"Everything we hold about people is listed below, from the same list our code works from."</li>
            </ul>
        </Section>
        <Section title="What we hold, and why">
            <p>"Each kind of personal data, what it is for, the legal basis, how long we keep it, and what export and deletion do with it."</p>
            <div class="mt-6 space-y-4" data-testid="policy-categories">
                {categories.into_iter().map(|category| view! { <CategoryCard category/> }).collect_view()}
            </div>
        </Section>
        <Section title="What is not about you">
            <ul class="list-disc space-y-2 pl-5">
                {not_personal.into_iter().map(|why| view! { <li>{capitalised(&why)}"."</li> }).collect_view()}
                <li>"What you type into search is never stored or logged. Request logs record the path without its query, and never your address, browser or cookies."</li>
                <li>"Your date of birth is checked at sign-up and then forgotten."</li>
            </ul>
        </Section>
        <Section title="Cookies">
            <p>
                "Strictly necessary cookies keep you signed in (also through single sign-on) and remember your cookie choice. Preference and analytics cookies are set only with your permission, and your browser's Global Privacy Control signal is honoured as a refusal. These are all the cookies we set; "
                <a href="/cookies" class="font-medium text-accent hover:underline">"change your choice"</a>
                " at any time."
            </p>
            <CookieList/>
        </Section>
        <Section title="Who else sees data">
            <p>"Only the services that run the site for us: the mail service that delivers our emails, the storage service that keeps images and avatars when one is configured, and the sign-in provider you choose to use. They act on our instructions. We never sell or rent data to anyone."</p>
            {payments.then(|| view! {
                <p class="mt-3" data-testid="policy-payments">"Payments are taken by Stripe, which holds your card details; we keep only your Stripe customer number, plan and payment status."</p>
            })}
            {chat_host.map(|host| view! {
                <p class="mt-3" data-testid="policy-chat">
                    {format!("When you chat with a contributor, what you write, the contributor's instructions and the conversation's earlier messages are sent to the language model service that writes the replies ({host}). Your name, email and account are not sent.")}
                </p>
            })}
            {analytics_host.map(|host| view! {
                <p class="mt-3" data-testid="policy-analytics">
                    {format!("If you allow analytics, the pages you view are also counted by PostHog ({host}) under a random id that is not linked to your account; nothing is sent to it before you allow it, and withdrawing stops it at once and removes its cookie.")}
                </p>
            })}
        </Section>
        <Section title="Your rights">
            <p>
                "You can see and correct your name, email, bio, avatar and download size on your "
                <a href="/account" class="font-medium text-accent hover:underline">"account page"</a>
                ", and see and end your sessions on the "
                <a href="/account/sessions" class="font-medium text-accent hover:underline">"sessions page"</a>
                ". On "
                <a href="/account/data" class="font-medium text-accent hover:underline">"Your data"</a>
                " you see everything held about you, download all of it as a zip (once a day), and delete your account: "
                {format!("it is signed out everywhere at once and deleted for good after {deletion_grace_days} days, during which signing in lets you cancel. ")}
                "On "
                <a href="/account/privacy" class="font-medium text-accent hover:underline">"Privacy settings"</a>
                " you object to or restrict processing yourself (your activity history, personalised recommendations, use of what you write, marketing email, how long chats are kept); each change applies at once and is kept as a request. "
                "Anything you cannot correct yourself you can ask us to correct on Your data; for anything else write to "
                <a href=format!("mailto:{contact}") class="font-medium text-accent hover:underline" data-testid="policy-contact">{contact.clone()}</a>
                ". We answer every request within 30 days (sooner than the 45 days California allows), and you may appeal a refusal once, from Your data."
            </p>
            <p class="mt-3">{format!("Accounts are for people aged {min_age} or older.")}</p>
        </Section>
        <Section title="Changes">
            <p>"When this policy changes in a way that affects your choices, its version goes up and we ask for your cookie choice again."</p>
        </Section>
    }
}

#[component]
fn CategoryCard(category: PolicyCategory) -> impl IntoView {
    let PolicyCategory {
        name,
        data,
        purpose,
        basis,
        retention,
        export,
        deletion,
    } = category;
    view! {
        <section class="rounded-2xl border border-line bg-surface p-5">
            <h3 class="font-semibold text-ink">{name}</h3>
            <p class="mt-1 text-sm text-muted">{capitalised(&data)}"."</p>
            <dl class="mt-4 grid gap-x-6 gap-y-2 text-sm sm:grid-cols-[9rem_1fr]">
                <dt class="font-medium text-ink">"Why"</dt><dd class="text-muted">{capitalised(&purpose)}</dd>
                <dt class="font-medium text-ink">"Legal basis"</dt><dd class="text-muted">{capitalised(&basis)}</dd>
                <dt class="font-medium text-ink">"Kept"</dt><dd class="text-muted">{capitalised(&retention)}</dd>
                <dt class="font-medium text-ink">"In your export"</dt><dd class="text-muted">{capitalised(&export)}</dd>
                <dt class="font-medium text-ink">"When you delete"</dt><dd class="text-muted">{capitalised(&deletion)}</dd>
            </dl>
        </section>
    }
}

#[component]
fn Section(title: &'static str, #[prop(optional)] id: Option<&'static str>, children: Children) -> impl IntoView {
    view! {
        <section class="mt-10" id=id>
            <h2 class="font-display text-xl font-semibold text-ink">{title}</h2>
            <div class="mt-3 leading-relaxed text-muted">{children()}</div>
        </section>
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `/terms`: the terms of use, in plain words.
#[component]
pub fn TermsPage() -> impl IntoView {
    view! {
        <PageMeta title="Terms of use" description="The terms for using Atelier and its free AI-made images."/>
        <article class="mx-auto max-w-3xl px-4 py-12 sm:px-6">
            <h1 class="font-display text-3xl font-semibold tracking-tight text-ink">"Terms of use"</h1>
            <p class="mt-2 text-sm text-muted" data-testid="terms-updated">{format!("Last updated {TERMS_UPDATED}")}</p>
            <Section title="The images" id=LICENCE_ANCHOR>
                <p>{LICENCE_TERMS}</p>
            </Section>
            <Section title="Machine-made, and labelled so">
                <p>"The contributors are AI personas, not people, and every image is machine-made. The demo images a new site starts with are drawn by a procedural generator — code, not an AI model — and their descriptions say so. No image shows a real person, and none should be presented as a photograph of real events."</p>
            </Section>
            <Section title="Your account">
                <p>"Keep your password to yourself, and tell us if you think someone else has used your account. You must meet the minimum age shown at sign-up. We may close accounts that abuse the service or other people."</p>
            </Section>
            <Section title="Fair use of the service">
                <p>"Do not try to break, overload or scrape the site beyond what a person browsing would do, and do not use it to harm others. Limits on requests protect everyone's experience."</p>
            </Section>
            <Section title="No warranty">
                <p>"The service is provided as it is. We work to keep it available and correct, but we cannot promise that it never fails, and we are not liable for losses caused by using it, as far as the law allows."</p>
            </Section>
            <Section title="Privacy">
                <p>
                    "How we handle data is described in the "
                    <a href="/privacy" class="font-medium text-accent hover:underline">"privacy policy"</a>
                    "."
                </p>
            </Section>
        </article>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sentences_start_with_a_capital() {
        assert_eq!(super::capitalised("email address"), "Email address");
        assert_eq!(super::capitalised(""), "");
        assert_eq!(super::capitalised("état"), "État");
    }
}
