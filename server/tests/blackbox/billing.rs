//! Billing over HTTP against a fake Stripe that speaks the real wire protocol: every
//! TRUST.md "Payments" line — signatures (bad, missing, stale, rolled secrets), duplicate
//! and out-of-order events, the plan shown on return before any webhook, idempotency keys
//! on creates, no card columns — and credits granted once per invoice, topped up on an
//! upgrade, packs bought and refunded, the portal, a failed payment, plan limits, and the
//! Stripe customer deleted with the account. Invoice and refund events acted on as Stripe's
//! API says are in `stripe_rereads`.

use crate::collections::{fields, owned_post};
use crate::support::{
    count_rows,
    fake_stripe::{self, event, FakeStripe, PREVIOUS_WEBHOOK_SECRET, WEBHOOK_SECRET},
    members::{create_member, error_of, location, post_form, signed_in, BROWSER_ACCEPT},
    spawn_app, spawn_app_with, wait_for_mail, TestApp,
};
use app::{
    error::AppError,
    features::{
        billing::{
            api::{BuyCredits, OpenBillingPortal, StartCheckout},
            ledger,
        },
        collections::api::CreateCollection,
        privacy::deletion,
    },
    platform::{clock::now_unix, db::Backend},
};
use leptos::server_fn::ServerFn;
use serde_json::json;
use std::time::Duration;

pub(crate) const OPERATION: &str = "0123456789abcdef0123456789abcdef";

pub(crate) async fn app_with_stripe(stripe: &FakeStripe) -> TestApp {
    spawn_app_with(|values| stripe.configure(values), server::jobs::registry()).await
}

pub(crate) async fn member(app: &TestApp, email: &str) -> (i64, String) {
    let id = create_member(app, email, "Pat Doe", true).await;
    (id, signed_in(app, email).await)
}

/// A form post as a browser without script makes it (so a redirect is a 303 to follow).
pub(crate) async fn browser_post(app: &TestApp, path: &str, cookie: &str, form: &[(&str, &str)]) -> reqwest::Response {
    owned_post(app, path, cookie, Some(BROWSER_ACCEPT), fields(form)).await
}

pub(crate) async fn webhook(app: &TestApp, body: &str, signature: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/webhooks/stripe"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    request.send().await.unwrap()
}

/// Delivers a correctly signed event and waits until the worker has handled it.
pub(crate) async fn deliver(app: &TestApp, id: &str, kind: &str, object: serde_json::Value) {
    let (body, signature) = event(id, kind, object, WEBHOOK_SECRET, now_unix());
    let response = webhook(app, &body, Some(&signature)).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    settle(app).await;
}

/// Stripe event jobs waiting or running.
pub(crate) async fn open_stripe_jobs(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM jobs WHERE kind = 'billing.stripe_event' AND status IN ('queued', 'running')",
    )
    .fetch_one(app.state.db.pool())
    .await
    .unwrap()
}

/// Waits (up to 15 s) until no Stripe event job is waiting or running.
pub(crate) async fn settle(app: &TestApp) {
    for _ in 0..300 {
        if open_stripe_jobs(app).await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the Stripe event jobs did not finish within 15 s");
}

pub(crate) async fn billing_row(app: &TestApp, user_id: i64) -> (String, Option<String>, Option<i64>) {
    let row: (String, Option<String>, Option<i64>) =
        sqlx::query_as("SELECT plan, status, current_period_end FROM billing_accounts WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    row
}

/// The text inside the element with `data-testid="<id>"`, without hydration markers.
pub(crate) fn testid_text(html: &str, id: &str) -> String {
    let marker = format!("data-testid=\"{id}\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {id} in the page"));
    let rest = &html[start..];
    let rest = &rest[rest.find('>').unwrap() + 1..];
    let inner = &rest[..rest.find("</").unwrap()];
    inner.replace("<!---->", "").replace("<!>", "").trim().to_owned()
}

pub(crate) async fn balance(app: &TestApp, user_id: i64) -> i64 {
    ledger::balance(&app.state.db, user_id).await.unwrap()
}

/// Subscribes the member to `price`'s plan through Checkout; returns the session id.
pub(crate) async fn checkout(app: &TestApp, stripe: &FakeStripe, cookie: &str, plan: &str, interval: &str) -> String {
    let response = browser_post(
        app,
        StartCheckout::PATH,
        cookie,
        &[("plan", plan), ("interval", interval), ("operation", OPERATION)],
    )
    .await;
    assert!(response.status().is_redirection(), "{}", response.status());
    let to = location(&response);
    assert!(to.starts_with(&format!("{}/pay/cs_test_", stripe.base_url)), "{to}");
    to.rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn without_stripe_the_pricing_page_explains_and_nothing_is_sold() {
    let app = spawn_app().await;
    let (_, cookie) = member(&app, "free@example.org").await;
    let page = app.get("/pricing").await.text().await.unwrap();
    assert!(page.contains("Payments are not set up on this instance"), "{page}");
    for plan in ["Free", "Pro", "Studio"] {
        assert!(
            page.contains(&format!("data-plan=\"{}\"", plan.to_lowercase())),
            "{plan}"
        );
    }
    assert!(page.contains("Compare plans") && page.contains("Do credits expire?"));
    let refused = post_form(
        &app,
        StartCheckout::PATH,
        Some(&cookie),
        &[("plan", "pro"), ("interval", "monthly"), ("operation", OPERATION)],
    )
    .await;
    match error_of(refused).await {
        AppError::Invalid(message) => assert!(message.contains("not set up"), "{message}"),
        other => panic!("expected the not-configured message, got {other:?}"),
    }
    let (body, signature) = event(
        "evt_x",
        "invoice.paid",
        json!({ "id": "in_x" }),
        WEBHOOK_SECRET,
        now_unix(),
    );
    assert_eq!(webhook(&app, &body, Some(&signature)).await.status(), 404);
    let billing = app.page_with_cookie("/account/billing", &cookie).await;
    assert_eq!(testid_text(&billing, "balance"), "0");
    assert!(billing.contains("No credit activity yet"));
    app.stop().await;
}

#[tokio::test]
async fn webhooks_with_bad_missing_or_stale_signatures_get_400_and_write_nothing() {
    let stripe = FakeStripe::start().await;
    let app = app_with_stripe(&stripe).await;
    let now = now_unix();
    let object = json!({ "id": "sub_none", "customer": "cus_none" });
    let jobs_before = count_rows(&app, "jobs").await;

    let (body, _) = event(
        "evt_bad",
        "customer.subscription.updated",
        object.clone(),
        WEBHOOK_SECRET,
        now,
    );
    let (_, wrong) = event(
        "evt_bad",
        "customer.subscription.updated",
        object.clone(),
        "whsec_intruder",
        now,
    );
    let (_, stale) = event(
        "evt_bad",
        "customer.subscription.updated",
        object.clone(),
        WEBHOOK_SECRET,
        now - 301,
    );
    for signature in [None, Some(wrong.as_str()), Some(stale.as_str()), Some("t=abc,v1=00")] {
        let response = webhook(&app, &body, signature).await;
        assert_eq!(response.status(), 400, "{signature:?}");
    }
    // A signature made for another body.
    let (_, other) = event(
        "evt_other",
        "customer.subscription.updated",
        object.clone(),
        WEBHOOK_SECRET,
        now,
    );
    assert_eq!(webhook(&app, &body, Some(&other)).await.status(), 400);
    assert_eq!(count_rows(&app, "stripe_events").await, 0);
    assert_eq!(count_rows(&app, "jobs").await, jobs_before);

    // The previous secret, alone or beside an unknown one (a roll in progress), is accepted.
    let (body, signed_previous) = event(
        "evt_roll",
        "customer.subscription.updated",
        object.clone(),
        PREVIOUS_WEBHOOK_SECRET,
        now,
    );
    let (_, signed_unknown) = event(
        "evt_roll",
        "customer.subscription.updated",
        object.clone(),
        "whsec_next",
        now,
    );
    let both = format!("{signed_unknown},v1={}", signed_previous.split("v1=").nth(1).unwrap());
    assert_eq!(webhook(&app, &body, Some(&both)).await.status(), 200);
    assert_eq!(count_rows(&app, "stripe_events").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn checkout_shows_the_plan_before_any_webhook_and_grants_credits_once() {
    let stripe = FakeStripe::start().await;
    let app = app_with_stripe(&stripe).await;
    let (user_id, cookie) = member(&app, "pat@example.org").await;

    let session = checkout(&app, &stripe, &cookie, "pro", "monthly").await;
    // A second submission of the same form reuses the session: same operation, same key.
    let again = checkout(&app, &stripe, &cookie, "pro", "monthly").await;
    assert_eq!(again, session);
    // Back from Checkout on the same page, choosing something else is a new session.
    let other = checkout(&app, &stripe, &cookie, "studio", "yearly").await;
    assert_ne!(other, session);
    let creates: Vec<_> = stripe.requests().into_iter().filter(|r| r.method == "POST").collect();
    let customer_keys: Vec<_> = creates
        .iter()
        .filter(|r| r.path == "/v1/customers")
        .map(|r| r.idempotency_key.clone())
        .collect();
    assert_eq!(customer_keys.len(), 1, "one customer: {customer_keys:?}");
    assert!(
        customer_keys[0]
            .as_deref()
            .unwrap()
            .starts_with(&format!("customer:{user_id}:")),
        "keyed by the member and when the account was made: {customer_keys:?}"
    );
    for create in &creates {
        assert!(
            create.idempotency_key.is_some(),
            "{} carries an idempotency key",
            create.path
        );
    }
    let checkout_request = creates.iter().find(|r| r.path == "/v1/checkout/sessions").unwrap();
    assert_eq!(
        checkout_request.idempotency_key.as_deref(),
        Some(format!("checkout:{user_id}:{OPERATION}:{}", fake_stripe::PRICE_PRO_MONTHLY).as_str())
    );
    assert_eq!(checkout_request.form["mode"], "subscription");
    assert_eq!(
        checkout_request.form["line_items[0][price]"],
        fake_stripe::PRICE_PRO_MONTHLY
    );
    assert_eq!(checkout_request.form["client_reference_id"], user_id.to_string());

    // The customer pays; no webhook has arrived when they come back.
    let subscription = stripe.pay(&session);
    let page = app
        .page_with_cookie(&format!("/billing/success?session_id={session}"), &cookie)
        .await;
    assert!(page.contains("You are on Pro now"), "{page}");
    assert!(page.contains("your balance is 1,000 credits"), "{page}");
    assert_eq!(
        billing_row(&app, user_id).await,
        (
            "pro".to_owned(),
            Some("active".to_owned()),
            Some(fake_stripe::PERIOD_END)
        )
    );
    let billing = app.page_with_cookie("/account/billing", &cookie).await;
    assert!(billing.contains("Pro, monthly"), "{billing}");
    assert_eq!(testid_text(&billing, "balance"), "1,000");

    // Then Stripe's events arrive, one of them twice: nothing more is granted.
    let latest_invoice = stripe.subscription(&subscription)["latest_invoice"]
        .as_str()
        .unwrap()
        .to_owned();
    deliver(&app, "evt_1", "checkout.session.completed", stripe.session(&session)).await;
    let invoice =
        json!({ "id": latest_invoice, "customer": stripe.session(&session)["customer"], "subscription": subscription });
    deliver(&app, "evt_2", "invoice.paid", invoice.clone()).await;
    let (body, signature) = event("evt_2", "invoice.paid", invoice, WEBHOOK_SECRET, now_unix());
    let duplicate = webhook(&app, &body, Some(&signature)).await;
    assert_eq!(duplicate.status(), 200);
    settle(&app).await;
    assert_eq!(balance(&app, user_id).await, 1000);
    assert_eq!(count_rows(&app, "credit_ledger").await, 1);
    assert_eq!(count_rows(&app, "stripe_events").await, 2);

    // At renewal the subscription moves on before its invoice is paid: reloading the old
    // success page grants nothing for the new period.
    stripe.update_subscription(&subscription, |sub| {
        sub["items"]["data"][0]["current_period_end"] = json!(fake_stripe::PERIOD_END + 30 * 86_400);
        sub["latest_invoice"] = json!("in_renewal_unpaid");
    });
    app.page_with_cookie(&format!("/billing/success?session_id={session}"), &cookie)
        .await;
    assert_eq!(balance(&app, user_id).await, 1000);

    // Subscribed already: a second checkout is refused with the way to change plans.
    let refused = post_form(
        &app,
        StartCheckout::PATH,
        Some(&cookie),
        &[
            ("plan", "studio"),
            ("interval", "yearly"),
            ("operation", "fedcba9876543210fedcba9876543210"),
        ],
    )
    .await;
    match error_of(refused).await {
        AppError::Invalid(message) => assert!(message.contains("Manage billing"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    app.stop().await;
}

#[tokio::test]
async fn events_out_of_order_never_move_a_subscription_backwards_and_upgrades_top_up() {
    let stripe = FakeStripe::start().await;
    let app = app_with_stripe(&stripe).await;
    let (user_id, cookie) = member(&app, "order@example.org").await;
    let session = checkout(&app, &stripe, &cookie, "pro", "monthly").await;
    let subscription = stripe.pay(&session);
    let object = stripe.subscription(&subscription);

    // An event whose job gave up (Stripe could not find the subscription yet), resent from
    // Stripe's dashboard, is handled anew.
    stripe.hide(&subscription);
    deliver(&app, "evt_early", "customer.subscription.updated", object.clone()).await;
    assert_eq!(billing_row(&app, user_id).await.1, None);
    stripe.show(&subscription);
    deliver(&app, "evt_early", "customer.subscription.updated", object.clone()).await;
    assert_eq!(billing_row(&app, user_id).await.1.as_deref(), Some("active"));

    // `updated` arrives before `created`: each re-reads Stripe, so the plan is active.
    deliver(&app, "evt_u", "customer.subscription.updated", object.clone()).await;
    deliver(&app, "evt_c", "customer.subscription.created", object.clone()).await;
    assert_eq!(billing_row(&app, user_id).await.1.as_deref(), Some("active"));

    // The first invoice, then an upgrade to Studio in the same period: topped up to 5000.
    // An account pinned to an API version before 2025-03-31 names the subscription at the
    // top of the invoice; later ones under `parent` (as the fake's invoices do otherwise).
    let first = object["latest_invoice"].as_str().unwrap().to_owned();
    stripe.update_invoice(&first, |invoice| {
        invoice["subscription"] = json!(subscription);
        invoice["parent"] = serde_json::Value::Null;
    });
    deliver(&app, "evt_i1", "invoice.paid", stripe.invoice(&first)).await;
    assert_eq!(balance(&app, user_id).await, 1000);
    stripe.update_subscription(&subscription, |sub| {
        sub["items"]["data"][0]["price"]["id"] = json!(fake_stripe::PRICE_STUDIO_MONTHLY);
    });
    deliver(
        &app,
        "evt_up",
        "customer.subscription.updated",
        stripe.subscription(&subscription),
    )
    .await;
    assert_eq!(billing_row(&app, user_id).await.0, "studio");
    let proration = stripe.bill(&subscription, "paid");
    deliver(&app, "evt_i2", "invoice.paid", proration).await;
    assert_eq!(balance(&app, user_id).await, 5000);

    // A new period grants in full.
    stripe.update_subscription(&subscription, |sub| {
        sub["items"]["data"][0]["current_period_end"] = json!(fake_stripe::PERIOD_END + 30 * 86_400);
    });
    deliver(&app, "evt_i3", "invoice.paid", stripe.bill(&subscription, "paid")).await;
    assert_eq!(balance(&app, user_id).await, 10_000);

    // Cancelled at Stripe; a late `created` event (re-read: still cancelled) changes nothing.
    stripe.update_subscription(&subscription, |sub| sub["status"] = json!("canceled"));
    deliver(
        &app,
        "evt_d",
        "customer.subscription.deleted",
        stripe.subscription(&subscription),
    )
    .await;
    deliver(&app, "evt_late", "customer.subscription.created", object).await;
    assert_eq!(billing_row(&app, user_id).await.1.as_deref(), Some("canceled"));
    let billing = app.page_with_cookie("/account/billing", &cookie).await;
    assert_eq!(testid_text(&billing, "plan-name"), "Free");
    assert!(billing.contains("Your subscription has ended."), "{billing}");
    // Credits stay after cancelling.
    assert_eq!(balance(&app, user_id).await, 10_000);
    app.stop().await;
}

#[tokio::test]
async fn invoices_of_one_period_handled_at_once_grant_the_highest_plan_exactly() {
    use app::features::billing::{
        account::{apply_subscription, grant_for_invoice},
        stripe::{PriceRef, Subscription, SubscriptionItem, SubscriptionItems},
    };
    let stripe = FakeStripe::start().await;
    let app = app_with_stripe(&stripe).await;
    let (user_id, _) = member(&app, "race@example.org").await;
    let payments = app.state.payments.clone().unwrap();
    let on = |price: &str| Subscription {
        id: "sub_race".into(),
        customer: "cus_race".into(),
        status: "active".into(),
        cancel_at_period_end: false,
        current_period_end: None,
        items: SubscriptionItems {
            data: vec![SubscriptionItem {
                price: PriceRef { id: price.into() },
                current_period_end: Some(fake_stripe::PERIOD_END),
            }],
        },
        latest_invoice: None,
    };
    let (pro, studio) = (
        on(fake_stripe::PRICE_PRO_MONTHLY),
        on(fake_stripe::PRICE_STUDIO_MONTHLY),
    );
    // The first invoice and an upgrade's proration invoice, each delivered three times,
    // all handled at the same moment.
    let grants = (0..6).map(|n| {
        let (db, payments) = (app.state.db.clone(), payments.clone());
        let (subscription, invoice) = if n % 2 == 0 {
            (pro.clone(), "in_first")
        } else {
            (studio.clone(), "in_upgrade")
        };
        tokio::spawn(
            async move { grant_for_invoice(&db, &payments, user_id, &subscription, invoice, now_unix()).await },
        )
    });
    let mut added = 0;
    for grant in grants.collect::<Vec<_>>() {
        added += grant.await.unwrap().unwrap();
    }
    assert_eq!(added, 5_000);
    assert_eq!(balance(&app, user_id).await, 5_000);
    assert_eq!(
        count_rows(&app, "credit_ledger").await,
        2,
        "Pro's tier and Studio's further tier"
    );

    // A reading of Stripe older than the stored one never replaces it.
    sqlx::query("INSERT INTO billing_accounts (user_id, stripe_customer_id, created_at, updated_at) VALUES ($1, 'cus_race', 0, 0)")
        .bind(user_id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let mut cancelled = pro.clone();
    cancelled.status = "canceled".into();
    let apply = |subscription: Subscription, read_at: i64| {
        let (db, payments) = (app.state.db.clone(), payments.clone());
        async move {
            apply_subscription(&db, &payments, &subscription, read_at, now_unix())
                .await
                .unwrap()
        }
    };
    assert_eq!(apply(studio.clone(), 2_000).await, Some(user_id));
    apply(cancelled.clone(), 1_000).await;
    assert_eq!(billing_row(&app, user_id).await.0, "studio");
    assert_eq!(billing_row(&app, user_id).await.1.as_deref(), Some("active"));
    apply(cancelled, 3_000).await;
    assert_eq!(billing_row(&app, user_id).await.1.as_deref(), Some("canceled"));
    app.stop().await;
}

#[tokio::test]
async fn a_pack_is_bought_once_and_a_refund_takes_its_credits_back() {
    let stripe = FakeStripe::start().await;
    let app = app_with_stripe(&stripe).await;
    let (user_id, cookie) = member(&app, "pack@example.org").await;
    let response = browser_post(
        &app,
        BuyCredits::PATH,
        &cookie,
        &[("pack", "credits_500"), ("operation", OPERATION)],
    )
    .await;
    assert!(response.status().is_redirection());
    let session = location(&response).rsplit('/').next().unwrap().to_owned();
    let request = stripe
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/checkout/sessions")
        .unwrap();
    assert_eq!(request.form["mode"], "payment");
    assert_eq!(request.form["metadata[atelier_pack]"], "credits_500");

    // A pack not on sale on this instance is refused by name.
    let refused = post_form(
        &app,
        BuyCredits::PATH,
        Some(&cookie),
        &[("pack", "credits_2000"), ("operation", OPERATION)],
    )
    .await;
    assert!(matches!(error_of(refused).await, AppError::Field { field, .. } if field == "pack"));

    let payment_intent = stripe.pay(&session);
    deliver(&app, "evt_p1", "checkout.session.completed", stripe.session(&session)).await;
    deliver(&app, "evt_p2", "checkout.session.completed", stripe.session(&session)).await;
    assert_eq!(balance(&app, user_id).await, 500);
    let page = app
        .page_with_cookie(&format!("/billing/success?session_id={session}"), &cookie)
        .await;
    assert!(page.contains("500 credits were added"), "{page}");
    assert_eq!(balance(&app, user_id).await, 500);

    // 200 of them are spent; the refund takes back the 300 left.
    ledger::spend(
        &app.state.db,
        user_id,
        200,
        app::features::billing::Reason::Generation,
        "gen",
        "gen:1",
        now_unix(),
    )
    .await
    .unwrap();
    let charge_id = stripe.charge_of(&payment_intent)["id"].as_str().unwrap().to_owned();
    let charge = stripe.refund(&charge_id, fake_stripe::PACK_AMOUNT);
    deliver(&app, "evt_r1", "charge.refunded", charge.clone()).await;
    deliver(&app, "evt_r2", "charge.refunded", charge).await;
    assert_eq!(balance(&app, user_id).await, 0);
    let billing = app.page_with_cookie("/account/billing", &cookie).await;
    assert!(billing.contains("Credit pack refunded"), "{billing}");
    app.stop().await;
}

#[tokio::test]
async fn the_portal_opens_for_a_customer_and_a_failed_payment_is_past_due_with_an_email() {
    let stripe = FakeStripe::start().await;
    let app = app_with_stripe(&stripe).await;
    let (user_id, cookie) = member(&app, "portal@example.org").await;
    // No customer yet: nothing to manage.
    let refused = post_form(
        &app,
        OpenBillingPortal::PATH,
        Some(&cookie),
        &[("operation", OPERATION)],
    )
    .await;
    assert!(matches!(error_of(refused).await, AppError::Invalid(_)));
    // Starting payments is rate limited per member: ten at once, then one a minute.
    let (_, hasty) = member(&app, "hasty@example.org").await;
    for _ in 0..10 {
        post_form(&app, OpenBillingPortal::PATH, Some(&hasty), &[("operation", OPERATION)]).await;
    }
    let limited = post_form(&app, OpenBillingPortal::PATH, Some(&hasty), &[("operation", OPERATION)]).await;
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(error_of(limited).await, AppError::RateLimited);

    let session = checkout(&app, &stripe, &cookie, "pro", "yearly").await;
    let subscription = stripe.pay(&session);
    app.page_with_cookie(&format!("/billing/success?session_id={session}"), &cookie)
        .await;
    assert_eq!(
        balance(&app, user_id).await,
        12_000,
        "a yearly period grants twelve months"
    );

    let response = browser_post(&app, OpenBillingPortal::PATH, &cookie, &[("operation", OPERATION)]).await;
    assert!(response.status().is_redirection());
    let customer = stripe.session(&session)["customer"].as_str().unwrap().to_owned();
    assert_eq!(location(&response), format!("{}/portal/{customer}", stripe.base_url));
    let portal = stripe
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/billing_portal/sessions")
        .unwrap();
    assert!(
        portal.form["return_url"].ends_with("/account/billing"),
        "{:?}",
        portal.form
    );
    assert!(portal.idempotency_key.is_some());

    stripe.update_subscription(&subscription, |sub| sub["status"] = json!("past_due"));
    deliver(
        &app,
        "evt_f",
        "invoice.payment_failed",
        stripe.bill(&subscription, "open"),
    )
    .await;
    assert_eq!(billing_row(&app, user_id).await.1.as_deref(), Some("past_due"));
    let mail = wait_for_mail(&app, "portal@example.org", "did not go through").await;
    assert!(mail.text.contains("/account/billing"), "{}", mail.text);
    let billing = app.page_with_cookie("/account/billing", &cookie).await;
    assert!(
        billing.contains("Pro, yearly") && billing.contains("did not go through"),
        "{billing}"
    );

    // Someone else's session shows nothing of it.
    let (_, other) = member(&app, "other@example.org").await;
    let page = app
        .page_with_cookie(&format!("/billing/success?session_id={session}"), &other)
        .await;
    assert!(!page.contains("You are on"), "{page}");
    app.stop().await;
}

#[tokio::test]
async fn a_paid_plan_raises_the_collection_limits() {
    let stripe = FakeStripe::start().await;
    let app = spawn_app_with(
        |values| {
            stripe.configure(values);
            values.insert("ATELIER_COLLECTIONS_PER_MEMBER".into(), "1".into());
        },
        server::jobs::registry(),
    )
    .await;
    let (_, cookie) = member(&app, "limits@example.org").await;
    let create = |name: &'static str| {
        let cookie = cookie.clone();
        let app = &app;
        async move {
            post_form(
                app,
                CreateCollection::PATH,
                Some(&cookie),
                &[("name", name), ("visibility", "private")],
            )
            .await
        }
    };
    assert!(create("One").await.status().is_success());
    assert!(!create("Two").await.status().is_success(), "Free allows one");
    let session = checkout(&app, &stripe, &cookie, "pro", "monthly").await;
    stripe.pay(&session);
    app.page_with_cookie(&format!("/billing/success?session_id={session}"), &cookie)
        .await;
    assert!(create("Two").await.status().is_success(), "Pro allows five");
    app.stop().await;
}

#[tokio::test]
async fn deleting_the_account_deletes_the_stripe_customer_and_the_billing_rows() {
    let stripe = FakeStripe::start().await;
    let app = app_with_stripe(&stripe).await;
    let (user_id, cookie) = member(&app, "leaving@example.org").await;
    let session = checkout(&app, &stripe, &cookie, "pro", "monthly").await;
    stripe.pay(&session);
    app.page_with_cookie(&format!("/billing/success?session_id={session}"), &cookie)
        .await;
    let customer = stripe.session(&session)["customer"].as_str().unwrap().to_owned();
    assert_eq!(count_rows(&app, "billing_accounts").await, 1);

    let now = now_unix();
    deletion::schedule(&app.state.db, user_id, now, 30).await.unwrap();
    // Where payments are not configured (any more), the customer would be left at Stripe,
    // still charged: the account waits.
    let waiting = deletion::run_due(&app.state.db, &app.state.media, None, now + 31 * 86_400)
        .await
        .unwrap();
    assert!(waiting.is_empty());
    assert_eq!(count_rows(&app, "billing_accounts").await, 1);
    // Once due, the deletion can no longer be cancelled halfway.
    assert!(!deletion::cancel(&app.state.db, user_id, now + 31 * 86_400)
        .await
        .unwrap());
    let deleted = deletion::run_due(
        &app.state.db,
        &app.state.media,
        app.state.payments.as_deref(),
        now + 31 * 86_400,
    )
    .await
    .unwrap();
    assert_eq!(deleted.len(), 1);
    assert!(stripe.customer_deleted(&customer));
    assert_eq!(count_rows(&app, "billing_accounts").await, 0);
    assert_eq!(count_rows(&app, "credit_ledger").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn billing_tables_hold_no_card_address_or_credential_columns() {
    let app = spawn_app().await;
    let forbidden = [
        "card",
        "pan",
        "cvc",
        "cvv",
        "expiry",
        "exp_month",
        "exp_year",
        "iban",
        "account_number",
        "routing",
        "address",
        "postal",
        "zip",
        "city",
        "country",
        "line1",
        "payment_method",
        "billing_details",
        "last4",
        "fingerprint",
        "bank",
    ];
    let mut seen = 0;
    for table in [
        "billing_accounts",
        "credit_purchases",
        "stripe_events",
        "credit_accounts",
        "credit_ledger",
    ] {
        let columns: Vec<String> = match app.state.db.backend() {
            Backend::Sqlite => sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .fetch_all(app.state.db.pool())
                .await
                .unwrap(),
            Backend::Postgres => sqlx::query_scalar(
                "SELECT CAST(column_name AS TEXT) FROM information_schema.columns WHERE table_name = $1",
            )
            .bind(table)
            .fetch_all(app.state.db.pool())
            .await
            .unwrap(),
        };
        assert!(!columns.is_empty(), "{table} exists");
        for column in columns {
            seen += 1;
            let words: Vec<&str> = column.split('_').collect();
            for bad in forbidden {
                let hit = if bad.contains('_') {
                    column.contains(bad)
                } else {
                    words.contains(&bad)
                };
                assert!(!hit, "{table}.{column} looks like payment data ({bad})");
            }
        }
    }
    assert!(seen > 20);
    app.stop().await;
}
