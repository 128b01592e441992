//! /admin/requests: corrections and appeals waiting for a person, the soonest due first,
//! each answered with words the member will read (by email and on their data page).

use super::api::{waiting_requests, DecideRequest, WaitingRequest};
use crate::{
    dates::format_day,
    ui::{
        form::{action_error, FormAlert, SubmitButton},
        meta::PageMeta,
        status::MembersOnly,
    },
};
use leptos::{form::ActionForm, prelude::*};

#[component]
pub fn RequestsQueuePage() -> impl IntoView {
    let decide = ServerAction::<DecideRequest>::new();
    let waiting = Resource::new(move || decide.version().get(), |_| waiting_requests());
    let error = action_error(decide);
    view! {
        <PageMeta title="Data requests" description="Corrections and appeals waiting for an answer."/>
        <section class="mx-auto max-w-4xl px-4 py-12 sm:px-6">
            <h1 class="font-display text-3xl font-semibold tracking-tight text-ink">"Data requests"</h1>
            <p class="mt-2 text-muted">
                "Corrections members asked for and appeals against refusals. Each must be answered by the date shown; the member reads your answer."
            </p>
            <div class="mt-6"><FormAlert error/></div>
            <MembersOnly data=waiting loading="Loading requests…" sign_in="Sign in as an administrator to answer data requests"
                path="/admin/requests" loaded={move |list: Vec<WaitingRequest>| if list.is_empty() {
                    view! {
                        <p class="card mt-8 text-center text-muted" data-testid="requests-empty">"Nothing is waiting. Every request has been answered."</p>
                    }.into_any()
                } else {
                    view! {
                        <ul class="mt-8 space-y-4" data-testid="requests-queue">
                            {list.into_iter().map(|waiting| view! { <Waiting waiting action=decide/> }).collect_view()}
                        </ul>
                    }.into_any()
                }}/>
        </section>
    }
}

#[component]
fn Waiting(waiting: WaitingRequest, action: ServerAction<DecideRequest>) -> impl IntoView {
    let WaitingRequest {
        request,
        email,
        answer_by,
    } = waiting;
    let appealed = request.appeal_status.is_some();
    let title = if appealed {
        format!("Appeal against a refused {}", request.kind_label().to_lowercase())
    } else {
        request.kind_label().to_owned()
    };
    let (grant, refuse) = if appealed {
        ("Uphold the appeal", "Reject the appeal")
    } else {
        ("Corrected", "Refuse")
    };
    let field_id = format!("outcome-{}", request.id);
    view! {
        <li class="card space-y-3" data-request-id=request.id>
            <div class="flex flex-wrap items-baseline justify-between gap-2">
                <h2 class="font-semibold text-ink">{title}</h2>
                <p class="text-sm text-muted">{format!("Answer by {}", format_day(answer_by))}</p>
            </div>
            <p class="text-sm text-muted">
                {format!("From {} · asked {}", email.unwrap_or_else(|| "a deleted account".into()), format_day(request.created_at))}
            </p>
            {request.details.map(|details| view! { <p class="whitespace-pre-line text-ink">{details}</p> })}
            {request.outcome.map(|outcome| view! { <p class="text-sm text-ink">{format!("Refused: {outcome}")}</p> })}
            {request.appeal.map(|appeal| view! { <p class="whitespace-pre-line text-ink">{format!("Appeal: {appeal}")}</p> })}
            <ActionForm action attr:class="space-y-3">
                <input type="hidden" name="request_id" value=request.id/>
                <label for=field_id.clone() class="field-label">"Your answer to the member"</label>
                <textarea id=field_id name="outcome" rows="2" maxlength="2000" required=true class="field-input"></textarea>
                <fieldset class="flex flex-wrap gap-4 text-sm text-ink">
                    <legend class="sr-only">"Decision"</legend>
                    <label class="flex items-center gap-2">
                        <input type="radio" name="decision" value="grant" required=true class="accent-[var(--accent)]"/>
                        {grant}
                    </label>
                    <label class="flex items-center gap-2">
                        <input type="radio" name="decision" value="refuse" class="accent-[var(--accent)]"/>
                        {refuse}
                    </label>
                </fieldset>
                <SubmitButton label="Send the answer" busy_label="Sending…" pending=action.pending() class="btn-primary"/>
            </ActionForm>
        </li>
    }
}
