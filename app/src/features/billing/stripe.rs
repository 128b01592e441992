//! The calls Atelier makes to Stripe, through async-stripe's client and request builders.
//! Answers are read into small structs of the fields we use (miniserde, as the crate
//! does) rather than the crate's full objects, whose required fields follow one API
//! version: an account pinned to another version still works.

use super::plans::{Interval, Plan, PACKS};
use crate::platform::config::ConfigError;
use std::{collections::HashMap, time::Duration};
use stripe::{IdempotencyKey, RequestStrategy, StripeRequest};

/// `ATELIER_STRIPE_*`: present only when payments are configured.
#[derive(Clone)]
pub struct StripeSettings {
    pub secret_key: String,
    /// The current webhook signing secret, then the previous one while a roll is under way.
    pub webhook_secrets: Vec<String>,
    /// `https://api.stripe.com/` unless pointed elsewhere (tests use a local fake).
    pub api_base: String,
    pub plan_prices: HashMap<(Plan, Interval), String>,
    /// Price ids of the credit packs on sale; a pack without one is not offered.
    pub pack_prices: HashMap<&'static str, String>,
    /// How long one attempt at a Stripe call may take: [`REQUEST_TIMEOUT`]. No variable
    /// sets it; tests shorten it to keep a slow fake from taking seconds.
    pub request_timeout: Duration,
}

impl std::fmt::Debug for StripeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys.
        f.debug_struct("StripeSettings")
            .field("api_base", &self.api_base)
            .field("plan_prices", &self.plan_prices)
            .field("pack_prices", &self.pack_prices)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

/// How long one attempt at a Stripe call may take before it is given up. A member who
/// clicked Upgrade waits on it, and async-stripe's client has no timeout of its own: a
/// Stripe that accepts the connection and never answers would hold the request (and the
/// worker running a webhook job) for as long as the connection lives. Stripe answers in
/// well under a second when healthy; ten seconds is an outage, not a slow answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Attempts at a read (and a delete of a customer), the second at once after the first
/// fails with a timeout, a network error, a 5xx or another status Stripe calls transient
/// (409, 424, 429; a 404 or other refusal is final). A member on the page back from
/// Checkout waits at most `READ_ATTEMPTS` × [`REQUEST_TIMEOUT`] per read, and a webhook
/// job that fails is retried by the queue with its own backoff, so no longer backoff is
/// spent inside the call. Creates are sent once: the member sends the same operation
/// again, and its idempotency key makes that safe.
pub const READ_ATTEMPTS: u32 = 2;

const PLAN_PRICE_VARIABLES: [(Plan, Interval, &str); 4] = [
    (Plan::Pro, Interval::Monthly, "ATELIER_STRIPE_PRICE_PRO_MONTHLY"),
    (Plan::Pro, Interval::Yearly, "ATELIER_STRIPE_PRICE_PRO_YEARLY"),
    (Plan::Studio, Interval::Monthly, "ATELIER_STRIPE_PRICE_STUDIO_MONTHLY"),
    (Plan::Studio, Interval::Yearly, "ATELIER_STRIPE_PRICE_STUDIO_YEARLY"),
];

const PACK_PRICE_VARIABLES: [&str; 2] = ["ATELIER_STRIPE_PRICE_CREDITS_500", "ATELIER_STRIPE_PRICE_CREDITS_2000"];

impl StripeSettings {
    /// Payments are on when a secret key is given; then the webhook secret and every plan
    /// price are required too.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let Some(secret_key) = get("ATELIER_STRIPE_SECRET_KEY") else {
            return match get("ATELIER_STRIPE_WEBHOOK_SECRET") {
                Some(_) => Err(invalid(
                    "ATELIER_STRIPE_SECRET_KEY",
                    "is required when ATELIER_STRIPE_WEBHOOK_SECRET is set",
                )),
                None => Ok(None),
            };
        };
        if !(secret_key.starts_with("sk_") || secret_key.starts_with("rk_")) || secret_key.contains(char::is_whitespace)
        {
            return Err(invalid(
                "ATELIER_STRIPE_SECRET_KEY",
                "expected a Stripe secret or restricted key (sk_… or rk_…)",
            ));
        }
        let mut webhook_secrets = Vec::new();
        for variable in [
            "ATELIER_STRIPE_WEBHOOK_SECRET",
            "ATELIER_STRIPE_WEBHOOK_SECRET_PREVIOUS",
        ] {
            match get(variable) {
                Some(secret) if secret.starts_with("whsec_") => webhook_secrets.push(secret),
                Some(_) => return Err(invalid(variable, "expected a webhook signing secret (whsec_…)")),
                None if variable == "ATELIER_STRIPE_WEBHOOK_SECRET" => {
                    return Err(invalid(
                        variable,
                        "is required when ATELIER_STRIPE_SECRET_KEY is set (the endpoint's signing secret, whsec_…)",
                    ))
                }
                None => {}
            }
        }
        let api_base = match get("ATELIER_STRIPE_API_BASE") {
            Some(raw) if raw.starts_with("https://") || raw.starts_with("http://") => {
                format!("{}/", raw.trim_end_matches('/'))
            }
            Some(raw) => {
                return Err(invalid(
                    "ATELIER_STRIPE_API_BASE",
                    format!("expected an http(s) URL such as https://api.stripe.com, got “{raw}”"),
                ))
            }
            None => "https://api.stripe.com/".to_owned(),
        };
        let mut plan_prices = HashMap::new();
        for (plan, interval, variable) in PLAN_PRICE_VARIABLES {
            let price = get(variable).ok_or_else(|| {
                invalid(
                    variable,
                    "is required when ATELIER_STRIPE_SECRET_KEY is set (the Stripe price id, price_…)",
                )
            })?;
            plan_prices.insert((plan, interval), price);
        }
        let mut pack_prices = HashMap::new();
        for (pack, variable) in PACKS.iter().zip(PACK_PRICE_VARIABLES) {
            if let Some(price) = get(variable) {
                pack_prices.insert(pack.code, price);
            }
        }
        Ok(Some(StripeSettings {
            secret_key,
            webhook_secrets,
            api_base,
            plan_prices,
            pack_prices,
            request_timeout: REQUEST_TIMEOUT,
        }))
    }

    /// Where Stripe's hosted pages are: Checkout and the billing portal on Stripe's own
    /// origins, or, when the API is reached elsewhere (a proxy, a test fake), there.
    pub fn hosted_origins(&self) -> Vec<String> {
        if self.api_base == "https://api.stripe.com/" {
            vec![
                "https://checkout.stripe.com".to_owned(),
                "https://billing.stripe.com".to_owned(),
            ]
        } else {
            vec![self.api_base.trim_end_matches('/').to_owned()]
        }
    }

    /// The plan and interval a Stripe price id stands for.
    pub fn plan_of_price(&self, price: &str) -> Option<(Plan, Interval)> {
        self.plan_prices
            .iter()
            .find(|(_, id)| id.as_str() == price)
            .map(|(key, _)| *key)
    }
}

fn invalid(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StripeCallError {
    /// Stripe has no such object (a customer deleted in the dashboard, say).
    #[error("Stripe has no such object")]
    NotFound,
    /// Stripe refused the request or could not be reached; the message is for the log.
    #[error("Stripe call failed: {0}")]
    Failed(String),
}

impl From<stripe::StripeError> for StripeCallError {
    fn from(error: stripe::StripeError) -> Self {
        match error {
            stripe::StripeError::Stripe(_, 404) => StripeCallError::NotFound,
            stripe::StripeError::Stripe(details, status) => StripeCallError::Failed(format!(
                "{status}: {}",
                details.message.unwrap_or_else(|| "no message".to_owned())
            )),
            other => StripeCallError::Failed(other.to_string()),
        }
    }
}

type CallResult<T> = Result<T, StripeCallError>;

#[derive(miniserde::Deserialize)]
struct Created {
    id: String,
    url: Option<String>,
}

/// The fields of a Checkout Session we use.
#[derive(Clone, Debug, miniserde::Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    /// `subscription` or `payment`.
    pub mode: String,
    pub customer: Option<String>,
    pub subscription: Option<String>,
    pub client_reference_id: Option<String>,
    /// `paid`, `unpaid` or `no_payment_required`.
    pub payment_status: String,
    pub payment_intent: Option<String>,
    /// The invoice the session paid (subscription mode: the subscription's first).
    pub invoice: Option<String>,
    pub metadata: Option<HashMap<String, String>>,
}

/// The fields of a Subscription we use.
#[derive(Clone, Debug, miniserde::Deserialize)]
pub struct Subscription {
    pub id: String,
    pub customer: String,
    /// `active`, `trialing`, `past_due`, `canceled`, `unpaid`, `incomplete`, …
    pub status: String,
    pub cancel_at_period_end: bool,
    /// API versions before 2025-03-31 put the period here; later ones on each item.
    pub current_period_end: Option<i64>,
    pub items: SubscriptionItems,
    pub latest_invoice: Option<String>,
}

#[derive(Clone, Debug, miniserde::Deserialize)]
pub struct SubscriptionItems {
    pub data: Vec<SubscriptionItem>,
}

#[derive(Clone, Debug, miniserde::Deserialize)]
pub struct SubscriptionItem {
    pub price: PriceRef,
    pub current_period_end: Option<i64>,
}

#[derive(Clone, Debug, miniserde::Deserialize)]
pub struct PriceRef {
    pub id: String,
}

impl Subscription {
    pub fn price_id(&self) -> Option<&str> {
        self.items.data.first().map(|item| item.price.id.as_str())
    }

    pub fn period_end(&self) -> Option<i64> {
        self.items
            .data
            .first()
            .and_then(|item| item.current_period_end)
            .or(self.current_period_end)
    }
}

/// The fields of an Invoice we use: what Stripe says of it, whatever an event carried.
#[derive(Clone, Debug, miniserde::Deserialize)]
pub struct Invoice {
    pub id: String,
    /// `draft`, `open`, `paid`, `uncollectible` or `void`.
    pub status: Option<String>,
    /// API versions before 2025-03-31 name the subscription here; later ones under `parent`.
    pub subscription: Option<String>,
    pub parent: Option<InvoiceParent>,
}

#[derive(Clone, Debug, miniserde::Deserialize)]
pub struct InvoiceParent {
    pub subscription_details: Option<InvoiceSubscriptionDetails>,
}

#[derive(Clone, Debug, miniserde::Deserialize)]
pub struct InvoiceSubscriptionDetails {
    pub subscription: Option<String>,
}

impl Invoice {
    /// The subscription the invoice bills, in either API version's place.
    pub fn subscription_id(&self) -> Option<&str> {
        self.subscription.as_deref().or_else(|| {
            self.parent
                .as_ref()?
                .subscription_details
                .as_ref()?
                .subscription
                .as_deref()
        })
    }
}

/// The fields of a Charge we use.
#[derive(Clone, Debug, miniserde::Deserialize)]
pub struct Charge {
    pub id: String,
    pub payment_intent: Option<String>,
    /// True once the whole amount has been refunded (a partial refund leaves it false).
    pub refunded: bool,
}

/// A checkout to start: what to sell and where to send the member back to.
pub struct CheckoutRequest<'a> {
    /// Our operation id, from which the idempotency key is made.
    pub operation: &'a str,
    pub user_id: i64,
    pub customer: &'a str,
    pub price: &'a str,
    /// For a pack: its code (kept in the session's metadata).
    pub pack: Option<&'static str>,
    pub success_url: &'a str,
    pub cancel_url: &'a str,
}

/// Atelier's Stripe client.
#[derive(Clone)]
pub struct Payments {
    client: stripe::Client,
    pub settings: StripeSettings,
}

impl Payments {
    pub fn new(settings: StripeSettings) -> anyhow::Result<Self> {
        let client = stripe::ClientBuilder::new(settings.secret_key.clone())
            .url(settings.api_base.clone())
            .timeout(settings.request_timeout)
            .build()
            .map_err(|error| anyhow::anyhow!("the Stripe client could not be built: {error}"))?;
        Ok(Payments { client, settings })
    }

    /// Sends `request` once with the idempotency key `key`, reading the answer as `T`;
    /// within the request timeout, or `StripeCallError::Failed`.
    async fn send_keyed<T: miniserde::Deserialize>(&self, request: &impl StripeRequest, key: &str) -> CallResult<T> {
        let key = IdempotencyKey::new(key).map_err(|error| StripeCallError::Failed(error.to_string()))?;
        Ok(request
            .build()
            .customize::<T>()
            .request_strategy(RequestStrategy::Idempotent(key))
            .send(&self.client)
            .await?)
    }

    /// Reads are safe to repeat: [`READ_ATTEMPTS`] tries, without a pause between them.
    /// (async-stripe's `ExponentialBackoff` sleeps before every attempt, the first one
    /// too: a second on each healthy read and seven on a failing one.)
    async fn send_read<T: miniserde::Deserialize>(&self, request: &impl StripeRequest) -> CallResult<T> {
        Ok(request
            .build()
            .customize::<T>()
            .request_strategy(RequestStrategy::Retry(READ_ATTEMPTS))
            .send(&self.client)
            .await?)
    }

    /// A Stripe customer bound to the member: the key is the member id and when the
    /// account was made (an id alone can come back on SQLite after an account is
    /// deleted), so two checkouts started at once make one customer.
    pub async fn create_customer(&self, user_id: i64, created_at: i64, email: &str, name: &str) -> CallResult<String> {
        let request = stripe_core::customer::CreateCustomer::new()
            .email(email)
            .name(name)
            .metadata(HashMap::from([("atelier_member".to_owned(), user_id.to_string())]));
        let created: Created = self
            .send_keyed(&request, &format!("customer:{user_id}:{created_at}"))
            .await?;
        Ok(created.id)
    }

    /// Starts a hosted Checkout for a plan (subscription mode) or a pack (payment mode);
    /// returns the session id and the page to send the member to.
    pub async fn create_checkout(&self, checkout: CheckoutRequest<'_>) -> CallResult<(String, String)> {
        use stripe_checkout::{
            checkout_session::{CreateCheckoutSession, CreateCheckoutSessionLineItems},
            CheckoutSessionMode,
        };
        let mut line = CreateCheckoutSessionLineItems::new();
        line.price = Some(checkout.price.to_owned());
        line.quantity = Some(1);
        let mut metadata = HashMap::from([("atelier_member".to_owned(), checkout.user_id.to_string())]);
        if let Some(pack) = checkout.pack {
            metadata.insert("atelier_pack".to_owned(), pack.to_owned());
        }
        let mode = if checkout.pack.is_some() {
            CheckoutSessionMode::Payment
        } else {
            CheckoutSessionMode::Subscription
        };
        let request = CreateCheckoutSession::new()
            .mode(mode)
            .customer(checkout.customer)
            .client_reference_id(checkout.user_id.to_string())
            .line_items(vec![line])
            .metadata(metadata)
            .success_url(checkout.success_url)
            .cancel_url(checkout.cancel_url);
        // The price is part of the operation: going back from Checkout and choosing
        // something else on the same page is a new operation, not a replay.
        let key = format!(
            "checkout:{}:{}:{}",
            checkout.user_id, checkout.operation, checkout.price
        );
        let created: Created = self.send_keyed(&request, &key).await?;
        let url = created
            .url
            .ok_or_else(|| StripeCallError::Failed("the Checkout Session has no url".to_owned()))?;
        Ok((created.id, url))
    }

    pub async fn checkout_session(&self, id: &str) -> CallResult<CheckoutSession> {
        self.send_read(&stripe_checkout::checkout_session::RetrieveCheckoutSession::new(id))
            .await
    }

    pub async fn subscription(&self, id: &str) -> CallResult<Subscription> {
        self.send_read(&stripe_billing::subscription::RetrieveSubscription::new(id))
            .await
    }

    pub async fn invoice(&self, id: &str) -> CallResult<Invoice> {
        self.send_read(&stripe_billing::invoice::RetrieveInvoice::new(id)).await
    }

    pub async fn charge(&self, id: &str) -> CallResult<Charge> {
        self.send_read(&stripe_core::charge::RetrieveCharge::new(id)).await
    }

    /// A billing portal session for the customer; returns its page.
    pub async fn portal(&self, customer: &str, return_url: &str, operation: &str) -> CallResult<String> {
        let request = stripe_billing::billing_portal_session::CreateBillingPortalSession::new()
            .customer(customer)
            .return_url(return_url);
        let created: Created = self
            .send_keyed(&request, &format!("portal:{customer}:{operation}"))
            .await?;
        created
            .url
            .ok_or_else(|| StripeCallError::Failed("the portal session has no url".to_owned()))
    }

    /// Deletes the customer (and with it their subscriptions and saved payment methods at
    /// Stripe); one already gone counts as done.
    pub async fn delete_customer(&self, customer: &str) -> CallResult<()> {
        #[derive(miniserde::Deserialize)]
        struct Deleted {
            #[allow(dead_code)]
            id: String,
        }
        let request = stripe_core::customer::DeleteCustomer::new(customer);
        match self.send_read::<Deleted>(&request).await {
            Ok(_) | Err(StripeCallError::NotFound) => Ok(()),
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(values: &[(&str, &str)]) -> Result<Option<StripeSettings>, ConfigError> {
        let values: HashMap<String, String> = values.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        StripeSettings::from_lookup(|name| values.get(name).cloned())
    }

    const FULL: [(&str, &str); 6] = [
        ("ATELIER_STRIPE_SECRET_KEY", "sk_test_123"),
        ("ATELIER_STRIPE_WEBHOOK_SECRET", "whsec_abc"),
        ("ATELIER_STRIPE_PRICE_PRO_MONTHLY", "price_pm"),
        ("ATELIER_STRIPE_PRICE_PRO_YEARLY", "price_py"),
        ("ATELIER_STRIPE_PRICE_STUDIO_MONTHLY", "price_sm"),
        ("ATELIER_STRIPE_PRICE_STUDIO_YEARLY", "price_sy"),
    ];

    #[test]
    fn off_without_a_key() {
        assert!(settings(&[]).unwrap().is_none());
        let error = settings(&[("ATELIER_STRIPE_WEBHOOK_SECRET", "whsec_x")]).unwrap_err();
        assert_eq!(error.variable, "ATELIER_STRIPE_SECRET_KEY");
    }

    #[test]
    fn a_key_needs_the_webhook_secret_and_every_plan_price() {
        let error = settings(&FULL[..1]).unwrap_err();
        assert_eq!(error.variable, "ATELIER_STRIPE_WEBHOOK_SECRET");
        let error = settings(&FULL[..5]).unwrap_err();
        assert_eq!(error.variable, "ATELIER_STRIPE_PRICE_STUDIO_YEARLY");
        let error = settings(&[("ATELIER_STRIPE_SECRET_KEY", "pk_test_1")]).unwrap_err();
        assert!(error.problem.contains("secret"), "{}", error.problem);
    }

    #[test]
    fn prices_map_back_to_plans() {
        let mut values = FULL.to_vec();
        values.push(("ATELIER_STRIPE_API_BASE", "http://127.0.0.1:9"));
        values.push(("ATELIER_STRIPE_PRICE_CREDITS_500", "price_c500"));
        let settings = settings(&values).unwrap().unwrap();
        assert_eq!(settings.api_base, "http://127.0.0.1:9/");
        assert_eq!(
            settings.plan_of_price("price_sy"),
            Some((Plan::Studio, Interval::Yearly))
        );
        assert_eq!(settings.plan_of_price("price_other"), None);
        assert_eq!(
            settings.pack_prices.get("credits_500").map(String::as_str),
            Some("price_c500")
        );
        assert!(!settings.pack_prices.contains_key("credits_2000"));
        assert!(!format!("{settings:?}").contains("sk_test"));
        assert_eq!(settings.request_timeout, REQUEST_TIMEOUT);
    }

    #[test]
    fn invoices_name_their_subscription_in_either_place() {
        let old: Invoice = miniserde::json::from_str(
            r#"{"id":"in_1","object":"invoice","customer":"cus_1","status":"paid","subscription":"sub_1"}"#,
        )
        .unwrap();
        let new: Invoice = miniserde::json::from_str(
            r#"{"id":"in_2","object":"invoice","customer":"cus_1","status":"paid","parent":{"type":"subscription_details","quote_details":null,"subscription_details":{"metadata":{},"subscription":"sub_2"}}}"#,
        )
        .unwrap();
        let none: Invoice = miniserde::json::from_str(
            r#"{"id":"in_3","object":"invoice","customer":"cus_1","status":"open","parent":null}"#,
        )
        .unwrap();
        assert_eq!(old.subscription_id(), Some("sub_1"));
        assert_eq!(new.subscription_id(), Some("sub_2"));
        assert_eq!(none.subscription_id(), None);
    }
}
