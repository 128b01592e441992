//! Billing and credits. Credits — the currency of generations, restyles, upscales, embeds
//! and chat — are kept in an append-only ledger (`ledger`); plans and payments through
//! Stripe build on it.

use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod ledger;

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
    /// A correction by an administrator.
    Adjustment,
}

impl Reason {
    pub const ALL: [Reason; 9] = [
        Reason::PlanGrant,
        Reason::PackPurchase,
        Reason::Generation,
        Reason::Restyle,
        Reason::Upscale,
        Reason::Embed,
        Reason::Chat,
        Reason::Refund,
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
