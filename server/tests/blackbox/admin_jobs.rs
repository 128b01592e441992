//! /admin/jobs and the mail jobs it exists for: a mail the provider refuses fails after one
//! attempt and is never sent again by itself, shown to admins with its error; a provider
//! that is down is retried with backoff until the job's attempts run out; only admins see
//! the page or retry; a retry, however often it is clicked at once, sends the mail once.

use crate::{
    collections::{fields, futures_join_all, owned_post},
    mail::{scripted_mail_api, Received},
    support::{
        members::{create_admin, create_member, error_of, location, post_form, signed_in, BROWSER_ACCEPT},
        spawn_app_with, TestApp,
    },
};
use app::{
    error::AppError,
    features::admin::{
        api::{ListJobs, RetryJob},
        JobList,
    },
    platform::{
        clock::now_unix,
        jobs::{retry_delay_seconds, JobError, JobRecord, JobStatus, DEFAULT_MAX_ATTEMPTS},
        mail::{templates, MAIL_JOB},
    },
};
use leptos::server_fn::ServerFn;
use std::time::Duration;

const BOUNCE: &str = "bounce@example.org";
const ADA: &str = "ada@example.org";
const ADMIN: &str = "admin@example.org";
const MEMBER: &str = "member@example.org";

/// An app whose mail goes to the fake provider at `api`, with one job worker.
async fn app_mailing_through(api: String) -> TestApp {
    spawn_app_with(
        move |values| {
            values.insert("ATELIER_MAIL_TRANSPORT".into(), "http".into());
            values.insert("ATELIER_MAIL_API_URL".into(), api);
            values.insert("ATELIER_MAIL_API_KEY".into(), "re_test_key".into());
        },
        server::jobs::registry(),
    )
    .await
}

/// An app without job workers: the test moves jobs through the queue by hand.
async fn app_without_workers() -> TestApp {
    spawn_app_with(
        |values| {
            values.insert("ATELIER_JOB_WORKERS".into(), "0".into());
        },
        server::jobs::registry(),
    )
    .await
}

/// Creates the administrator and returns their session cookie.
async fn admin_cookie(app: &TestApp) -> String {
    create_admin(app, ADMIN, "Admin").await;
    signed_in(app, ADMIN).await
}

/// The job as the queue records it.
async fn job(app: &TestApp, id: i64) -> JobRecord {
    app.state
        .jobs
        .list(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .find(|job| job.id == id)
        .expect("the job exists")
}

/// Waits (up to 15 s) until the job is in a state `reached` accepts, and returns it.
async fn wait_for_job(app: &TestApp, id: i64, what: &str, reached: impl Fn(&JobRecord) -> bool) -> JobRecord {
    for _ in 0..300 {
        let record = job(app, id).await;
        if reached(&record) {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job #{id} never became {what}: {:?}", job(app, id).await);
}

/// Moves the job's next run to the past, as if its backoff had been waited out.
async fn make_due(app: &TestApp, id: i64) {
    sqlx::query("UPDATE jobs SET run_at = 0 WHERE id = $1")
        .bind(id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
}

/// Queues a mail to `to` and returns its job id.
async fn mail_to(app: &TestApp, to: &str) -> i64 {
    app.state
        .jobs
        .enqueue(MAIL_JOB, &templates::password_changed("Atelier", to))
        .await
        .unwrap()
}

/// How many messages to `to` reached the fake provider.
fn sent_to(received: &Received, to: &str) -> usize {
    received
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, message)| message["to"][0] == to)
        .count()
}

/// The list server function, as `cookie`'s bearer.
async fn listed(app: &TestApp, cookie: &str, form: &[(&str, &str)]) -> JobList {
    let response = post_form(app, ListJobs::PATH, Some(cookie), form).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn ids(list: &JobList) -> Vec<i64> {
    list.jobs.iter().map(|job| job.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_the_provider_refuses_fails_after_one_attempt_and_is_never_sent_again() {
    let (api, received) = scripted_mail_api(|_, message| if message["to"][0] == BOUNCE { 422 } else { 200 }).await;
    let app = app_mailing_through(api).await;
    let admin = admin_cookie(&app).await;
    let refused = mail_to(&app, BOUNCE).await;

    let failed = wait_for_job(&app, refused, "failed", |job| job.status == JobStatus::Failed).await;
    assert_eq!((failed.attempts, failed.max_attempts), (1, DEFAULT_MAX_ATTEMPTS));
    let error = failed.last_error.unwrap_or_default();
    assert!(error.contains("422"), "{error}");
    assert!(error.contains("bounce@example.org was not accepted"), "{error}");
    assert_eq!(sent_to(&received, BOUNCE), 1);

    // Past its backoff (moved rather than waited out), a newer mail goes through. The worker
    // takes due jobs oldest first, so had the failed one been claimable it would have gone
    // before it.
    make_due(&app, refused).await;
    let delivered = mail_to(&app, ADA).await;
    wait_for_job(&app, delivered, "done", |job| job.status == JobStatus::Done).await;
    let after = job(&app, refused).await;
    assert_eq!((after.status, after.attempts), (JobStatus::Failed, 1));
    assert_eq!(
        sent_to(&received, BOUNCE),
        1,
        "the refused mail is never sent again by itself"
    );

    // The admin finds it on the page, failed jobs being what it shows first, with its error
    // and its attempts, but not the message itself.
    let page = app.page_with_cookie("/admin/jobs", &admin).await;
    assert!(page.contains(&format!("data-job-id=\"{refused}\"")), "{page:.4000}");
    assert!(
        !page.contains(&format!("data-job-id=\"{delivered}\"")),
        "a delivered mail is not failed"
    );
    assert!(page.contains("mail.deliver"));
    assert!(
        page.contains("bounce@example.org was not accepted"),
        "the error is shown"
    );
    assert!(page.contains("1/5"), "its attempts are shown");
    assert!(
        !page.contains("password was changed") && !page.contains("Every device that was signed in"),
        "the payload (subject and body) is never shown"
    );
    let failed_list = listed(&app, &admin, &[]).await;
    assert_eq!(failed_list.status, "failed");
    assert_eq!(ids(&failed_list), [refused]);
    assert!(failed_list.counts.contains(&("failed".to_owned(), 1)));
    let done_list = listed(&app, &admin, &[("status", "done")]).await;
    assert_eq!(ids(&done_list), [delivered]);
    let everything = listed(&app, &admin, &[("status", "all")]).await;
    assert_eq!(ids(&everything), [delivered, refused], "newest first");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_is_down_is_retried_with_backoff_until_the_attempts_run_out() {
    let (api, received) = scripted_mail_api(|_, message| if message["to"][0] == ADA { 200 } else { 503 }).await;
    let app = app_mailing_through(api).await;
    let id = app
        .state
        .jobs
        .enqueue_at(MAIL_JOB, &templates::password_changed("Atelier", BOUNCE), now_unix(), 3)
        .await
        .unwrap();

    for attempt in 1..=2 {
        let waiting = wait_for_job(&app, id, "queued again", |job| {
            job.attempts == attempt && job.status == JobStatus::Queued
        })
        .await;
        assert_eq!(
            waiting.run_at - waiting.updated_at,
            retry_delay_seconds(attempt),
            "attempt {attempt} is followed by its backoff"
        );
        assert!(waiting.last_error.unwrap_or_default().contains("503"));
        assert_eq!(sent_to(&received, BOUNCE), attempt as usize);
        make_due(&app, id).await;
    }
    let failed = wait_for_job(&app, id, "failed", |job| job.status == JobStatus::Failed).await;
    assert_eq!((failed.attempts, failed.max_attempts), (3, 3));
    assert_eq!(sent_to(&received, BOUNCE), 3);

    // Out of attempts, it stays failed even when due: a later mail is delivered past it.
    make_due(&app, id).await;
    let later = mail_to(&app, ADA).await;
    wait_for_job(&app, later, "done", |job| job.status == JobStatus::Done).await;
    assert_eq!(job(&app, id).await.attempts, 3);
    assert_eq!(sent_to(&received, BOUNCE), 3, "no fourth attempt");
    app.stop().await;
}

/// A failed job made by hand (the app has no workers): a refused mail after one attempt.
async fn failed_mail_job(app: &TestApp) -> i64 {
    let queue = &app.state.jobs;
    let id = queue
        .enqueue_at(MAIL_JOB, &templates::password_changed("Atelier", BOUNCE), now_unix(), 5)
        .await
        .unwrap();
    let claimed = queue.claim("test", &[MAIL_JOB]).await.unwrap().expect("the job is due");
    let refusal = JobError::Permanent("the mail API answered 422: bounce@example.org was not accepted".into());
    assert_eq!(queue.fail(&claimed, &refusal).await.unwrap(), JobStatus::Failed);
    id
}

#[tokio::test]
async fn only_admins_see_jobs_and_retry_them_and_the_form_works_without_javascript() {
    let app = app_without_workers().await;
    let admin = admin_cookie(&app).await;
    create_member(&app, MEMBER, "Member", true).await;
    let member = signed_in(&app, MEMBER).await;

    // Nothing has failed yet: the designed empty state.
    let empty = app.page_with_cookie("/admin/jobs", &admin).await;
    assert!(empty.contains("data-testid=\"jobs-empty\""), "{empty:.4000}");
    assert!(empty.contains("Nothing has failed"));

    let id = failed_mail_job(&app).await;
    let id_text = id.to_string();
    let retry_form = [("id", id_text.as_str())];
    for (path, form) in [(ListJobs::PATH, &[][..]), (RetryJob::PATH, &retry_form[..])] {
        assert_eq!(
            error_of(post_form(&app, path, None, form).await).await,
            AppError::Unauthorized,
            "{path} as a visitor"
        );
        assert_eq!(
            error_of(post_form(&app, path, Some(&member), form).await).await,
            AppError::Forbidden,
            "{path} as a member"
        );
    }
    assert_eq!(
        job(&app, id).await.status,
        JobStatus::Failed,
        "nobody but an admin retried it"
    );

    let visitor_page = app.get("/admin/jobs").await.text().await.unwrap();
    assert!(visitor_page.contains("/signin?next=/admin/jobs"), "a sign-in prompt");
    let member_page = app.page_with_cookie("/admin/jobs", &member).await;
    assert!(member_page.contains("have access to that"), "{member_page:.4000}");
    for page in [&visitor_page, &member_page] {
        assert!(
            !page.contains("was not accepted"),
            "no error text reaches anyone but an admin"
        );
        assert!(!page.contains(&format!("data-job-id=\"{id}\"")));
    }
    let admin_page = app.page_with_cookie("/admin/jobs", &admin).await;
    assert!(
        admin_page.contains(&format!("data-job-id=\"{id}\"")),
        "{admin_page:.4000}"
    );
    assert!(admin_page.contains("Retry"));

    // The Retry button as a browser without JavaScript posts it: back to the page it was on.
    let from = app.url("/admin/jobs?status=failed");
    let plain_post = |cookie: String| {
        app.client
            .post(app.url(RetryJob::PATH))
            .header("cookie", cookie)
            .header("accept", BROWSER_ACCEPT)
            .header("referer", from.clone())
            .form(&[("id", id.to_string())])
            .send()
    };
    let retried = plain_post(admin.clone()).await.unwrap();
    assert_eq!(retried.status(), 302);
    assert!(location(&retried).starts_with(&from), "{}", location(&retried));
    assert!(!location(&retried).contains("__err"), "{}", location(&retried));
    let requeued = job(&app, id).await;
    assert_eq!(
        (requeued.status, requeued.attempts),
        (JobStatus::Queued, 0),
        "fresh attempts"
    );

    // Again: it is no longer failed, and the page says so.
    let again = plain_post(admin.clone()).await.unwrap();
    assert_eq!(again.status(), 302);
    let back = location(&again);
    assert!(back.contains("__err="), "{back}");
    let path = back.strip_prefix(&app.base_url).expect("back to this site");
    let page = app.page_with_cookie(path, &admin).await;
    assert!(page.contains("only a failed job can be retried"), "{page:.4000}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_clicked_many_times_at_once_sends_the_failed_mail_once() {
    // The provider refuses the first message and accepts the rest, as when the problem
    // behind a refusal has been fixed.
    let (api, received) = scripted_mail_api(|earlier, _| if earlier == 0 { 422 } else { 200 }).await;
    let app = app_mailing_through(api).await;
    let admin = admin_cookie(&app).await;
    let id = mail_to(&app, BOUNCE).await;
    wait_for_job(&app, id, "failed", |job| job.status == JobStatus::Failed).await;

    let form = fields(&[("id", &id.to_string())]);
    let clicks = (0..8).map(|_| owned_post(&app, RetryJob::PATH, &admin, None, form.clone()));
    let mut requeued = 0;
    for response in futures_join_all(clicks).await {
        if response.status() == 200 {
            requeued += 1;
        } else {
            let refused = error_of(response).await;
            assert!(matches!(refused, AppError::Invalid(_)), "{refused:?}");
        }
    }
    assert_eq!(
        requeued, 1,
        "one click sends it back to the queue; the others are told it is not failed"
    );

    let delivered = wait_for_job(&app, id, "done", |job| job.status == JobStatus::Done).await;
    assert_eq!(delivered.attempts, 1, "one attempt after the retry");
    assert_eq!(sent_to(&received, BOUNCE), 2, "the refusal, then exactly one retry");
    let done = listed(&app, &admin, &[("status", "done")]).await;
    assert_eq!(ids(&done), [id]);
    app.stop().await;
}

#[tokio::test]
async fn jobs_are_listed_newest_first_fifty_to_a_page() {
    let app = app_without_workers().await;
    let admin = admin_cookie(&app).await;
    let mut queued = Vec::new();
    for n in 0..55 {
        queued.push(
            app.state
                .jobs
                .enqueue("test.idle", &serde_json::json!({ "n": n }))
                .await
                .unwrap(),
        );
    }
    queued.reverse();
    let first = listed(&app, &admin, &[("status", "queued")]).await;
    assert_eq!(ids(&first), queued[..50]);
    assert_eq!(first.before, None);
    assert_eq!(first.older, Some(queued[49]));
    assert!(first.counts.contains(&("queued".to_owned(), 55)));
    let older = first.older.unwrap().to_string();
    let second = listed(&app, &admin, &[("status", "queued"), ("before", &older)]).await;
    assert_eq!(ids(&second), queued[50..]);
    assert_eq!(second.older, None, "the last page");

    let page = app.page_with_cookie("/admin/jobs?status=queued", &admin).await;
    assert!(
        page.contains(&format!("/admin/jobs?status=queued&amp;before={older}"))
            || page.contains(&format!("/admin/jobs?status=queued&before={older}")),
        "a link to the older jobs"
    );
    let unknown = error_of(post_form(&app, ListJobs::PATH, Some(&admin), &[("status", "stuck")]).await).await;
    assert!(matches!(unknown, AppError::Invalid(_)), "{unknown:?}");
    app.stop().await;
}
