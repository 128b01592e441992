//! Server functions behind the pricing, billing and checkout pages. Starting a Checkout or
//! opening the portal answers with a redirect to Stripe's hosted page; the forms carry an
//! operation id made when the page was rendered, so a double submission reuses the first
//! Checkout Session instead of making a second (Stripe's idempotency key is built from it).

use super::{plans::Plan, BillingState, LedgerEntry};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Ledger entries per page of the billing history.
pub const HISTORY_PAGE: u32 = 20;

/// What a member starting a Checkout or opening the portal is told when Stripe answers
/// with an error or not in time (`stripe::REQUEST_TIMEOUT`): nothing was bought, and the
/// same form sent again is safe (its operation id makes Stripe answer with what it made).
pub const STRIPE_UNREACHABLE: &str =
    "We could not reach our payment provider. Nothing was charged; please try again in a minute.";

/// What the page back from Checkout says when Stripe cannot be read. The member has most
/// likely just paid, so “nothing was charged” would be false; the webhook job brings the
/// plan or credits in once Stripe answers, whether or not the page is reloaded.
pub const PAYMENT_UNCONFIRMED: &str = concat!(
    "We could not confirm your payment with Stripe just now. If you paid, it is not lost: your plan or ",
    "credits appear on your billing page as soon as Stripe confirms it. Reload this page in a minute to check."
);

/// What the pricing page needs beyond the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricingView {
    /// Whether this instance takes payments.
    pub configured: bool,
    pub signed_in: bool,
    /// The plan that applies to the visitor now, when signed in.
    pub current: Option<Plan>,
    /// Codes of the credit packs on sale.
    pub packs: Vec<String>,
    pub operation: String,
}

/// The billing page: the subscription, the balance and one page of history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingView {
    pub configured: bool,
    pub state: Option<BillingState>,
    pub effective: Plan,
    pub has_customer: bool,
    pub balance: i64,
    pub entries: Vec<LedgerEntry>,
    pub page: u32,
    pub has_more: bool,
    pub operation: String,
}

/// What returning from Checkout found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckoutOutcome {
    /// The subscription is live on this plan.
    Subscribed { plan: Plan, balance: i64 },
    /// A pack was paid for; its credits are in.
    Credits { credits: i64 },
    /// Stripe has not confirmed the payment yet (a slower payment method).
    Pending,
}

#[cfg(feature = "ssr")]
mod server {
    use super::super::stripe::Payments;
    use crate::{
        error::AppError,
        features::accounts::{guard, session::CurrentMember},
        platform::state::AppState,
    };

    /// The Stripe client, or the message for an instance without payments.
    pub fn payments(state: &AppState) -> Result<&Payments, AppError> {
        state
            .payments
            .as_deref()
            .ok_or_else(|| AppError::Invalid(super::super::PAYMENTS_OFF.to_owned()))
    }

    /// The signed-in member starting something at Stripe: payments must be on, and the
    /// member within the rate limit for it.
    pub async fn paying_member(state: &AppState) -> Result<(&Payments, CurrentMember), AppError> {
        let payments = payments(state)?;
        let member = guard::require_member().await?;
        guard::limit(&state.auth_limits.payments, &member.user_id.to_string())?;
        Ok((payments, member))
    }

    pub fn stripe_failed(error: impl std::fmt::Display) -> AppError {
        tracing::warn!(%error, "a Stripe call failed");
        AppError::Invalid(super::STRIPE_UNREACHABLE.to_owned())
    }

    /// A failure while confirming a Checkout the member came back from (see
    /// `PAYMENT_UNCONFIRMED`); anything but Stripe's is as `billing_failed` has it.
    pub fn confirm_failed(error: super::super::account::BillingError) -> AppError {
        match error {
            super::super::account::BillingError::Stripe(error) => {
                tracing::warn!(%error, "a Checkout could not be confirmed with Stripe");
                AppError::Invalid(super::PAYMENT_UNCONFIRMED.to_owned())
            }
            other => billing_failed(other),
        }
    }

    pub fn billing_failed(error: super::super::account::BillingError) -> AppError {
        match error {
            super::super::account::BillingError::Stripe(error) => stripe_failed(error),
            other => {
                tracing::error!(error = %other, "billing failed");
                AppError::Internal
            }
        }
    }

    /// Makes or reuses the member's Stripe customer, then a Checkout Session selling
    /// `price` (a plan, or the pack `pack`); returns the hosted page to send them to.
    pub async fn begin_checkout(
        state: &AppState,
        user_id: i64,
        operation: &str,
        price: &str,
        pack: Option<&'static str>,
    ) -> Result<String, AppError> {
        use crate::{features::accounts::service as accounts, platform::clock::now_unix};
        let payments = payments(state)?;
        let account = accounts::account(&state.db, user_id).await?;
        let customer = super::super::account::ensure_customer(
            &state.db,
            payments,
            user_id,
            &account.email,
            &account.display_name,
            now_unix(),
        )
        .await
        .map_err(billing_failed)?;
        let base = &state.config.public_url;
        let (_, url) = payments
            .create_checkout(super::super::stripe::CheckoutRequest {
                operation,
                user_id,
                customer: &customer,
                price,
                pack,
                success_url: &format!("{base}/billing/success?session_id={{CHECKOUT_SESSION_ID}}"),
                cancel_url: &format!("{base}/billing/cancelled"),
            })
            .await
            .map_err(stripe_failed)?;
        Ok(url)
    }

    /// An operation id as the forms carry it: 16 to 64 hexadecimal characters.
    pub fn operation(raw: &str) -> Result<&str, AppError> {
        let valid = (16..=64).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_hexdigit());
        if valid {
            Ok(raw)
        } else {
            Err(AppError::Invalid(
                "This form is out of date. Reload the page and try again.".to_owned(),
            ))
        }
    }
}

#[server]
pub async fn load_pricing() -> Result<PricingView, AppError> {
    use crate::{
        features::accounts::guard,
        platform::{secrets::random_hex, state::app_state},
    };
    let state = app_state();
    let member = guard::current_member().await?;
    let current = match &member {
        Some(member) => Some(
            super::account::effective_plan(&state.db, member.user_id)
                .await
                .map_err(server::billing_failed)?,
        ),
        None => None,
    };
    let packs = state
        .payments
        .as_ref()
        .map(|payments| {
            super::plans::PACKS
                .iter()
                .filter(|pack| payments.settings.pack_prices.contains_key(pack.code))
                .map(|pack| pack.code.to_owned())
                .collect()
        })
        .unwrap_or_default();
    Ok(PricingView {
        configured: state.payments.is_some(),
        signed_in: member.is_some(),
        current,
        packs,
        operation: random_hex(16),
    })
}

/// Starts Stripe Checkout for a plan and sends the member there.
#[server]
pub async fn start_checkout(plan: String, interval: String, operation: String) -> Result<(), AppError> {
    use crate::platform::state::app_state;
    let state = app_state();
    let operation = server::operation(&operation)?;
    let (payments, member) = server::paying_member(&state).await?;
    let plan = Plan::parse(&plan)
        .filter(|plan| *plan != Plan::Free)
        .ok_or_else(|| AppError::field("plan", "Choose Pro or Studio."))?;
    let interval = super::plans::Interval::parse(&interval)
        .ok_or_else(|| AppError::field("interval", "Choose monthly or yearly billing."))?;
    if let Some(current) = super::account::state(&state.db, Some(payments), member.user_id)
        .await
        .map_err(server::billing_failed)?
        .filter(|current| current.effective_plan() != Plan::Free)
    {
        return Err(AppError::Invalid(format!(
            "You are on the {} plan already. To change plans, open Manage billing on your billing page.",
            current.plan.name()
        )));
    }
    let price = payments.settings.plan_prices[&(plan, interval)].clone();
    let url = server::begin_checkout(&state, member.user_id, operation, &price, None).await?;
    leptos_axum::redirect(&url);
    Ok(())
}

/// Starts Stripe Checkout (payment mode) for a pack of credits.
#[server]
pub async fn buy_credits(pack: String, operation: String) -> Result<(), AppError> {
    use crate::platform::state::app_state;
    let state = app_state();
    let operation = server::operation(&operation)?;
    let (payments, member) = server::paying_member(&state).await?;
    let pack = super::plans::pack(&pack)
        .filter(|pack| payments.settings.pack_prices.contains_key(pack.code))
        .ok_or_else(|| AppError::field("pack", "Choose one of the packs on sale."))?;
    let price = payments.settings.pack_prices[pack.code].clone();
    let url = server::begin_checkout(&state, member.user_id, operation, &price, Some(pack.code)).await?;
    leptos_axum::redirect(&url);
    Ok(())
}

/// Opens Stripe's billing portal for the member's customer.
#[server]
pub async fn open_billing_portal(operation: String) -> Result<(), AppError> {
    use crate::platform::state::app_state;
    let state = app_state();
    let operation = server::operation(&operation)?;
    let (payments, member) = server::paying_member(&state).await?;
    let customer = super::account::customer_of(&state.db, member.user_id)
        .await?
        .ok_or_else(|| {
            AppError::Invalid("You have no billing account yet: choose a plan or a pack first.".to_owned())
        })?;
    let url = payments
        .portal(
            &customer,
            &format!("{}/account/billing", state.config.public_url),
            operation,
        )
        .await
        .map_err(server::stripe_failed)?;
    leptos_axum::redirect(&url);
    Ok(())
}

/// The billing page's data; `page` counts from 1.
#[server]
pub async fn load_billing(page: u32) -> Result<BillingView, AppError> {
    use crate::{
        features::accounts::guard,
        platform::{secrets::random_hex, state::app_state},
    };
    let state = app_state();
    let member = guard::require_member().await?;
    let page = page.clamp(1, 10_000);
    let billing = super::account::state(&state.db, state.payments.as_deref(), member.user_id)
        .await
        .map_err(server::billing_failed)?;
    let has_customer = billing.is_some();
    let balance = super::ledger::balance(&state.db, member.user_id)
        .await
        .map_err(ledger_failed)?;
    let (entries, has_more) = super::ledger::history(&state.db, member.user_id, page, HISTORY_PAGE)
        .await
        .map_err(ledger_failed)?;
    Ok(BillingView {
        configured: state.payments.is_some(),
        effective: billing.as_ref().map(BillingState::effective_plan).unwrap_or(Plan::Free),
        state: billing,
        has_customer,
        balance,
        entries,
        page,
        has_more,
        operation: random_hex(16),
    })
}

#[cfg(feature = "ssr")]
fn ledger_failed(error: super::ledger::LedgerError) -> AppError {
    tracing::error!(%error, "the credit ledger could not be read");
    AppError::Internal
}

/// On return from Checkout: reads the session and its subscription from Stripe and stores
/// them, so the new plan (and the first period's credits) show before any webhook.
#[server]
pub async fn confirm_checkout(session_id: String) -> Result<CheckoutOutcome, AppError> {
    use crate::platform::{clock::now_unix, state::app_state};
    let state = app_state();
    let (payments, member) = server::paying_member(&state).await?;
    let valid = session_id.starts_with("cs_")
        && session_id.len() <= 255
        && session_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err(AppError::NotFound);
    }
    let session = match payments.checkout_session(&session_id).await {
        Ok(session) => session,
        Err(super::stripe::StripeCallError::NotFound) => return Err(AppError::NotFound),
        Err(error) => return Err(server::confirm_failed(error.into())),
    };
    // Someone else's session is as good as unknown.
    if session.client_reference_id.as_deref() != Some(member.user_id.to_string().as_str()) {
        return Err(AppError::NotFound);
    }
    if session.payment_status == "unpaid" {
        return Ok(CheckoutOutcome::Pending);
    }
    match (session.mode.as_str(), &session.subscription) {
        ("subscription", Some(subscription)) => {
            let synced = super::events::sync_subscription(&state.db, payments, subscription)
                .await
                .map_err(server::confirm_failed)?;
            let Some((user_id, subscription)) = synced else {
                return Ok(CheckoutOutcome::Pending);
            };
            // The session's own invoice is paid when the session is: while it is still the
            // subscription's latest, its period's credits are granted here (under the
            // period's keys, so the webhook later grants nothing more). A later period's
            // credits wait for its own paid invoice, however often this page is reloaded.
            let own_invoice = session.invoice.as_ref().filter(|invoice| {
                subscription.latest_invoice.as_ref() == Some(*invoice) && super::is_live(&subscription.status)
            });
            if let Some(invoice) = own_invoice {
                super::account::grant_for_invoice(&state.db, payments, user_id, &subscription, invoice, now_unix())
                    .await
                    .map_err(server::billing_failed)?;
            }
            let plan = super::account::effective_plan(&state.db, user_id)
                .await
                .map_err(server::billing_failed)?;
            let balance = super::ledger::balance(&state.db, user_id)
                .await
                .map_err(ledger_failed)?;
            Ok(CheckoutOutcome::Subscribed { plan, balance })
        }
        ("payment", _) => {
            let credits = super::events::complete_pack_purchase(&state.db, &session)
                .await
                .map_err(server::billing_failed)?;
            Ok(CheckoutOutcome::Credits { credits })
        }
        _ => Ok(CheckoutOutcome::Pending),
    }
}
