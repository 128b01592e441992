//! A fake Stripe API on 127.0.0.1 speaking the wire protocol of the calls Atelier makes:
//! form-encoded POST bodies with bracketed keys, `Authorization: Bearer <secret key>`,
//! `Idempotency-Key` (a repeated key answers with the first answer, as Stripe does), JSON
//! objects and Stripe's error body. The real async-stripe client is pointed at it by
//! `ATELIER_STRIPE_API_BASE`.
//!
//! Tests play the customer's part with `pay` (what finishing the hosted Checkout does) and
//! Stripe's with `event` (a signed webhook body for the app), `bill` and `refund` (what
//! Stripe's own records then say, which the app reads back), and an outage with
//! `fail_reads` and `fail_writes` (Stripe's 500) or `slow_down` (answers that come later
//! than the app waits).

#![allow(dead_code)]

use axum::{
    extract::{Path, Request, State},
    http::{HeaderMap, Method, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{net::TcpListener, task::JoinHandle};

pub const SECRET_KEY: &str = "sk_test_fake_atelier";
pub const WEBHOOK_SECRET: &str = "whsec_fake_current";
pub const PREVIOUS_WEBHOOK_SECRET: &str = "whsec_fake_previous";
pub const PRICE_PRO_MONTHLY: &str = "price_pro_monthly";
pub const PRICE_PRO_YEARLY: &str = "price_pro_yearly";
pub const PRICE_STUDIO_MONTHLY: &str = "price_studio_monthly";
pub const PRICE_STUDIO_YEARLY: &str = "price_studio_yearly";
pub const PRICE_CREDITS_500: &str = "price_credits_500";
/// When the fake's subscriptions' first period ends.
pub const PERIOD_END: i64 = 1_900_000_000;
/// What the fake bills for a plan's period and charges for a pack, in cents.
pub const INVOICE_AMOUNT: i64 = 1_200;
pub const PACK_AMOUNT: i64 = 900;

/// One request as the fake received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
    pub form: HashMap<String, String>,
}

#[derive(Default)]
struct Account {
    next: u32,
    customers: HashMap<String, Value>,
    sessions: HashMap<String, Value>,
    subscriptions: HashMap<String, Value>,
    invoices: HashMap<String, Value>,
    charges: HashMap<String, Value>,
    /// Subscriptions answered with 404 for now (as if Stripe could not find them yet).
    hidden: Vec<String>,
    /// Sessions, subscriptions, invoices and charges whose reads are answered with
    /// Stripe's 500 for now (an outage of its API).
    failing: Vec<String>,
    /// Paths whose creates (POSTs) are answered with Stripe's 500 for now.
    failing_writes: Vec<String>,
    /// How long every answer is held back for now, once its work is done.
    delay: Option<Duration>,
    /// Answers already given, and the parameters they were given for, by idempotency key.
    replies: HashMap<String, (HashMap<String, String>, Value)>,
    requests: Vec<Recorded>,
}

impl Account {
    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}_fake{:04}", self.next)
    }

    /// A new invoice for the subscription, shaped as API versions from 2025-03-31 shape it
    /// (the subscription under `parent`); it becomes the subscription's latest.
    fn invoice_for(&mut self, subscription_id: &str, status: &str) -> Value {
        let id = self.id("in");
        let subscription = self
            .subscriptions
            .get_mut(subscription_id)
            .expect("a subscription of the fake");
        subscription["latest_invoice"] = json!(id);
        let (paid, remaining) = if status == "paid" {
            (INVOICE_AMOUNT, 0)
        } else {
            (0, INVOICE_AMOUNT)
        };
        let invoice = json!({
            "id": id,
            "object": "invoice",
            "customer": subscription["customer"],
            "status": status,
            "currency": "eur",
            "amount_due": INVOICE_AMOUNT,
            "amount_paid": paid,
            "amount_remaining": remaining,
            "billing_reason": "subscription_cycle",
            "livemode": false,
            "parent": {
                "type": "subscription_details",
                "quote_details": null,
                "subscription_details": { "metadata": {}, "subscription": subscription_id },
            },
        });
        self.invoices.insert(id, invoice.clone());
        invoice
    }
}

type Shared = Arc<Mutex<Account>>;

pub struct FakeStripe {
    pub base_url: String,
    account: Shared,
    server: JoinHandle<()>,
}

impl FakeStripe {
    pub async fn start() -> FakeStripe {
        let account = Shared::default();
        let router = Router::new()
            .route("/v1/customers", post(create_customer))
            .route("/v1/customers/{id}", axum::routing::delete(delete_customer))
            .route("/v1/checkout/sessions", post(create_session))
            .route("/v1/checkout/sessions/{id}", get(get_session))
            .route("/v1/subscriptions/{id}", get(get_subscription))
            .route("/v1/invoices/{id}", get(get_invoice))
            .route("/v1/charges/{id}", get(get_charge))
            .route("/v1/billing_portal/sessions", post(create_portal))
            .layer(middleware::from_fn_with_state(account.clone(), hold_back))
            .with_state(account.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the fake Stripe");
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.ok();
        });
        FakeStripe {
            base_url,
            account,
            server,
        }
    }

    /// The settings that point the app at this fake.
    pub fn configure(&self, values: &mut HashMap<String, String>) {
        for (key, value) in [
            ("ATELIER_STRIPE_SECRET_KEY", SECRET_KEY),
            ("ATELIER_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
            ("ATELIER_STRIPE_WEBHOOK_SECRET_PREVIOUS", PREVIOUS_WEBHOOK_SECRET),
            ("ATELIER_STRIPE_API_BASE", self.base_url.as_str()),
            ("ATELIER_STRIPE_PRICE_PRO_MONTHLY", PRICE_PRO_MONTHLY),
            ("ATELIER_STRIPE_PRICE_PRO_YEARLY", PRICE_PRO_YEARLY),
            ("ATELIER_STRIPE_PRICE_STUDIO_MONTHLY", PRICE_STUDIO_MONTHLY),
            ("ATELIER_STRIPE_PRICE_STUDIO_YEARLY", PRICE_STUDIO_YEARLY),
            ("ATELIER_STRIPE_PRICE_CREDITS_500", PRICE_CREDITS_500),
        ] {
            values.insert(key.to_owned(), value.to_owned());
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.account.lock().unwrap().requests.clone()
    }

    pub fn session(&self, id: &str) -> Value {
        self.account.lock().unwrap().sessions[id].clone()
    }

    pub fn customer_deleted(&self, id: &str) -> bool {
        self.account.lock().unwrap().customers[id]["deleted"] == json!(true)
    }

    /// Finishes the hosted Checkout as a paying customer would: a subscription session
    /// gets an active subscription (and its first, paid invoice), a payment session a
    /// payment intent and its succeeded charge. Returns the subscription or payment intent id.
    pub fn pay(&self, session_id: &str) -> String {
        let mut account = self.account.lock().unwrap();
        let session = account.sessions[session_id].clone();
        let made = if session["mode"] == "subscription" {
            let subscription_id = account.id("sub");
            let subscription = json!({
                "id": subscription_id,
                "object": "subscription",
                "customer": session["customer"],
                "status": "active",
                "cancel_at_period_end": false,
                "latest_invoice": null,
                "items": { "object": "list", "data": [{
                    "id": "si_fake",
                    "object": "subscription_item",
                    "price": { "id": session["line_items_price"], "object": "price" },
                    "current_period_end": PERIOD_END,
                }]},
            });
            account.subscriptions.insert(subscription_id.clone(), subscription);
            account.invoice_for(&subscription_id, "paid");
            subscription_id
        } else {
            let payment_intent = account.id("pi");
            let charge_id = account.id("ch");
            let charge = json!({
                "id": charge_id,
                "object": "charge",
                "amount": PACK_AMOUNT,
                "amount_captured": PACK_AMOUNT,
                "amount_refunded": 0,
                "captured": true,
                "currency": "eur",
                "customer": session["customer"],
                "livemode": false,
                "paid": true,
                "payment_intent": payment_intent,
                "refunded": false,
                "status": "succeeded",
            });
            account.charges.insert(charge_id, charge);
            payment_intent
        };
        let invoice = account
            .subscriptions
            .get(&made)
            .map(|sub| sub["latest_invoice"].clone());
        let session = account.sessions.get_mut(session_id).unwrap();
        session["status"] = json!("complete");
        session["payment_status"] = json!("paid");
        if session["mode"] == "subscription" {
            session["subscription"] = json!(made);
            session["invoice"] = invoice.unwrap_or(Value::Null);
        } else {
            session["payment_intent"] = json!(made);
        }
        made
    }

    pub fn subscription(&self, id: &str) -> Value {
        self.account.lock().unwrap().subscriptions[id].clone()
    }

    /// Answers 404 for this subscription until `show`.
    pub fn hide(&self, id: &str) {
        self.account.lock().unwrap().hidden.push(id.to_owned());
    }

    pub fn show(&self, id: &str) {
        self.account.lock().unwrap().hidden.retain(|hidden| hidden != id);
    }

    /// Changes a subscription as Stripe would after a portal visit or a failed payment.
    pub fn update_subscription(&self, id: &str, change: impl FnOnce(&mut Value)) {
        change(self.account.lock().unwrap().subscriptions.get_mut(id).unwrap());
    }

    /// Raises a new invoice for the subscription (`paid` or `open`: a payment that failed),
    /// which becomes its latest; returns the invoice as Stripe holds it.
    pub fn bill(&self, subscription_id: &str, status: &str) -> Value {
        self.account.lock().unwrap().invoice_for(subscription_id, status)
    }

    pub fn invoice(&self, id: &str) -> Value {
        self.account.lock().unwrap().invoices[id].clone()
    }

    pub fn update_invoice(&self, id: &str, change: impl FnOnce(&mut Value)) {
        change(self.account.lock().unwrap().invoices.get_mut(id).unwrap());
    }

    /// The charge that paid a payment intent.
    pub fn charge_of(&self, payment_intent: &str) -> Value {
        self.account
            .lock()
            .unwrap()
            .charges
            .values()
            .find(|charge| charge["payment_intent"] == json!(payment_intent))
            .cloned()
            .expect("a charge for the payment intent")
    }

    /// Refunds `amount` cents of the charge, as the dashboard would; `refunded` turns true
    /// only once the whole charge is refunded. Returns the charge as Stripe holds it.
    pub fn refund(&self, charge_id: &str, amount: i64) -> Value {
        let mut account = self.account.lock().unwrap();
        let charge = account.charges.get_mut(charge_id).unwrap();
        let total = charge["amount"].as_i64().unwrap();
        let refunded = (charge["amount_refunded"].as_i64().unwrap() + amount).min(total);
        charge["amount_refunded"] = json!(refunded);
        charge["refunded"] = json!(refunded == total);
        charge.clone()
    }

    /// Answers Stripe's 500 to reads of this checkout session, subscription, invoice or
    /// charge until `restore_reads`.
    pub fn fail_reads(&self, id: &str) {
        self.account.lock().unwrap().failing.push(id.to_owned());
    }

    pub fn restore_reads(&self, id: &str) {
        self.account.lock().unwrap().failing.retain(|failing| failing != id);
    }

    /// Answers Stripe's 500 (`api_error`) to every create at `path` (`/v1/customers`,
    /// `/v1/checkout/sessions`, `/v1/billing_portal/sessions`) until `restore_writes`.
    /// The request is recorded but nothing is made and nothing is kept under its
    /// idempotency key: an outage in front of the endpoint, after which Stripe runs the
    /// same key afresh. (A 500 raised once the endpoint has begun is kept under the key and
    /// replayed for its 24 hours; this fake does not play that case.)
    pub fn fail_writes(&self, path: &str) {
        self.account.lock().unwrap().failing_writes.push(path.to_owned());
    }

    pub fn restore_writes(&self, path: &str) {
        self.account
            .lock()
            .unwrap()
            .failing_writes
            .retain(|failing| failing != path);
    }

    /// Holds every answer back by `delay` until `speed_up`. The work is done at once (and
    /// a create's answer kept under its key), as when Stripe finishes a request whose
    /// answer reaches the app only after it stopped waiting.
    pub fn slow_down(&self, delay: Duration) {
        self.account.lock().unwrap().delay = Some(delay);
    }

    pub fn speed_up(&self) {
        self.account.lock().unwrap().delay = None;
    }

    /// Ids of the customers made so far (deleted ones too).
    pub fn customer_ids(&self) -> Vec<String> {
        self.account.lock().unwrap().customers.keys().cloned().collect()
    }

    /// Ids of the Checkout Sessions made so far.
    pub fn session_ids(&self) -> Vec<String> {
        self.account.lock().unwrap().sessions.keys().cloned().collect()
    }
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A webhook body for an event about `object`, and its signature under `secret` at `at`.
pub fn event(id: &str, kind: &str, object: Value, secret: &str, at: i64) -> (String, String) {
    let body = json!({
        "id": id,
        "object": "event",
        "api_version": "2026-09-30.endive",
        "created": at,
        "type": kind,
        "livemode": false,
        "data": { "object": object },
    })
    .to_string();
    let signature = app::features::billing::webhook::sign(body.as_bytes(), secret, at);
    (body, signature)
}

/// Holds an answer back while `slow_down` is on; the handler has done its work already.
async fn hold_back(State(account): State<Shared>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let delay = account.lock().unwrap().delay;
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    response
}

/// Stripe's answer when its API fails (`api_error`, 500).
fn outage() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "error": { "type": "api_error", "message": "An unknown error occurred" } })),
    )
        .into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "type": "invalid_request_error", "message": message } })),
    )
        .into_response()
}

type Form = HashMap<String, String>;

/// Checks the key and the body's encoding and records the request; returns its form and,
/// for a repeated idempotency key, the first answer (Stripe's refusal when the parameters
/// differ).
fn intake(
    account: &mut Account,
    method: Method,
    path: String,
    headers: &HeaderMap,
    body: &str,
) -> Result<(Form, Option<Value>), Box<Response>> {
    let authorised = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {SECRET_KEY}"));
    if !authorised {
        return Err(Box::new(error(StatusCode::UNAUTHORIZED, "Invalid API Key provided")));
    }
    if method == Method::POST
        && headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/x-www-form-urlencoded")
    {
        return Err(Box::new(error(StatusCode::BAD_REQUEST, "bodies are form-encoded")));
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let idempotency_key = idempotency_key(headers);
    account.requests.push(Recorded {
        method: method.to_string(),
        path,
        idempotency_key: idempotency_key.clone(),
        form: form.clone(),
    });
    match idempotency_key.and_then(|key| account.replies.get(&key).cloned()) {
        // Stripe refuses a key reused with other parameters.
        Some((first, _)) if first != form => Err(Box::new(
            (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": { "type": "idempotency_error",
                    "message": "Keys for idempotent requests can only be used with the same parameters they were first used with." } })),
            )
                .into_response(),
        )),
        Some((_, reply)) => Ok((form, Some(reply))),
        None => Ok((form, None)),
    }
}

fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A create (POST): answered by `make` from the form, or by the first answer to a repeated
/// key, which is remembered with the form it was given for.
fn create(
    account: &Shared,
    path: &str,
    headers: &HeaderMap,
    body: &str,
    // Err names a required parameter that is missing.
    make: impl FnOnce(&mut Account, &Form) -> Result<Value, &'static str>,
) -> Response {
    let mut account = account.lock().unwrap();
    let form = match intake(&mut account, Method::POST, path.to_owned(), headers, body) {
        Err(response) => return *response,
        Ok(_) if account.failing_writes.iter().any(|failing| failing == path) => return outage(),
        Ok((_, Some(replayed))) => return Json(replayed).into_response(),
        Ok((form, None)) => form,
    };
    match make(&mut account, &form) {
        Ok(reply) => {
            if let Some(key) = idempotency_key(headers) {
                account.replies.insert(key, (form, reply.clone()));
            }
            Json(reply).into_response()
        }
        Err(param) => error(StatusCode::BAD_REQUEST, &format!("Missing required param: {param}.")),
    }
}

/// A read or delete of one object: Stripe's 500 while its reads fail, else what `answer`
/// gives, or `None` for Stripe's 404.
fn object(
    account: &Shared,
    method: Method,
    path: String,
    headers: &HeaderMap,
    answer: impl FnOnce(&mut Account) -> Option<Value>,
) -> Response {
    let mut account = account.lock().unwrap();
    if let Err(response) = intake(&mut account, method.clone(), path.clone(), headers, "") {
        return *response;
    }
    let id = path.rsplit('/').next().unwrap_or_default();
    if method == Method::GET && account.failing.iter().any(|failing| failing == id) {
        return outage();
    }
    match answer(&mut account) {
        Some(value) => Json(value).into_response(),
        None => error(StatusCode::NOT_FOUND, &format!("No such object: '{path}'")),
    }
}

/// This fake's own origin, for the hosted pages' URLs.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("127.0.0.1");
    format!("http://{host}")
}

async fn create_customer(State(account): State<Shared>, headers: HeaderMap, body: String) -> Response {
    create(&account, "/v1/customers", &headers, &body, |account, form| {
        let id = account.id("cus");
        let customer = json!({
            "id": id, "object": "customer", "email": form.get("email"), "name": form.get("name"),
            "metadata": { "atelier_member": form.get("metadata[atelier_member]") },
        });
        account.customers.insert(id, customer.clone());
        Ok(customer)
    })
}

async fn delete_customer(State(account): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    object(
        &account,
        Method::DELETE,
        format!("/v1/customers/{id}"),
        &headers,
        |account| {
            let customer = account.customers.get_mut(&id).filter(|c| c["deleted"] != json!(true))?;
            customer["deleted"] = json!(true);
            Some(json!({ "id": id, "object": "customer", "deleted": true }))
        },
    )
}

async fn create_session(State(account): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let base = base_url(&headers);
    create(&account, "/v1/checkout/sessions", &headers, &body, |account, form| {
        let price = form.get("line_items[0][price]").ok_or("line_items[0][price]")?;
        let mode = form.get("mode").ok_or("mode")?;
        let id = account.id("cs_test");
        let metadata: serde_json::Map<String, Value> = form
            .iter()
            .filter_map(|(key, value)| {
                let name = key.strip_prefix("metadata[")?.strip_suffix(']')?;
                Some((name.to_owned(), json!(value)))
            })
            .collect();
        let session = json!({
            "id": id,
            "object": "checkout.session",
            "mode": mode,
            "status": "open",
            "payment_status": "unpaid",
            "customer": form.get("customer"),
            "client_reference_id": form.get("client_reference_id"),
            "success_url": form.get("success_url"),
            "cancel_url": form.get("cancel_url"),
            "line_items_price": price,
            "metadata": metadata,
            "subscription": null,
            "payment_intent": null,
            "url": format!("{base}/pay/{id}"),
        });
        account.sessions.insert(id, session.clone());
        Ok(session)
    })
}

async fn get_session(State(account): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    object(
        &account,
        Method::GET,
        format!("/v1/checkout/sessions/{id}"),
        &headers,
        |account| account.sessions.get(&id).cloned(),
    )
}

async fn get_subscription(State(account): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    object(
        &account,
        Method::GET,
        format!("/v1/subscriptions/{id}"),
        &headers,
        |account| {
            account
                .subscriptions
                .get(&id)
                .filter(|_| !account.hidden.contains(&id))
                .cloned()
        },
    )
}

/// A read of an invoice or a charge: Stripe's 500 while its reads fail, else the object or
/// Stripe's 404.
fn read(
    account: &Shared,
    path: String,
    headers: &HeaderMap,
    id: &str,
    store: impl FnOnce(&Account) -> &HashMap<String, Value>,
) -> Response {
    let mut account = account.lock().unwrap();
    if let Err(response) = intake(&mut account, Method::GET, path.clone(), headers, "") {
        return *response;
    }
    if account.failing.iter().any(|failing| failing == id) {
        return outage();
    }
    match store(&account).get(id) {
        Some(value) => Json(value.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, &format!("No such object: '{path}'")),
    }
}

async fn get_invoice(State(account): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    read(&account, format!("/v1/invoices/{id}"), &headers, &id, |account| {
        &account.invoices
    })
}

async fn get_charge(State(account): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    read(&account, format!("/v1/charges/{id}"), &headers, &id, |account| {
        &account.charges
    })
}

async fn create_portal(State(account): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let base = base_url(&headers);
    create(
        &account,
        "/v1/billing_portal/sessions",
        &headers,
        &body,
        |account, form| {
            let customer = form.get("customer").ok_or("customer")?;
            let id = account.id("bps");
            Ok(json!({
                "id": id, "object": "billing_portal.session", "customer": customer,
                "return_url": form.get("return_url"), "url": format!("{base}/portal/{customer}"),
            }))
        },
    )
}
