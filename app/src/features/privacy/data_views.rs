//! `/account/data`: everything held about the member with counts and retention, exports
//! with live progress, the member's tracked requests, and account deletion with its
//! grace period. Every form works as a plain post before hydration.

use super::data_api::{
    my_data, AppealRequest, AskCorrection, CancelDeletion, DataOverview, DeleteAccount, ExportInfo, HeldCategory,
    RequestExport, RequestInfo,
};
use crate::{
    dates::format_day,
    features::library::image_page::human_bytes,
    ui::{
        form::{action_error, action_succeeded, Field, FormAlert, SubmitButton},
        meta::PageMeta,
        status::MembersOnly,
    },
};
use leptos::{form::ActionForm, prelude::*};
use leptos_router::hooks::use_query_map;

#[component]
pub fn MyDataPage() -> impl IntoView {
    let request_export = ServerAction::<RequestExport>::new();
    let cancel_deletion = ServerAction::<CancelDeletion>::new();
    let requests = RequestActions {
        correction: ServerAction::<AskCorrection>::new(),
        appeal: ServerAction::<AppealRequest>::new(),
    };
    // Bumped every two seconds while an export is being built, so its progress moves.
    let tick = RwSignal::new(0u32);
    let data = Resource::new(
        move || {
            (
                request_export.version().get(),
                cancel_deletion.version().get(),
                requests.correction.version().get(),
                requests.appeal.version().get(),
                tick.get(),
            )
        },
        |_| my_data(),
    );
    Effect::new(move |_| {
        let building = matches!(data.get(), Some(Ok(ref mine)) if mine.exports.iter().any(ExportInfo::in_progress));
        if building {
            set_timeout(
                move || tick.update(|n| *n = n.wrapping_add(1)),
                std::time::Duration::from_secs(2),
            );
        }
    });
    view! {
        <PageMeta title="Your data" description="Everything Atelier holds about you: see it, download it, or delete your account."/>
        <section class="mx-auto max-w-4xl px-4 py-12 sm:px-6">
            <nav aria-label="Breadcrumb" class="text-sm text-muted">
                <a href="/account" class="hover:text-ink hover:underline">"Your account"</a>
                " / "
            </nav>
            <h1 class="mt-2 font-display text-3xl font-semibold tracking-tight text-ink">"Your data"</h1>
            <p class="mt-2 max-w-2xl text-muted">
                "Everything we hold about you, from the same list that drives our "
                <a href="/privacy" class="font-medium text-accent hover:underline">"privacy policy"</a>
                ", your export and your deletion."
            </p>
            <ArrivalNotice/>
            <MembersOnly data loading="Loading your data…" sign_in="Sign in to see your data" path="/account/data"
                loaded={move |mine| view! { <DataSections mine request_export cancel_deletion requests/> }}/>
        </section>
    }
}

/// The forms that add to or answer the member's tracked requests.
#[derive(Clone, Copy)]
struct RequestActions {
    correction: ServerAction<AskCorrection>,
    appeal: ServerAction<AppealRequest>,
}

/// What the export route sent the member back here for.
#[component]
fn ArrivalNotice() -> impl IntoView {
    let query = use_query_map();
    move || {
        query.read().get("export").map(|_| {
            view! {
                <p class="form-alert mt-6" role="alert" data-testid="export-notice">
                    "That export can no longer be downloaded: exports are deleted 7 days after they are ready. Ask for a new one below."
                </p>
            }
        })
    }
}

#[component]
fn DataSections(
    mine: DataOverview,
    request_export: ServerAction<RequestExport>,
    cancel_deletion: ServerAction<CancelDeletion>,
    requests: RequestActions,
) -> impl IntoView {
    let actions = requests;
    let DataOverview {
        categories,
        exports,
        requests,
        deletion_due,
        grace_days,
        next_export_at,
    } = mine;
    view! {
        {deletion_due.map(|due| view! { <DeletionScheduled due action=cancel_deletion/> })}
        <div class="mt-8 space-y-8">
            {view! { <HeldData categories/> }.into_any()}
            {view! { <Exports exports next_export_at action=request_export/> }.into_any()}
            {(!requests.is_empty()).then(|| view! { <Requests requests appeal=actions.appeal/> }.into_any())}
            {view! { <CorrectionForm action=actions.correction/> }.into_any()}
            {deletion_due.is_none().then(|| view! { <DeleteAccountForm grace_days/> }.into_any())}
        </div>
    }
}

#[component]
fn DeletionScheduled(due: i64, action: ServerAction<CancelDeletion>) -> impl IntoView {
    let error = action_error(action);
    view! {
        <div class="mt-8 rounded-2xl border border-danger/40 bg-danger/5 p-5" role="status" data-testid="deletion-scheduled">
            <p class="font-semibold text-ink">{format!("Your account will be deleted on {}", format_day(due))}</p>
            <p class="mt-1 text-sm text-ink">"Until then nothing is lost. Cancel to keep your account exactly as it is."</p>
            <ActionForm action attr:class="mt-4">
                <SubmitButton label="Cancel the deletion" busy_label="Cancelling…" pending=action.pending() class="btn-primary"/>
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
fn HeldData(categories: Vec<HeldCategory>) -> impl IntoView {
    view! {
        <section class="card" data-testid="held-data">
            <SectionHeading title="What we hold" text="Each kind of data tied to your account, how many records of it there are, and how long we keep it."/>
            <ul class="mt-5 divide-y divide-line">
                {categories.into_iter().map(|category| view! { <HeldRow category/> }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn HeldRow(category: HeldCategory) -> impl IntoView {
    let HeldCategory {
        name,
        data,
        records,
        retention,
        exported,
        manage,
    } = category;
    let count = match records {
        0 => "none".to_owned(),
        1 => "1 record".to_owned(),
        n => format!("{n} records"),
    };
    let key = name.clone();
    view! {
        <li class="grid gap-2 py-4 sm:grid-cols-[1fr_auto]" data-category=key>
            <div>
                <p class="font-medium text-ink">{name}</p>
                <p class="mt-0.5 text-sm text-muted">{data}</p>
                <p class="mt-1 text-xs text-muted">
                    {format!("Kept: {retention}")}
                    {(!exported).then_some(" · not in exports")}
                </p>
            </div>
            <div class="flex items-start gap-3 sm:flex-col sm:items-end">
                <span class="rounded-full bg-sunken px-2.5 py-0.5 text-xs font-semibold text-ink" data-testid="record-count">{count}</span>
                {manage.map(|(label, href)| view! { <a href=href class="text-sm font-medium text-accent hover:underline">{label}</a> })}
            </div>
        </li>
    }
}

#[component]
fn Exports(
    exports: Vec<ExportInfo>,
    next_export_at: Option<i64>,
    action: ServerAction<RequestExport>,
) -> impl IntoView {
    let error = action_error(action);
    view! {
        <section class="card space-y-5" data-testid="exports">
            <SectionHeading title="Download your data"
                text="A zip with one file per kind of data (JSON), a manifest that lists them, and your files. We email you when it is ready; it can be downloaded for 7 days."/>
            {match next_export_at {
                Some(at) => view! {
                    <p class="text-sm text-muted" data-testid="next-export">
                        {format!("You can ask for one export a day. The next can be made on {}.", format_day(at))}
                    </p>
                }.into_any(),
                None => view! {
                    <ActionForm action>
                        <SubmitButton label="Prepare my export" busy_label="Asking…" pending=action.pending() class="btn-primary"/>
                    </ActionForm>
                }.into_any(),
            }}
            <FormAlert error/>
            {(!exports.is_empty()).then(|| view! {
                <ul class="divide-y divide-line" aria-live="polite">
                    {exports.into_iter().map(|export| view! { <ExportRow export/> }).collect_view()}
                </ul>
            })}
        </section>
    }
}

#[component]
fn ExportRow(export: ExportInfo) -> impl IntoView {
    let asked = format!("Asked for on {}", format_day(export.created_at));
    let state = match export.status.as_str() {
        "queued" | "building" => view! {
            <div class="flex items-center gap-3">
                <progress class="h-2 w-40 accent-accent" max="100" value=export.progress aria-label="Export progress"></progress>
                <span class="text-sm text-muted">{format!("Preparing… {}%", export.progress)}</span>
            </div>
        }
        .into_any(),
        "ready" => {
            let size = export.size_bytes.map(|bytes| human_bytes(bytes.max(0) as u64)).unwrap_or_default();
            let until = export.expires_at.map(format_day).unwrap_or_default();
            view! {
                <div class="flex flex-wrap items-center gap-3">
                    <a href=format!("/account/data/exports/{}", export.id) rel="external" download="" class="btn-secondary h-9 px-4"
                        data-testid="download-export">{format!("Download ({size})")}</a>
                    <span class="text-sm text-muted">{format!("Available until {until}")}</span>
                </div>
            }
            .into_any()
        }
        "failed" => view! { <span class="text-sm text-danger">"Could not be prepared. Please ask again."</span> }.into_any(),
        _ => view! { <span class="text-sm text-muted">"Deleted after 7 days"</span> }.into_any(),
    };
    view! {
        <li class="flex flex-wrap items-center justify-between gap-3 py-3" data-export-status=export.status.clone()>
            <span class="text-sm text-ink">{asked}</span>
            {state}
        </li>
    }
}

#[component]
fn Requests(requests: Vec<RequestInfo>, appeal: ServerAction<AppealRequest>) -> impl IntoView {
    view! {
        <section class="card" id="requests" data-testid="requests">
            <SectionHeading title="Your requests"
                text="Every export, deletion, correction, objection and restriction you asked for, with the date we must answer by and what came of it. A refused request can be appealed once."/>
            <ul class="mt-5 divide-y divide-line">
                {requests.into_iter().map(|request| view! { <RequestRow request appeal/> }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn RequestRow(request: RequestInfo, appeal: ServerAction<AppealRequest>) -> impl IntoView {
    let outcome = request
        .outcome
        .clone()
        .unwrap_or_else(|| match request.status.as_str() {
            "open" => "Waiting for an answer".to_owned(),
            other => other.to_owned(),
        });
    let refused = request.status == "refused";
    let appeal_line = request.appeal_status.as_deref().map(|status| match status {
        "open" => "Appealed: waiting for an answer".to_owned(),
        "upheld" => format!("Appeal upheld: {}", request.appeal_outcome.clone().unwrap_or_default()),
        _ => format!("Appeal refused: {}", request.appeal_outcome.clone().unwrap_or_default()),
    });
    let can_appeal = request.can_appeal();
    view! {
        <li class="py-4" data-request-kind=request.kind.clone() data-request-status=request.status.clone()>
            <div class="flex flex-wrap items-baseline justify-between gap-2">
                <p class="font-medium text-ink">{request.kind_label()}</p>
                <p class="text-xs text-muted">
                    {format!("Asked {} · answer due by {}", format_day(request.created_at), format_day(request.due_at))}
                </p>
            </div>
            {request.details.clone().map(|details| view! { <p class="mt-1 whitespace-pre-line text-sm text-muted">{details}</p> })}
            <p class="mt-1 text-sm" class:text-danger=refused class:text-ink=!refused data-testid="request-outcome">
                {if refused { format!("Refused: {outcome}") } else { outcome }}
            </p>
            {appeal_line.map(|line| view! { <p class="mt-1 text-sm text-ink" data-testid="appeal-status">{line}</p> })}
            {can_appeal.then(|| view! { <AppealForm request_id=request.id action=appeal/> })}
        </li>
    }
}

#[component]
fn AppealForm(request_id: i64, action: ServerAction<AppealRequest>) -> impl IntoView {
    let error = action_error(action);
    let field_id = format!("appeal-{request_id}");
    view! {
        <details class="mt-3">
            <summary class="cursor-pointer text-sm font-medium text-accent">"Appeal this decision"</summary>
            <ActionForm action attr:class="mt-3 space-y-3" attr:data-testid="appeal-form">
                <input type="hidden" name="request_id" value=request_id/>
                <label for=field_id.clone() class="field-label">"Why should we look again?"</label>
                <textarea id=field_id name="appeal" rows="3" maxlength="2000" required=true class="field-input"></textarea>
                <FormAlert error/>
                {move || error.get().and_then(|e| e.for_field("appeal")).map(|message| view! { <p class="field-error">{message}</p> })}
                <SubmitButton label="Send the appeal" busy_label="Sending…" pending=action.pending() class="btn-secondary h-9 px-4"/>
            </ActionForm>
        </details>
    }
}

/// Something held that the member cannot edit on their own pages goes to staff.
#[component]
fn CorrectionForm(action: ServerAction<AskCorrection>) -> impl IntoView {
    let error = action_error(action);
    let sent = action_succeeded(action);
    let details_error = Signal::derive(move || error.get().and_then(|e| e.for_field("details")));
    view! {
        <ActionForm action attr:class="card space-y-4" attr:data-testid="correction-form">
            <SectionHeading title="Something wrong?"
                text="Most of what we hold you can change yourself from the links above. For anything else, tell us what is wrong and what it should say; we answer within 30 days."/>
            <FormAlert error/>
            <div>
                <label for="correction-details" class="field-label">"What should we correct?"</label>
                <textarea id="correction-details" name="details" rows="3" maxlength="2000" required=true class="field-input"
                    aria-invalid=move || details_error.get().is_some().to_string()></textarea>
                {move || details_error.get().map(|message| view! { <p class="field-error">{message}</p> })}
            </div>
            <div class="flex flex-wrap items-center gap-4">
                <SubmitButton label="Ask for a correction" busy_label="Sending…" pending=action.pending() class="btn-secondary"/>
                <Show when=move || sent.get()>
                    <span class="text-sm text-ink" role="status">"Sent. It is listed under your requests."</span>
                </Show>
            </div>
        </ActionForm>
    }
}

#[component]
fn DeleteAccountForm(grace_days: u32) -> impl IntoView {
    let action = ServerAction::<DeleteAccount>::new();
    let error = action_error(action);
    let confirm_error = Signal::derive(move || error.get().and_then(|e| e.for_field("confirm")));
    view! {
        <ActionForm action attr:class="card space-y-5 border-danger/40" attr:data-testid="delete-account">
            <SectionHeading title="Delete your account"
                text=format!("You are signed out on every device at once. After {grace_days} days your account and everything it holds are deleted for good; until then, signing in lets you cancel.")/>
            <FormAlert error/>
            <Field label="Your password" name="password" kind="password" autocomplete="current-password" maxlength=256 required=true
                hint="Signed up through a sign-in provider and never set a password? Set one with “Forgot password?” on the sign-in page first." error/>
            <div>
                <label class="flex items-start gap-2 text-sm text-ink">
                    <input type="checkbox" name="confirm" value="yes" required=true class="mt-1"
                        aria-invalid=move || confirm_error.get().is_some().to_string()/>
                    <span>"I understand that my account and everything in it will be deleted."</span>
                </label>
                {move || confirm_error.get().map(|message| view! { <p class="field-error">{message}</p> })}
            </div>
            <SubmitButton label="Delete my account" busy_label="Deleting…" pending=action.pending() class="btn-danger"/>
        </ActionForm>
    }
}
