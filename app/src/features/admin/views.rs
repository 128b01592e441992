//! /admin/outbox: the mail the embedded transport wrote, newest first, with a recipient
//! filter. Links in messages are clickable so an operator can follow a sign-up through.

use super::{api::outbox_messages, OutboxEntry};
use crate::{
    dates::format_day,
    ui::{meta::PageMeta, status::MembersOnly},
};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn OutboxPage() -> impl IntoView {
    let query = use_query_map();
    let to = move || query.read().get("to").filter(|to| !to.is_empty());
    let mails = Resource::new(to, outbox_messages);
    view! {
        <PageMeta title="Mail outbox" description="Mail written by the local outbox transport."/>
        <section class="mx-auto max-w-4xl px-4 py-12 sm:px-6">
            <h1 class="font-display text-3xl font-semibold tracking-tight text-ink">"Mail outbox"</h1>
            <p class="mt-2 text-muted">"Messages the site sent while mail goes to the local outbox. Kept for 7 days."</p>
            <form method="get" action="/admin/outbox" class="mt-6 flex flex-wrap items-end gap-3" role="search">
                <div class="grow">
                    <label for="outbox-to" class="field-label">"Recipient"</label>
                    <input id="outbox-to" name="to" type="email" value=to class="field-input" placeholder="someone@example.org"/>
                </div>
                <button type="submit" class="btn-secondary">"Filter"</button>
            </form>
            <MembersOnly data=mails loading="Loading mail…" sign_in="Sign in as an administrator to read the outbox"
                path="/admin/outbox" loaded={|list: Vec<OutboxEntry>| if list.is_empty() {
                    view! { <p class="card mt-8 text-center text-muted" data-testid="outbox-empty">"No mail yet."</p> }.into_any()
                } else {
                    view! {
                        <ul class="mt-8 space-y-4" data-testid="outbox">
                            {list.into_iter().map(|mail| view! { <OutboxItem mail/> }).collect_view()}
                        </ul>
                    }.into_any()
                }}/>
        </section>
    }
}

#[component]
fn OutboxItem(mail: OutboxEntry) -> impl IntoView {
    let lines = mail
        .text
        .lines()
        .map(|line| {
            let line = line.to_owned();
            if line.starts_with("https://") || line.starts_with("http://") {
                let href = line.clone();
                view! { <a href=href class="break-all text-accent underline">{line}</a><br/> }.into_any()
            } else {
                view! { {line}<br/> }.into_any()
            }
        })
        .collect_view();
    view! {
        <li class="card" data-mail-id=mail.id>
            <details>
                <summary class="cursor-pointer">
                    <span class="font-semibold text-ink">{mail.subject}</span>
                    <span class="ml-2 text-sm text-muted">{format!("to {} · {}", mail.to, format_day(mail.created_at))}</span>
                </summary>
                <p class="mt-4 whitespace-pre-wrap break-words font-mono text-sm text-ink">{lines}</p>
            </details>
        </li>
    }
}
