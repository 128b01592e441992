//! Billing and credits. Credits — the currency of generations, restyles, upscales, embeds
//! and chat — are kept in an append-only ledger (`ledger`); plans (`plans`) are paid for
//! through Stripe's hosted Checkout and billing portal (`stripe`, `account`), and Stripe's
//! webhooks (`webhook`, `events`) keep the stored state in step.

use plans::{Interval, Plan};
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod account;
pub mod api;
#[cfg(feature = "ssr")]
pub mod events;
#[cfg(feature = "ssr")]
pub mod ledger;
pub mod plans;
#[cfg(feature = "ssr")]
pub mod stripe;
pub mod views;
#[cfg(feature = "ssr")]
pub mod webhook;

/// What pages and server functions say on an instance without payments.
pub const PAYMENTS_OFF: &str =
    "Payments are not set up on this instance of Atelier, so plans and credits cannot be bought here.";

/// Statuses in which a subscription's plan applies. `past_due` keeps it while Stripe
/// retries the payment; the member is told and can mend it in the portal.
pub fn is_live(status: &str) -> bool {
    matches!(status, "active" | "trialing" | "past_due")
}

/// A member's subscription as last read from Stripe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingState {
    /// The plan subscribed to (which applies only while the status is live).
    pub plan: Plan,
    /// Stripe's subscription status; `None` before any subscription.
    pub status: Option<String>,
    pub current_period_end: Option<i64>,
    pub cancel_at_period_end: bool,
    pub interval: Option<Interval>,
}

impl BillingState {
    pub fn effective_plan(&self) -> Plan {
        match &self.status {
            Some(status) if is_live(status) => self.plan,
            _ => Plan::Free,
        }
    }
}

/// Why a balance changed. Stored as its code; every ledger entry has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reason {
    /// The monthly credits of the member's plan.
    PlanGrant,
    /// A credit pack bought once.
    PackPurchase,
    Generation,
    Restyle,
    Upscale,
    Embed,
    Chat,
    /// A spend given back: the work failed or was stopped.
    Refund,
    /// A credit pack's credits taken back because its payment was refunded.
    PackRefunded,
    /// A correction by an administrator.
    Adjustment,
}

impl Reason {
    pub const ALL: [Reason; 10] = [
        Reason::PlanGrant,
        Reason::PackPurchase,
        Reason::Generation,
        Reason::Restyle,
        Reason::Upscale,
        Reason::Embed,
        Reason::Chat,
        Reason::Refund,
        Reason::PackRefunded,
        Reason::Adjustment,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Reason::PlanGrant => "plan_grant",
            Reason::PackPurchase => "pack_purchase",
            Reason::Generation => "generation",
            Reason::Restyle => "restyle",
            Reason::Upscale => "upscale",
            Reason::Embed => "embed",
            Reason::Chat => "chat",
            Reason::Refund => "refund",
            Reason::PackRefunded => "pack_refunded",
            Reason::Adjustment => "adjustment",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Reason::ALL.into_iter().find(|reason| reason.code() == code)
    }

    /// How the billing page names it.
    pub fn label(self) -> &'static str {
        match self {
            Reason::PlanGrant => "Monthly credits of your plan",
            Reason::PackPurchase => "Credit pack",
            Reason::Generation => "Image generation",
            Reason::Restyle => "Restyle",
            Reason::Upscale => "Upscale",
            Reason::Embed => "Embedding",
            Reason::Chat => "Chat reply",
            Reason::Refund => "Refund",
            Reason::PackRefunded => "Credit pack refunded",
            Reason::Adjustment => "Adjustment",
        }
    }

    /// Whether entries for this reason add credits (the others take them).
    pub fn adds(self) -> bool {
        matches!(
            self,
            Reason::PlanGrant | Reason::PackPurchase | Reason::Refund | Reason::Adjustment
        )
    }
}

/// One entry of a member's credit history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub id: i64,
    /// Positive for credits added, negative for credits spent.
    pub amount: i64,
    pub reason: Reason,
    /// What it was for: an invoice, a generation, a conversation, or the spend a refund
    /// gives back.
    pub reference: String,
    pub balance_after: i64,
    pub created_at: i64,
}
