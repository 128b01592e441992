//! Privacy: the visitor's cookie choices (consent), which every non-essential cookie writer
//! asks before writing, the Global Privacy Control signal, and the data inventory behind
//! the privacy policy, and retention.

pub mod api;
pub mod banner;
pub mod consent;
#[cfg(feature = "ssr")]
pub mod inventory;
pub mod policy;
#[cfg(feature = "ssr")]
pub mod retention;
#[cfg(feature = "ssr")]
pub mod service;

/// The date the privacy policy last changed, as `/.well-known/gpc.json` and the policy say.
pub const POLICY_UPDATED: &str = "2026-11-24";
