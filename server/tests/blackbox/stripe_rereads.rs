//! Invoice and refund events are acted on as Stripe's API says, never as their bodies say:
//! a fake whose signed event disagrees with its API, and an outage of that API, through
//! which the webhook jobs wait and retry rather than act on the body.

use crate::billing::*;
use crate::stripe_outages::{retry_jobs_now, wait_for_failed_attempt};
use crate::support::{
    fake_stripe::{self, event, FakeStripe, WEBHOOK_SECRET},
    members::location,
    TestApp,
};
use app::{features::billing::api::BuyCredits, platform::clock::now_unix};
use leptos::server_fn::ServerFn;
use serde_json::json;

/// Buys the 500-credit pack through Checkout and delivers its completion; returns the
/// payment intent that paid it.
async fn buy_pack(app: &TestApp, stripe: &FakeStripe, cookie: &str, event_id: &str) -> String {
    let response = browser_post(
        app,
        BuyCredits::PATH,
        cookie,
        &[("pack", "credits_500"), ("operation", OPERATION)],
    )
    .await;
    assert!(response.status().is_redirection(), "{}", response.status());
    let session = location(&response).rsplit('/').next().unwrap().to_owned();
    let payment_intent = stripe.pay(&session);
    deliver(app, event_id, "checkout.session.completed", stripe.session(&session)).await;
    payment_intent
}

/// Whether the pack paid by `payment_intent` is recorded as refunded.
async fn pack_refunded(app: &TestApp, payment_intent: &str) -> bool {
    let refunded: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM credit_purchases WHERE payment_intent_id = $1 AND refunded_at IS NOT NULL",
    )
    .bind(payment_intent)
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    refunded == 1
}

/// Mails queued so far (sent or not).
async fn mail_jobs(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM jobs WHERE kind = $1")
        .bind(app::platform::mail::MAIL_JOB)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn invoice_events_act_on_the_invoice_stripe_holds_not_on_the_event_body() {
    let stripe = FakeStripe::start().await;
    let app = app_with_stripe(&stripe).await;
    let (pat, pat_cookie) = member(&app, "pat@example.org").await;
    let (sam, sam_cookie) = member(&app, "sam@example.org").await;
    // Neither comes back from Checkout: only the webhooks grant here.
    let pat_session = checkout(&app, &stripe, &pat_cookie, "pro", "monthly").await;
    let pat_subscription = stripe.pay(&pat_session);
    let sam_session = checkout(&app, &stripe, &sam_cookie, "studio", "monthly").await;
    let sam_subscription = stripe.pay(&sam_session);
    let pat_first = stripe.subscription(&pat_subscription)["latest_invoice"]
        .as_str()
        .unwrap()
        .to_owned();

    // The body says paid, for far more than is owed; Stripe says the invoice is still open.
    let mut claimed = stripe.bill(&pat_subscription, "open");
    claimed["status"] = json!("paid");
    claimed["amount_paid"] = json!(999_999);
    deliver(&app, "evt_claimed", "invoice.paid", claimed).await;
    assert_eq!(balance(&app, pat).await, 0, "an open invoice grants nothing");

    // Pat's paid invoice, with a body that names Sam's customer and subscription: the
    // credits are for the subscription Stripe names on the invoice.
    let mut misdirected = stripe.invoice(&pat_first);
    misdirected["customer"] = stripe.subscription(&sam_subscription)["customer"].clone();
    misdirected["subscription"] = json!(sam_subscription);
    misdirected["parent"]["subscription_details"]["subscription"] = json!(sam_subscription);
    deliver(&app, "evt_misdirected", "invoice.paid", misdirected).await;
    assert_eq!(balance(&app, pat).await, 1000);
    assert_eq!(balance(&app, sam).await, 0, "Studio's 5,000 were not granted");
    assert_eq!(billing_row(&app, pat).await.0, "pro");
    assert_eq!(billing_row(&app, sam).await.1, None, "Sam's subscription was not read");

    // A failed payment the body reports, on an invoice Stripe shows as paid (a retry went
    // through since): the subscription is read, and nobody is mailed.
    let mails = mail_jobs(&app).await;
    let mut failed = stripe.bill(&sam_subscription, "paid");
    failed["status"] = json!("open");
    failed["amount_paid"] = json!(0);
    deliver(&app, "evt_failed", "invoice.payment_failed", failed).await;
    assert_eq!(billing_row(&app, sam).await.1.as_deref(), Some("active"));
    assert_eq!(mail_jobs(&app).await, mails, "no payment-failed mail");
    app.stop().await;
}

#[tokio::test]
async fn a_refund_acts_on_the_charge_stripe_holds_not_on_the_event_body() {
    let stripe = FakeStripe::start().await;
    let app = app_with_stripe(&stripe).await;
    let (pat, pat_cookie) = member(&app, "pat@example.org").await;
    let (sam, sam_cookie) = member(&app, "sam@example.org").await;
    let pat_payment = buy_pack(&app, &stripe, &pat_cookie, "evt_pat_pack").await;
    let sam_payment = buy_pack(&app, &stripe, &sam_cookie, "evt_sam_pack").await;
    assert_eq!((balance(&app, pat).await, balance(&app, sam).await), (500, 500));
    let pat_charge = stripe.charge_of(&pat_payment)["id"].as_str().unwrap().to_owned();

    // Stripe refunded part of the charge; the body claims all of it.
    let mut claimed = stripe.refund(&pat_charge, 100);
    claimed["refunded"] = json!(true);
    claimed["amount_refunded"] = json!(fake_stripe::PACK_AMOUNT);
    deliver(&app, "evt_claimed", "charge.refunded", claimed).await;
    assert_eq!(balance(&app, pat).await, 500, "a partial refund takes nothing back");
    assert!(!pack_refunded(&app, &pat_payment).await);

    // The rest is refunded, and the event's body names Sam's payment instead: the pack
    // taken back is the one Stripe's charge paid for, Pat's.
    let mut misdirected = stripe.refund(&pat_charge, fake_stripe::PACK_AMOUNT);
    misdirected["payment_intent"] = json!(sam_payment);
    misdirected["customer"] = stripe.charge_of(&sam_payment)["customer"].clone();
    deliver(&app, "evt_misdirected", "charge.refunded", misdirected).await;
    assert_eq!(balance(&app, pat).await, 0);
    assert!(pack_refunded(&app, &pat_payment).await);
    assert_eq!(balance(&app, sam).await, 500);
    assert!(!pack_refunded(&app, &sam_payment).await);
    app.stop().await;
}

#[tokio::test]
async fn while_stripe_cannot_be_read_invoice_and_refund_events_wait_and_retry() {
    let stripe = FakeStripe::start().await;
    let app = app_with_stripe(&stripe).await;
    let (user_id, cookie) = member(&app, "pat@example.org").await;
    let session = checkout(&app, &stripe, &cookie, "pro", "monthly").await;
    let subscription = stripe.pay(&session);
    let invoice_id = stripe.subscription(&subscription)["latest_invoice"]
        .as_str()
        .unwrap()
        .to_owned();
    let payment_intent = buy_pack(&app, &stripe, &cookie, "evt_pack").await;
    assert_eq!(balance(&app, user_id).await, 500);
    let charge_id = stripe.charge_of(&payment_intent)["id"].as_str().unwrap().to_owned();
    let refunded = stripe.refund(&charge_id, fake_stripe::PACK_AMOUNT);

    // Stripe's API answers 500 for both objects when their (truthful) events arrive.
    stripe.fail_reads(&invoice_id);
    stripe.fail_reads(&charge_id);
    for (id, kind, object) in [
        ("evt_paid", "invoice.paid", stripe.invoice(&invoice_id)),
        ("evt_refunded", "charge.refunded", refunded),
    ] {
        let (body, signature) = event(id, kind, object, WEBHOOK_SECRET, now_unix());
        assert_eq!(webhook(&app, &body, Some(&signature)).await.status(), 200);
    }
    wait_for_failed_attempt(&app, &["evt_paid", "evt_refunded"]).await;
    assert_eq!(balance(&app, user_id).await, 500, "nothing is acted on from the bodies");
    assert!(!pack_refunded(&app, &payment_intent).await);
    let requests = stripe.requests();
    for path in [format!("/v1/invoices/{invoice_id}"), format!("/v1/charges/{charge_id}")] {
        assert!(
            requests.iter().any(|r| r.method == "GET" && r.path == path),
            "{path} was asked for"
        );
    }

    // Stripe answers again; the next attempts (brought forward) act on what it says.
    stripe.restore_reads(&invoice_id);
    stripe.restore_reads(&charge_id);
    retry_jobs_now(&app).await;
    assert_eq!(
        balance(&app, user_id).await,
        1000,
        "Pro's 1,000 granted and the pack's 500 taken back"
    );
    assert!(pack_refunded(&app, &payment_intent).await);
    app.stop().await;
}
