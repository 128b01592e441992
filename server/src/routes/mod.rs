//! HTTP routes outside Leptos: health probes, static files, library images and downloads,
//! avatar uploads, single sign-on and `/.well-known` answers.

pub mod avatar;
pub mod health;
pub mod images;
pub mod oidc;
pub mod static_files;
pub mod stored;
pub mod well_known;
