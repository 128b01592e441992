//! A member's billing state as kept from Stripe (customer, subscription, plan, period),
//! how it is brought up to date, and how a paid period turns into credits.
//!
//! Every change to a subscription is written from a fresh read of Stripe, stamped with
//! the time of that read: a write carrying an older read than the stored one is ignored,
//! so events arriving late or out of order can never move a subscription backwards.

use super::{
    ledger,
    plans::Plan,
    stripe::{Payments, StripeCallError, Subscription},
    BillingState, Reason,
};
use crate::platform::db::Database;
use sqlx::Row;

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error(transparent)]
    Stripe(#[from] StripeCallError),
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

type Result<T, E = BillingError> = std::result::Result<T, E>;

/// The member's Stripe customer id, if they have one.
pub async fn customer_of(db: &Database, user_id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT stripe_customer_id FROM billing_accounts WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(db.pool())
        .await
}

/// The member's customer, made at Stripe the first time. Two calls at once make one
/// customer at Stripe (the idempotency key is the member id) and one row here.
pub async fn ensure_customer(
    db: &Database,
    payments: &Payments,
    user_id: i64,
    email: &str,
    name: &str,
    now: i64,
) -> Result<String> {
    if let Some(customer) = customer_of(db, user_id).await? {
        return Ok(customer);
    }
    let created_at: i64 = sqlx::query_scalar("SELECT created_at FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(db.pool())
        .await?;
    let customer = payments.create_customer(user_id, created_at, email, name).await?;
    sqlx::query(
        "INSERT INTO billing_accounts (user_id, stripe_customer_id, created_at, updated_at) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(user_id)
    .bind(&customer)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(customer_of(db, user_id).await?.unwrap_or(customer))
}

pub async fn member_of_customer(db: &Database, customer: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT user_id FROM billing_accounts WHERE stripe_customer_id = $1")
        .bind(customer)
        .fetch_optional(db.pool())
        .await
}

/// Stores what Stripe said about a subscription, read at `read_at_ms`. Returns the member
/// it belongs to (`None` for a customer we do not know).
pub async fn apply_subscription(
    db: &Database,
    payments: &Payments,
    subscription: &Subscription,
    read_at_ms: i64,
    now: i64,
) -> Result<Option<i64>> {
    let Some(user_id) = member_of_customer(db, &subscription.customer).await? else {
        tracing::warn!(subscription = %subscription.id, "a subscription for a customer Atelier does not know");
        return Ok(None);
    };
    let price = subscription.price_id();
    let plan = match price.and_then(|price| payments.settings.plan_of_price(price)) {
        Some((plan, _)) => plan,
        None => {
            tracing::warn!(subscription = %subscription.id, ?price, "a subscription to a price no plan is configured with");
            Plan::Free
        }
    };
    // Written only from a newer reading, and never over another subscription that is
    // still live (a late event about an old, cancelled one must not replace it).
    sqlx::query(
        "UPDATE billing_accounts SET subscription_id = $2, status = $3, plan = $4, price_id = $5, \
         current_period_end = $6, cancel_at_period_end = $7, synced_at = $8, updated_at = $9 \
         WHERE user_id = $1 AND synced_at <= $8 \
         AND (subscription_id IS NULL OR subscription_id = $2 OR status IS NULL \
              OR status NOT IN ('active', 'trialing', 'past_due'))",
    )
    .bind(user_id)
    .bind(&subscription.id)
    .bind(&subscription.status)
    .bind(plan.code())
    .bind(price)
    .bind(subscription.period_end())
    .bind(i64::from(subscription.cancel_at_period_end))
    .bind(read_at_ms)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(Some(user_id))
}

/// Grants the credits of the period a paid invoice belongs to. The rule for plan changes:
/// - a new period grants the plan's full amount for it (a yearly period, twelve months');
/// - an upgrade inside a period tops the grant up to the new plan's amount (the proration
///   invoice Stripe raises for it is the one that does this);
/// - a downgrade or cancellation takes back nothing: credits already granted stay and
///   never expire, and the smaller plan grants from its next period.
///
/// A period's credits are granted in tiers, one ledger entry per plan level reached, each
/// under its own key (`period:<subscription>:<period end>:<plan>`): Pro's 1,000, then the
/// 4,000 more that make Studio's 5,000. Whatever order invoices and their redeliveries
/// are handled in, even at the same moment, each tier is granted once, so the period
/// ends up with exactly the highest plan paid for. Returns the credits added now.
pub async fn grant_for_invoice(
    db: &Database,
    payments: &Payments,
    user_id: i64,
    subscription: &Subscription,
    invoice_id: &str,
    now: i64,
) -> Result<i64> {
    let Some((plan, interval)) = subscription
        .price_id()
        .and_then(|price| payments.settings.plan_of_price(price))
    else {
        return Ok(0);
    };
    let Some(period_end) = subscription.period_end() else {
        return Ok(0);
    };
    let target = plan.period_credits(interval);
    let mut below = 0;
    let mut added = 0;
    for tier in Plan::PAID {
        let level = tier.period_credits(interval);
        if level > target {
            break;
        }
        let amount = level - below;
        below = level;
        if amount <= 0 {
            continue;
        }
        let reference = format!("{} plan, {} — invoice {invoice_id}", tier.name(), interval.code());
        let key = format!("period:{}:{period_end}:{}", subscription.id, tier.code());
        match ledger::grant(db, user_id, amount, Reason::PlanGrant, &reference, &key, now).await {
            Ok(recorded) if !recorded.replayed => added += amount,
            // Granted before (perhaps, after a change of interval, as another amount).
            Ok(_) | Err(ledger::LedgerError::KeyConflict(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(added)
}

/// The plan whose limits and grants apply to the member now.
pub async fn effective_plan(db: &Database, user_id: i64) -> Result<Plan> {
    Ok(state(db, None, user_id)
        .await?
        .map(|state| state.effective_plan())
        .unwrap_or(Plan::Free))
}

/// What the billing page shows about the subscription.
pub async fn state(db: &Database, payments: Option<&Payments>, user_id: i64) -> Result<Option<BillingState>> {
    let row = sqlx::query(
        "SELECT plan, status, current_period_end, cancel_at_period_end, subscription_id, price_id \
         FROM billing_accounts WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let status: Option<String> = row.try_get("status")?;
    let subscription: Option<String> = row.try_get("subscription_id")?;
    Ok(Some(BillingState {
        plan: Plan::parse(&row.try_get::<String, _>("plan")?).unwrap_or(Plan::Free),
        status: subscription.and(status),
        current_period_end: row.try_get("current_period_end")?,
        cancel_at_period_end: row.try_get::<i64, _>("cancel_at_period_end")? != 0,
        interval: row
            .try_get::<Option<String>, _>("price_id")?
            .zip(payments)
            .and_then(|(price, payments)| payments.settings.plan_of_price(&price))
            .map(|(_, interval)| interval),
    }))
}
