//! The header's account menu and the session list. Forms are `ActionForm`s: they post and
//! redirect without JavaScript and update in place with it.

use super::api::{who_am_i, EndAllSessions, EndSession, SignOut};
use super::SessionInfo;
use crate::{
    dates::format_day,
    ui::{layout::PhoneMenu, meta::PageMeta, status::MembersOnly},
};
use leptos::{form::ActionForm, prelude::*};
use leptos_router::hooks::use_location;

/// The header's account area: “Sign in”, or the member's name and “Sign out”, and on small
/// screens the menu that holds them with the main links. Refetched on every navigation and
/// after signing out, so it follows both.
#[component]
pub fn AccountMenu() -> impl IntoView {
    let location = use_location();
    let sign_out = ServerAction::<SignOut>::new();
    // Signing out on the page it redirects to does not change the path, so the action's
    // version is part of the key too.
    let member = Resource::new(
        move || (location.pathname.get(), sign_out.version().get()),
        |_| who_am_i(),
    );
    // Grids mark the tiles a member saved; they ask only once someone is signed in.
    if let Some(marks) = crate::features::collections::save_views::saved_marks() {
        Effect::new(move |_| {
            if let Some(result) = member.get() {
                marks.signed_in.set(matches!(result, Ok(Some(_))));
            }
        });
    }
    view! {
        <div class="flex min-w-20 items-center justify-end gap-1" data-testid="account-menu">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match member.await {
                        Ok(Some(member)) => {
                            let name = member.display_name;
                            view! {
                                <div class="hidden items-center gap-1 md:flex">
                                    <a href="/collections" class="nav-link" data-testid="nav-collections">"Collections"</a>
                                    <a href="/chat" class="nav-link" data-testid="nav-chat">"Chats"</a>
                                    <a href="/account" class="nav-link max-w-40 truncate" data-testid="member-name">
                                        {name.clone()}
                                    </a>
                                    <ActionForm action=sign_out>
                                        <button type="submit" class="nav-link">"Sign out"</button>
                                    </ActionForm>
                                </div>
                                <PhoneMenu>
                                    <hr class="my-1 border-line"/>
                                    <a href="/collections" class="nav-link">"Collections"</a>
                                    <a href="/chat" class="nav-link">"Chats"</a>
                                    <a href="/account" class="nav-link truncate">{format!("Account · {name}")}</a>
                                    <ActionForm action=sign_out>
                                        <button type="submit" class="nav-link w-full text-left">"Sign out"</button>
                                    </ActionForm>
                                </PhoneMenu>
                            }.into_any()
                        }
                        _ => view! {
                            <a href="/signin" class="btn-secondary h-9 px-4">"Sign in"</a>
                            <PhoneMenu/>
                        }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}

#[component]
pub fn SessionsPage() -> impl IntoView {
    let end_one = ServerAction::<EndSession>::new();
    let end_all = ServerAction::<EndAllSessions>::new();
    let sessions = Resource::new(
        move || (end_one.version().get(), end_all.version().get()),
        |_| super::api::my_sessions(),
    );
    view! {
        <PageMeta title="Your sessions" description="See where you are signed in and sign out of any device."/>
        <section class="mx-auto max-w-3xl px-4 py-12 sm:px-6">
            <h1 class="font-display text-3xl font-semibold tracking-tight text-ink">"Where you're signed in"</h1>
            <p class="mt-2 text-muted">"Sign out of any session you don't recognise. Places are shown by country only."</p>
            <MembersOnly data=sessions loading="Loading your sessions…" sign_in="Sign in to see your sessions" path="/account/sessions"
                loaded={move |list| view! { <SessionList list end_one end_all/> }}/>
        </section>
    }
}

#[component]
fn SessionList(
    list: Vec<SessionInfo>,
    end_one: ServerAction<EndSession>,
    end_all: ServerAction<EndAllSessions>,
) -> impl IntoView {
    let count = list.len();
    view! {
        <ul class="mt-8 divide-y divide-line rounded-2xl border border-line bg-surface" data-testid="session-list">
            {list
                .into_iter()
                .map(|session| {
                    let place = session.country.clone().unwrap_or_else(|| "Unknown place".to_owned());
                    let handle = session.handle.clone();
                    let form_handle = session.handle.clone();
                    view! {
                        <li class="flex flex-wrap items-center justify-between gap-4 p-5" data-session=handle>
                            <div>
                                <p class="font-medium text-ink">
                                    {session.device.clone()}
                                    {session.current.then(|| view! { <span class="ml-2 rounded-full bg-accent/15 px-2 py-0.5 text-xs font-semibold text-accent">"This device"</span> })}
                                </p>
                                <p class="mt-1 text-sm text-muted">
                                    {format!("{place} · last active {} · signed in {}", format_day(session.last_seen_at), format_day(session.created_at))}
                                    {session.remembered.then_some(" · remembered")}
                                </p>
                            </div>
                            <ActionForm action=end_one>
                                <input type="hidden" name="handle" value=form_handle.clone()/>
                                <button type="submit" class="btn-secondary h-9 px-4">"Sign out this session"</button>
                            </ActionForm>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        <div class="mt-6 flex items-center justify-between gap-4">
            <p class="text-sm text-muted">{if count == 1 { "1 active session".to_owned() } else { format!("{count} active sessions") }}</p>
            <ActionForm action=end_all>
                <button type="submit" class="btn-primary" data-testid="sign-out-everywhere">"Sign out everywhere"</button>
            </ActionForm>
        </div>
    }
}
