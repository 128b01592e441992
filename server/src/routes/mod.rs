//! HTTP routes outside Leptos: health probes, static files, library images and downloads,
//! avatar uploads, members' data exports, single sign-on, Stripe's webhooks, streamed chat
//! replies, page-view beacons and `/.well-known` answers.

pub mod avatar;
pub mod chat;
pub mod exports;
pub mod health;
pub mod images;
pub mod oidc;
pub mod static_files;
pub mod stored;
pub mod stripe_webhook;
pub mod usage;
pub mod well_known;
