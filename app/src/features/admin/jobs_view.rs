//! /admin/jobs: the background job queue, failed jobs first, newest first, 50 to a page, each
//! failed job with a Retry button that works as a plain form post. Shows a job's kind and
//! error, never its payload.

use super::{
    api::{list_jobs, RetryJob},
    JobEntry, JobList, JOB_FILTERS,
};
use crate::{
    dates::format_day_time,
    ui::{
        form::{action_error, action_succeeded, FormAlert, SubmitButton},
        meta::PageMeta,
        status::{EmptyState, MembersOnly},
    },
};
use leptos::{form::ActionForm, prelude::*};
use leptos_router::hooks::use_query_map;

/// An error longer than this (or of several lines) shows its start, and all of it opened.
const PREVIEW_CHARS: usize = 160;

#[component]
pub fn JobsQueuePage() -> impl IntoView {
    let query = use_query_map();
    let status = move || query.read().get("status").filter(|status| !status.is_empty());
    let before = move || query.read().get("before").and_then(|before| before.parse::<i64>().ok());
    let retry = ServerAction::<RetryJob>::new();
    let jobs = Resource::new(
        move || (status(), before(), retry.version().get()),
        |(status, before, _)| list_jobs(status, before),
    );
    let error = action_error(retry);
    let retried = action_succeeded(retry);
    view! {
        <PageMeta title="Background jobs" description="Mail, imports, exports and payment events the site works through in the background."/>
        <section class="mx-auto max-w-5xl px-4 py-12 sm:px-6">
            <h1 class="font-display text-3xl font-semibold tracking-tight text-ink">"Background jobs"</h1>
            <p class="mt-2 text-muted">
                "Work the site does in the background: mail, imports, exports and payment events. A job that fails for good is not tried again until you retry it."
            </p>
            <div class="mt-6"><FormAlert error/></div>
            <Show when=move || retried.get()>
                <p role="status" class="mt-4 text-sm text-ink" data-testid="job-retried">
                    "Sent back to the queue. A worker picks it up within seconds."
                </p>
            </Show>
            <MembersOnly data=jobs loading="Loading jobs…" sign_in="Sign in as an administrator to see background jobs"
                path="/admin/jobs" loaded={move |list: JobList| view! { <Jobs list action=retry/> }}/>
        </section>
    }
}

/// The status filters with their counts, one page of jobs (or the empty state) and the pager.
#[component]
fn Jobs(list: JobList, action: ServerAction<RetryJob>) -> impl IntoView {
    let JobList {
        status,
        jobs,
        counts,
        before,
        older,
    } = list;
    let tabs = JOB_FILTERS
        .iter()
        .map(|(key, label)| {
            let count = counts
                .iter()
                .find(|(counted, _)| counted.as_str() == *key)
                .map_or(0, |(_, n)| *n);
            let current = (status == *key).then_some("page");
            view! {
                <a href=format!("/admin/jobs?status={key}") class="sort-tab" aria-current=current>
                    {format!("{label} ({count})")}
                </a>
            }
        })
        .collect_view();
    let body = if jobs.is_empty() {
        let (title, message) = empty_words(&status, before.is_some());
        view! {
            <div data-testid="jobs-empty">
                <EmptyState title message>
                    <a href="/admin/jobs?status=all" class="btn-secondary">"Show every job"</a>
                </EmptyState>
            </div>
        }
        .into_any()
    } else {
        view! {
            <ul class="mt-8 space-y-4" data-testid="jobs">
                {jobs.into_iter().map(|job| view! { <Job job action/> }).collect_view()}
            </ul>
        }
        .into_any()
    };
    let newest = before.is_some().then(|| {
        let href = format!("/admin/jobs?status={status}");
        view! { <a href=href class="btn-secondary">"Newest jobs"</a> }
    });
    let older = older.map(|id| {
        let href = format!("/admin/jobs?status={status}&before={id}");
        view! { <a href=href rel="next" class="btn-secondary ml-auto">"Older jobs"</a> }
    });
    let pager = (newest.is_some() || older.is_some())
        .then(|| view! { <nav aria-label="Pages" class="mt-8 flex flex-wrap gap-3">{newest}{older}</nav> });
    view! {
        <nav aria-label="Job status" class="mt-8 flex w-fit flex-wrap gap-1 rounded-2xl border border-line bg-surface p-1 text-sm">
            {tabs}
        </nav>
        {body}
        {pager}
    }
}

/// The empty state's title and message for a filter.
fn empty_words(status: &str, later_page: bool) -> (&'static str, &'static str) {
    if later_page {
        return (
            "No older jobs",
            "Every job with this status is on the pages before this one.",
        );
    }
    match status {
        "failed" => (
            "Nothing has failed",
            "Every job went through or is still being tried. A job that fails for good shows up here with its error, ready to retry.",
        ),
        "queued" => ("Nothing is waiting", "Every queued job has been picked up by a worker."),
        "running" => ("Nothing is running", "No worker is busy with a job right now."),
        "done" => ("Nothing finished lately", "Finished jobs are kept for 7 days."),
        _ => (
            "No jobs yet",
            "Mail, imports, exports and payment events show up here once the site queues them.",
        ),
    }
}

#[component]
fn Job(job: JobEntry, action: ServerAction<RetryJob>) -> impl IntoView {
    let JobEntry {
        id,
        kind,
        status,
        attempts,
        max_attempts,
        run_at,
        updated_at,
        last_error,
    } = job;
    let failed = status == "failed";
    // run_at only means something for a queued job: a failed one's is the backoff it would
    // have had, and it never runs by itself again.
    let next_run = match status.as_str() {
        "queued" => format_day_time(run_at),
        "running" => "running now".to_owned(),
        "failed" => "only when retried".to_owned(),
        _ => "none".to_owned(),
    };
    let status_class = if failed {
        "text-sm font-semibold uppercase tracking-wide text-danger"
    } else {
        "text-sm font-semibold uppercase tracking-wide text-muted"
    };
    let status_attribute = status.clone();
    view! {
        <li class="card" data-job-id=id data-job-status=status_attribute>
            <div class="flex flex-wrap items-baseline justify-between gap-3">
                <h2 class="font-mono text-sm font-semibold text-ink">{format!("#{id} {kind}")}</h2>
                <p class=status_class>{status}</p>
            </div>
            <dl class="mt-3 grid grid-cols-1 gap-x-6 gap-y-1 text-sm sm:grid-cols-3">
                <div>
                    <dt class="inline text-muted">"Attempts "</dt>
                    <dd class="inline text-ink" data-testid="job-attempts">{format!("{attempts}/{max_attempts}")}</dd>
                </div>
                <div>
                    <dt class="inline text-muted">"Next run "</dt>
                    <dd class="inline text-ink">{next_run}</dd>
                </div>
                <div>
                    <dt class="inline text-muted">"Updated "</dt>
                    <dd class="inline text-ink">{format_day_time(updated_at)}</dd>
                </div>
            </dl>
            {last_error.map(|error| view! { <ErrorText error/> })}
            {failed.then(|| view! {
                <ActionForm action attr:class="mt-4">
                    <input type="hidden" name="id" value=id/>
                    <SubmitButton label="Retry" busy_label="Retrying…" pending=action.pending() class="btn-secondary"/>
                </ActionForm>
            })}
        </li>
    }
}

/// A job's last error: whole when short, else its start, opened to the full text.
#[component]
fn ErrorText(error: String) -> impl IntoView {
    match preview(&error) {
        None => view! {
            <p class="mt-3 whitespace-pre-wrap break-words font-mono text-sm text-danger" data-testid="job-error">{error}</p>
        }
        .into_any(),
        Some(start) => view! {
            <details class="mt-3" data-testid="job-error">
                <summary class="cursor-pointer break-words font-mono text-sm text-danger">{start}</summary>
                <p class="mt-2 whitespace-pre-wrap break-words font-mono text-sm text-ink">{error}</p>
            </details>
        }
        .into_any(),
    }
}

/// The start of an error too long (or too many lines) to show whole: its first line, cut at
/// [`PREVIEW_CHARS`] characters, with an ellipsis. `None` when the error fits.
fn preview(error: &str) -> Option<String> {
    let first_line = error.lines().next().unwrap_or_default();
    let start: String = first_line.chars().take(PREVIEW_CHARS).collect();
    (start.len() < error.len()).then(|| format!("{}…", start.trim_end()))
}

#[cfg(test)]
mod tests {
    use super::{preview, PREVIEW_CHARS};

    #[test]
    fn long_and_multiline_errors_are_cut_between_characters() {
        assert_eq!(preview("the mail API answered 422"), None);
        let long = "é".repeat(PREVIEW_CHARS + 10);
        let start = preview(&long).unwrap();
        assert_eq!(start.chars().count(), PREVIEW_CHARS + 1);
        assert!(start.ends_with('…'));
        assert_eq!(preview("first line\nsecond line").as_deref(), Some("first line…"));
    }
}
