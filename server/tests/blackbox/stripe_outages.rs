//! Stripe answering 500 or not answering at all, at every place a member waits on it —
//! Checkout for a plan or a pack, the billing portal, the page back from Checkout — and in
//! the webhook job's re-reads of sessions and subscriptions. Each time the member is told
//! so within the client's timeout × its attempts (the fake answers far later than that),
//! nothing half-done is stored, and the same form sent again once Stripe is back works
//! without making a second customer or session. The apps here wait `TIMEOUT` per attempt
//! instead of production's `REQUEST_TIMEOUT`.

use crate::billing::{balance, billing_row, browser_post, checkout, member, open_stripe_jobs, webhook, OPERATION};
use crate::collections::{fields, futures_join_all, owned_post};
use crate::support::{
    count_rows,
    fake_stripe::{event, FakeStripe, PERIOD_END, WEBHOOK_SECRET},
    members::{error_of, location, post_form},
    spawn_app_tuned, TestApp,
};
use app::{
    error::AppError,
    features::billing::{
        account,
        api::{
            BuyCredits, CheckoutOutcome, ConfirmCheckout, OpenBillingPortal, StartCheckout, PAYMENT_UNCONFIRMED,
            STRIPE_UNREACHABLE,
        },
        plans::Plan,
        stripe::READ_ATTEMPTS,
    },
    platform::clock::now_unix,
};
use leptos::server_fn::ServerFn;
use serde_json::json;
use std::{
    future::Future,
    time::{Duration, Instant},
};

/// How long these apps let one attempt at Stripe take. Long enough that a healthy answer
/// from the fake on a loaded machine is never cut short.
const TIMEOUT: Duration = Duration::from_secs(2);
/// How late the slow fake answers: far beyond any bound below, so a request that comes
/// back within its bound was ended by the app's own timeout, not by Stripe's answer.
const LATE: Duration = Duration::from_secs(40);
/// Slack for a loaded machine: the app's own work, the database, scheduling.
const MARGIN: Duration = Duration::from_secs(5);
/// Another form's operation (the pack's, or the portal's after a reload).
const OTHER_OPERATION: &str = "fedcba9876543210fedcba9876543210";

/// The longest a member waits on `writes` creates in a row (each sent once) and `reads`
/// reads (each tried `READ_ATTEMPTS` times), plus the margin.
fn bound(writes: u32, reads: u32) -> Duration {
    TIMEOUT * (writes + reads * READ_ATTEMPTS) + MARGIN
}

/// An app paying through `stripe`, whose Stripe client gives up an attempt after `TIMEOUT`.
async fn app_with_timeout(stripe: &FakeStripe) -> TestApp {
    spawn_app_tuned(
        |values| stripe.configure(values),
        |config| {
            config.stripe.as_mut().expect("payments are configured").request_timeout = TIMEOUT;
        },
        server::jobs::registry(),
    )
    .await
}

/// Awaits `request`, failing the test unless it is answered within `limit`.
async fn within<T>(limit: Duration, request: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let answer = request.await;
    let took = started.elapsed();
    assert!(took <= limit, "answered after {took:?}, later than {limit:?}");
    answer
}

/// The answer is the refusal a member sees when Stripe fails: an `Invalid` with the text.
async fn assert_told(response: reqwest::Response, expected: &str) {
    match error_of(response).await {
        AppError::Invalid(message) => assert_eq!(message, expected),
        other => panic!("expected “{expected}”, got {other:?}"),
    }
}

/// How many billing rows the member has (none, or one).
async fn billing_rows(app: &TestApp, user_id: i64) -> i64 {
    sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM billing_accounts WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

async fn customer_of(app: &TestApp, user_id: i64) -> Option<String> {
    account::customer_of(&app.state.db, user_id).await.unwrap()
}

/// The idempotency keys of the creates sent to `path`, in order.
fn keys_sent(stripe: &FakeStripe, path: &str) -> Vec<Option<String>> {
    stripe
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .map(|r| r.idempotency_key)
        .collect()
}

/// How many times Stripe was asked for `path`.
fn reads_of(stripe: &FakeStripe, path: &str) -> usize {
    stripe
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == path)
        .count()
}

async fn confirm(app: &TestApp, cookie: &str, session: &str) -> reqwest::Response {
    post_form(app, ConfirmCheckout::PATH, Some(cookie), &[("session_id", session)]).await
}

#[tokio::test]
async fn a_checkout_stripe_answers_with_500_is_refused_at_once_and_the_same_form_works_after() {
    let stripe = FakeStripe::start().await;
    let app = app_with_timeout(&stripe).await;
    let (user_id, cookie) = member(&app, "pat@example.org").await;
    let plan = [("plan", "pro"), ("interval", "monthly"), ("operation", OPERATION)];

    // Stripe cannot make the customer: nothing is stored that a retry would trip over.
    stripe.fail_writes("/v1/customers");
    let refused = within(bound(2, 0), post_form(&app, StartCheckout::PATH, Some(&cookie), &plan)).await;
    assert_told(refused, STRIPE_UNREACHABLE).await;
    assert_eq!(billing_rows(&app, user_id).await, 0);
    assert_eq!(keys_sent(&stripe, "/v1/customers").len(), 1, "a create is sent once");
    stripe.restore_writes("/v1/customers");

    // The customer is made, the Checkout Session is not: the customer is kept (Stripe has
    // it), with no subscription, and the member is still on Free.
    stripe.fail_writes("/v1/checkout/sessions");
    let refused = within(bound(2, 0), post_form(&app, StartCheckout::PATH, Some(&cookie), &plan)).await;
    assert_told(refused, STRIPE_UNREACHABLE).await;
    let customer = customer_of(&app, user_id)
        .await
        .expect("the customer Stripe made is kept");
    assert_eq!(billing_row(&app, user_id).await, ("free".to_owned(), None, None));
    assert_eq!(count_rows(&app, "credit_ledger").await, 0);

    // Stripe is back: the same form sent again goes to Checkout, under the same key, and
    // there is one customer and one session at Stripe.
    stripe.restore_writes("/v1/checkout/sessions");
    let session = checkout(&app, &stripe, &cookie, "pro", "monthly").await;
    assert_eq!(stripe.customer_ids(), vec![customer]);
    assert_eq!(stripe.session_ids(), vec![session.clone()]);
    let keys = keys_sent(&stripe, "/v1/checkout/sessions");
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1], "the retry is the same operation");
    stripe.pay(&session);
    let page = app
        .page_with_cookie(&format!("/billing/success?session_id={session}"), &cookie)
        .await;
    assert!(page.contains("You are on Pro now"), "{page}");

    // A pack while Checkout fails: the same message, nothing bought; then the same form works.
    stripe.fail_writes("/v1/checkout/sessions");
    let pack = [("pack", "credits_500"), ("operation", OTHER_OPERATION)];
    let refused = within(bound(2, 0), post_form(&app, BuyCredits::PATH, Some(&cookie), &pack)).await;
    assert_told(refused, STRIPE_UNREACHABLE).await;
    assert_eq!(count_rows(&app, "credit_purchases").await, 0);
    assert_eq!(balance(&app, user_id).await, 1000, "Pro's credits, and no more");
    stripe.restore_writes("/v1/checkout/sessions");
    let response = browser_post(&app, BuyCredits::PATH, &cookie, &pack).await;
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(stripe.session_ids().len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn a_checkout_stripe_does_not_answer_is_given_up_in_time_and_the_same_form_gets_what_stripe_made() {
    let stripe = FakeStripe::start().await;
    let app = app_with_timeout(&stripe).await;
    let (user_id, cookie) = member(&app, "slow@example.org").await;
    let plan = [("plan", "pro"), ("interval", "monthly"), ("operation", OPERATION)];

    // Stripe makes the customer, but its answer comes after the app stopped waiting.
    stripe.slow_down(LATE);
    let refused = within(bound(2, 0), post_form(&app, StartCheckout::PATH, Some(&cookie), &plan)).await;
    assert_told(refused, STRIPE_UNREACHABLE).await;
    assert_eq!(billing_rows(&app, user_id).await, 0, "no answer, no customer stored");
    let made = stripe.customer_ids();
    assert_eq!(made.len(), 1, "Stripe made it all the same");
    assert!(keys_sent(&stripe, "/v1/checkout/sessions").is_empty());

    // Stripe answers again: the member's key gets the customer made during the outage.
    stripe.speed_up();
    let plan_session = checkout(&app, &stripe, &cookie, "pro", "monthly").await;
    assert_eq!(customer_of(&app, user_id).await, Some(made[0].clone()));
    assert_eq!(stripe.customer_ids(), made, "one customer");

    // Now the Checkout Session is late, for a pack submitted twice at once (a double
    // click): both are answered in time, and Stripe made one session for the operation.
    stripe.slow_down(LATE);
    let pack = [("pack", "credits_500"), ("operation", OTHER_OPERATION)];
    let attempts = (0..2).map(|_| owned_post(&app, BuyCredits::PATH, &cookie, None, fields(&pack)));
    let refused = within(bound(1, 0), futures_join_all(attempts)).await;
    for response in refused {
        assert_told(response, STRIPE_UNREACHABLE).await;
    }
    let late: Vec<String> = stripe
        .session_ids()
        .into_iter()
        .filter(|id| *id != plan_session)
        .collect();
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!(count_rows(&app, "credit_purchases").await, 0);
    assert_eq!(balance(&app, user_id).await, 0);

    // The same form once Stripe is back goes to the session made during the outage.
    stripe.speed_up();
    let response = browser_post(&app, BuyCredits::PATH, &cookie, &pack).await;
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(location(&response), format!("{}/pay/{}", stripe.base_url, late[0]));
    assert_eq!(stripe.session_ids().len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn the_billing_portal_while_stripe_fails_or_hangs_says_so_in_time_and_opens_after() {
    let stripe = FakeStripe::start().await;
    let app = app_with_timeout(&stripe).await;
    let (user_id, cookie) = member(&app, "portal@example.org").await;
    checkout(&app, &stripe, &cookie, "pro", "monthly").await;
    let customer = customer_of(&app, user_id).await.expect("a customer");
    let before = billing_row(&app, user_id).await;
    let form = [("operation", OPERATION)];
    let portal = format!("{}/portal/{customer}", stripe.base_url);

    stripe.fail_writes("/v1/billing_portal/sessions");
    let refused = within(
        bound(1, 0),
        post_form(&app, OpenBillingPortal::PATH, Some(&cookie), &form),
    )
    .await;
    assert_told(refused, STRIPE_UNREACHABLE).await;
    stripe.restore_writes("/v1/billing_portal/sessions");
    let response = browser_post(&app, OpenBillingPortal::PATH, &cookie, &form).await;
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(location(&response), portal);

    // On a reloaded page (a new operation) Stripe makes the portal session but answers late.
    let form = [("operation", OTHER_OPERATION)];
    stripe.slow_down(LATE);
    let refused = within(
        bound(1, 0),
        post_form(&app, OpenBillingPortal::PATH, Some(&cookie), &form),
    )
    .await;
    assert_told(refused, STRIPE_UNREACHABLE).await;
    stripe.speed_up();
    let response = browser_post(&app, OpenBillingPortal::PATH, &cookie, &form).await;
    assert_eq!(location(&response), portal);

    // Each form's attempts went under its own operation's key.
    let key = |operation: &str| Some(format!("portal:{customer}:{operation}"));
    assert_eq!(
        keys_sent(&stripe, "/v1/billing_portal/sessions"),
        vec![
            key(OPERATION),
            key(OPERATION),
            key(OTHER_OPERATION),
            key(OTHER_OPERATION)
        ]
    );
    assert_eq!(
        billing_row(&app, user_id).await,
        before,
        "the portal writes nothing here"
    );
    app.stop().await;
}

#[tokio::test]
async fn back_from_checkout_while_stripe_cannot_be_read_the_member_is_told_in_time_and_nothing_is_stored() {
    let stripe = FakeStripe::start().await;
    let app = app_with_timeout(&stripe).await;
    let (user_id, cookie) = member(&app, "back@example.org").await;
    let session = checkout(&app, &stripe, &cookie, "pro", "monthly").await;
    let subscription = stripe.pay(&session);
    let nothing: (String, Option<String>, Option<i64>) = ("free".to_owned(), None, None);

    // The session cannot be read: each read is tried `READ_ATTEMPTS` times, no more.
    stripe.fail_reads(&session);
    let refused = within(bound(0, 2), confirm(&app, &cookie, &session)).await;
    assert_told(refused, PAYMENT_UNCONFIRMED).await;
    assert_eq!(
        reads_of(&stripe, &format!("/v1/checkout/sessions/{session}")),
        READ_ATTEMPTS as usize
    );
    assert_eq!(billing_row(&app, user_id).await, nothing);
    assert_eq!(balance(&app, user_id).await, 0);
    stripe.restore_reads(&session);

    // The session is read, its subscription cannot be: still nothing is written.
    stripe.fail_reads(&subscription);
    let refused = within(bound(0, 2), confirm(&app, &cookie, &session)).await;
    assert_told(refused, PAYMENT_UNCONFIRMED).await;
    assert_eq!(billing_row(&app, user_id).await, nothing);
    assert_eq!(balance(&app, user_id).await, 0);
    stripe.restore_reads(&subscription);

    // Stripe does not answer at all.
    stripe.slow_down(LATE);
    let refused = within(bound(0, 2), confirm(&app, &cookie, &session)).await;
    assert_told(refused, PAYMENT_UNCONFIRMED).await;
    assert_eq!(billing_row(&app, user_id).await, nothing);
    stripe.speed_up();

    // Stripe is back: the plan and its credits, once however often the page is reloaded.
    let subscribed = CheckoutOutcome::Subscribed {
        plan: Plan::Pro,
        balance: 1000,
    };
    for _ in 0..2 {
        let response = confirm(&app, &cookie, &session).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.json::<CheckoutOutcome>().await.unwrap(), subscribed);
    }
    assert_eq!(
        billing_row(&app, user_id).await,
        ("pro".to_owned(), Some("active".to_owned()), Some(PERIOD_END))
    );
    assert_eq!(count_rows(&app, "credit_ledger").await, 1);
    app.stop().await;
}

/// Waits until the job of each event has failed an attempt and is kept for another; a
/// job that finished or gave up fails the test. Returns how long that took.
pub(crate) async fn wait_for_failed_attempt(app: &TestApp, events: &[&str]) -> Duration {
    let started = Instant::now();
    let mut jobs = Vec::new();
    for event in events {
        let job: Option<i64> = sqlx::query_scalar("SELECT job_id FROM stripe_events WHERE event_id = $1")
            .bind(*event)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
        jobs.push(job.expect("a handled event has a job"));
    }
    while started.elapsed() < Duration::from_secs(60) {
        let mut failed = 0;
        for job in &jobs {
            let (status, error): (String, Option<String>) =
                sqlx::query_as("SELECT status, last_error FROM jobs WHERE id = $1")
                    .bind(*job)
                    .fetch_one(app.state.db.pool())
                    .await
                    .unwrap();
            assert!(
                status == "queued" || status == "running",
                "job {job} is {status} ({error:?}) instead of waiting to try again"
            );
            failed += usize::from(error.is_some());
        }
        if failed == jobs.len() {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the Stripe event jobs had not failed an attempt within 60 s");
}

/// Brings the waiting Stripe event jobs' next attempt forward and waits (up to 60 s) until
/// none is left, rather than waiting out their backoff.
pub(crate) async fn retry_jobs_now(app: &TestApp) {
    for _ in 0..600 {
        sqlx::query("UPDATE jobs SET run_at = $1 WHERE kind = 'billing.stripe_event' AND status = 'queued'")
            .bind(now_unix())
            .execute(app.state.db.pool())
            .await
            .unwrap();
        if open_stripe_jobs(app).await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the Stripe event jobs did not finish within 60 s of being retried");
}

async fn send_event(app: &TestApp, id: &str, kind: &str, object: serde_json::Value) {
    let (body, signature) = event(id, kind, object, WEBHOOK_SECRET, now_unix());
    let response = webhook(app, &body, Some(&signature)).await;
    assert_eq!(response.status(), 200, "Stripe gets its answer whatever the job meets");
}

#[tokio::test]
async fn while_stripe_cannot_be_read_session_and_subscription_events_wait_and_retry() {
    let stripe = FakeStripe::start().await;
    let app = app_with_timeout(&stripe).await;
    let (user_id, cookie) = member(&app, "jobs@example.org").await;
    // The member never comes back from Checkout: only the webhooks bring the plan in.
    let session = checkout(&app, &stripe, &cookie, "pro", "monthly").await;
    let subscription = stripe.pay(&session);

    // Stripe answers 500 for both objects when their events arrive.
    stripe.fail_reads(&session);
    stripe.fail_reads(&subscription);
    send_event(
        &app,
        "evt_completed",
        "checkout.session.completed",
        stripe.session(&session),
    )
    .await;
    send_event(
        &app,
        "evt_created",
        "customer.subscription.created",
        stripe.subscription(&subscription),
    )
    .await;
    wait_for_failed_attempt(&app, &["evt_completed", "evt_created"]).await;
    assert_eq!(
        billing_row(&app, user_id).await,
        ("free".to_owned(), None, None),
        "nothing is taken from the bodies"
    );
    assert!(reads_of(&stripe, &format!("/v1/checkout/sessions/{session}")) > 0);
    assert!(reads_of(&stripe, &format!("/v1/subscriptions/{subscription}")) > 0);

    // Stripe answers again: the next attempts store what it says.
    stripe.restore_reads(&session);
    stripe.restore_reads(&subscription);
    retry_jobs_now(&app).await;
    assert_eq!(
        billing_row(&app, user_id).await,
        ("pro".to_owned(), Some("active".to_owned()), Some(PERIOD_END))
    );

    // A payment fails and Stripe then stops answering: the job's attempt is given up
    // within its reads' timeouts (the worker is not held until Stripe answers) and kept.
    stripe.update_subscription(&subscription, |sub| sub["status"] = json!("past_due"));
    stripe.slow_down(LATE);
    send_event(
        &app,
        "evt_updated",
        "customer.subscription.updated",
        stripe.subscription(&subscription),
    )
    .await;
    let took = wait_for_failed_attempt(&app, &["evt_updated"]).await;
    assert!(took < LATE, "the attempt ended after {took:?}, when the fake answered");
    assert_eq!(billing_row(&app, user_id).await.1.as_deref(), Some("active"));
    stripe.speed_up();
    retry_jobs_now(&app).await;
    assert_eq!(billing_row(&app, user_id).await.1.as_deref(), Some("past_due"));
    app.stop().await;
}
