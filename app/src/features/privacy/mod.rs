//! Privacy: the visitor's cookie choices (consent), which every non-essential cookie writer
//! asks before writing, the Global Privacy Control signal, the data inventory behind the
//! privacy policy, the member's own data (export, deletion, tracked requests and appeals), privacy settings
//! and retention.

pub mod analytics;
pub mod api;
pub mod banner;
pub mod consent;
pub mod cookies;
pub mod data_api;
pub mod data_views;
#[cfg(feature = "ssr")]
pub mod deletion;
#[cfg(feature = "ssr")]
pub mod export;
#[cfg(feature = "ssr")]
pub mod inventory;
#[cfg(feature = "ssr")]
pub mod member_data;
pub mod policy;
#[cfg(feature = "ssr")]
pub mod requests;
#[cfg(feature = "ssr")]
pub mod retention;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod settings;
pub mod settings_api;
pub mod settings_views;

/// The date the privacy policy last changed, as `/.well-known/gpc.json` and the policy say.
pub const POLICY_UPDATED: &str = "2026-12-07";
