//! The job that acts on a recorded Stripe event. Each handler takes only the object's id
//! from the event and re-reads the object from Stripe (events can arrive late, twice or
//! out of order, and their copy is not what Stripe holds now); a failed read fails the
//! attempt, which is retried, and is never answered from the event. Handlers are
//! idempotent: grants carry the invoice's or session's key, and state is written only
//! from a newer reading.

use super::{
    account, ledger,
    plans::pack,
    stripe::{Payments, StripeCallError, Subscription},
    webhook::{EventRef, EVENT_JOB},
    Reason,
};
use crate::platform::{
    clock::now_unix,
    config::Config,
    db::Database,
    jobs::{ClaimedJob, JobError, JobFuture, JobHandler, JobQueue},
    mail,
};
use sqlx::Row;
use std::{
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

pub struct StripeEventJob {
    pub db: Database,
    pub jobs: JobQueue,
    pub payments: Option<Payments>,
    pub config: Arc<Config>,
}

impl JobHandler for StripeEventJob {
    fn kind(&self) -> &'static str {
        EVENT_JOB
    }

    fn run<'a>(&'a self, job: &'a ClaimedJob) -> JobFuture<'a> {
        Box::pin(async move {
            let event: EventRef = job.payload()?;
            let Some(payments) = &self.payments else {
                return Err(JobError::Permanent("payments are not configured".to_owned()));
            };
            let handling = Handling {
                job: self,
                payments,
                event: &event,
            };
            handling.run().await.map_err(|error| {
                tracing::warn!(event = %event.id, kind = %event.kind, %error, "a Stripe event could not be handled yet");
                match error {
                    account::BillingError::Stripe(StripeCallError::NotFound) => {
                        JobError::Permanent(format!("{error}"))
                    }
                    _ => JobError::Retry(error.to_string()),
                }
            })
        })
    }
}

struct Handling<'a> {
    job: &'a StripeEventJob,
    payments: &'a Payments,
    event: &'a EventRef,
}

type Result<T> = std::result::Result<T, account::BillingError>;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Reads a subscription from Stripe and stores it; the member it belongs to and what was read.
pub async fn sync_subscription(
    db: &Database,
    payments: &Payments,
    subscription_id: &str,
) -> Result<Option<(i64, Subscription)>> {
    // The time is taken before the read: a reading is as old as the moment it began.
    let read_at = now_ms();
    let subscription = payments.subscription(subscription_id).await?;
    let member = account::apply_subscription(db, payments, &subscription, read_at, now_unix()).await?;
    Ok(member.map(|user_id| (user_id, subscription)))
}

impl Handling<'_> {
    async fn run(&self) -> Result<()> {
        let event = self.event;
        match event.kind.as_str() {
            // A slower payment method completes the session unpaid, then pays later.
            "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
                self.checkout_completed().await
            }
            "customer.subscription.created" | "customer.subscription.updated" | "customer.subscription.deleted" => {
                sync_subscription(&self.job.db, self.payments, &event.object)
                    .await
                    .map(drop)
            }
            "invoice.paid" => self.invoice_paid().await,
            "invoice.payment_failed" => self.payment_failed().await,
            "charge.refunded" => self.charge_refunded().await,
            _ => Ok(()),
        }
    }

    async fn checkout_completed(&self) -> Result<()> {
        let session = self.payments.checkout_session(&self.event.object).await?;
        match session.mode.as_str() {
            "subscription" => match &session.subscription {
                Some(subscription) => sync_subscription(&self.job.db, self.payments, subscription)
                    .await
                    .map(drop),
                None => Ok(()),
            },
            "payment" if session.payment_status == "paid" => {
                complete_pack_purchase(&self.job.db, &session).await.map(drop)
            }
            _ => Ok(()),
        }
    }

    /// Grants the period's credits when Stripe, asked now, says the invoice is paid; the
    /// subscription (and so the member) is the one Stripe names on the invoice.
    async fn invoice_paid(&self) -> Result<()> {
        let invoice = self.payments.invoice(&self.event.object).await?;
        if invoice.status.as_deref() != Some("paid") {
            tracing::warn!(invoice = %invoice.id, status = ?invoice.status, "invoice.paid for an invoice Stripe does not show as paid");
            return Ok(());
        }
        let Some(subscription) = invoice.subscription_id() else {
            return Ok(());
        };
        let Some((user_id, subscription)) = sync_subscription(&self.job.db, self.payments, subscription).await? else {
            return Ok(());
        };
        let granted = account::grant_for_invoice(
            &self.job.db,
            self.payments,
            user_id,
            &subscription,
            &invoice.id,
            now_unix(),
        )
        .await?;
        tracing::info!(user_id, invoice = %invoice.id, granted, "plan credits for a paid invoice");
        Ok(())
    }

    async fn payment_failed(&self) -> Result<()> {
        let invoice = self.payments.invoice(&self.event.object).await?;
        let Some(subscription) = invoice.subscription_id() else {
            return Ok(());
        };
        let Some((user_id, _)) = sync_subscription(&self.job.db, self.payments, subscription).await? else {
            return Ok(());
        };
        // Paid since (a retry went through) or voided: there is nothing left to mend.
        if !matches!(invoice.status.as_deref(), Some("open" | "uncollectible")) {
            return Ok(());
        }
        let member = crate::features::accounts::service::account(&self.job.db, user_id).await?;
        let config = &self.job.config;
        let notice = mail::templates::payment_failed(
            &config.site_name,
            &member.email,
            &format!("{}/account/billing", config.public_url),
        );
        mail::send(&self.job.jobs, notice).await?;
        Ok(())
    }

    /// A fully refunded credit pack takes its credits back, as many as are left. Whether
    /// the refund is whole, and which payment it was for, is what Stripe says of the charge.
    async fn charge_refunded(&self) -> Result<()> {
        let charge = self.payments.charge(&self.event.object).await?;
        let (Some(payment_intent), true) = (&charge.payment_intent, charge.refunded) else {
            return Ok(());
        };
        let db = &self.job.db;
        let row = sqlx::query(
            "SELECT user_id, credits, checkout_session_id FROM credit_purchases \
             WHERE payment_intent_id = $1 AND refunded_at IS NULL",
        )
        .bind(payment_intent)
        .fetch_optional(db.pool())
        .await?;
        let Some(row) = row else { return Ok(()) };
        let (user_id, credits, session): (i64, i64, String) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let now = now_unix();
        let take = credits.min(ledger::balance(db, user_id).await?);
        if take > 0 {
            let key = format!("charge_refunded:{}", charge.id);
            match ledger::spend(db, user_id, take, Reason::PackRefunded, &session, &key, now).await {
                // Recorded by an earlier run, perhaps for a balance that has changed since.
                Ok(_) | Err(ledger::LedgerError::KeyConflict(_)) => {}
                Err(error) => return Err(error.into()),
            }
        }
        sqlx::query(
            "UPDATE credit_purchases SET refunded_at = $2 WHERE payment_intent_id = $1 AND refunded_at IS NULL",
        )
        .bind(payment_intent)
        .bind(now)
        .execute(db.pool())
        .await?;
        Ok(())
    }
}

/// Grants a paid pack's credits once (keyed by the Checkout Session) and records the
/// purchase so a refund can find it. Returns the credits the pack holds.
pub async fn complete_pack_purchase(db: &Database, session: &super::stripe::CheckoutSession) -> Result<i64> {
    let metadata = session.metadata.clone().unwrap_or_default();
    let Some(pack) = metadata.get("atelier_pack").map(String::as_str).and_then(pack) else {
        tracing::warn!(session = %session.id, "a paid Checkout Session without a known pack");
        return Ok(0);
    };
    let member = match &session.customer {
        Some(customer) => account::member_of_customer(db, customer).await?,
        None => None,
    };
    let Some(user_id) = member else {
        tracing::warn!(session = %session.id, "a paid pack for a customer Atelier does not know");
        return Ok(0);
    };
    let now = now_unix();
    sqlx::query(
        "INSERT INTO credit_purchases (user_id, checkout_session_id, payment_intent_id, pack, credits, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (checkout_session_id) DO NOTHING",
    )
    .bind(user_id)
    .bind(&session.id)
    .bind(session.payment_intent.as_deref())
    .bind(pack.code)
    .bind(pack.credits)
    .bind(now)
    .execute(db.pool())
    .await?;
    ledger::grant(
        db,
        user_id,
        pack.credits,
        Reason::PackPurchase,
        &format!("{} credits — checkout {}", pack.credits, session.id),
        &format!("checkout:{}", session.id),
        now,
    )
    .await?;
    Ok(pack.credits)
}
