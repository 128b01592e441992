//! Operator pages, for admins only: the mail outbox of the embedded mail transport and the
//! queue of data requests that need a person.

use serde::{Deserialize, Serialize};

pub mod api;
pub mod requests_view;
pub mod views;

/// One message in the outbox, as /admin/outbox lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: i64,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub created_at: i64,
}
