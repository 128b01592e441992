//! HTTP routes outside Leptos: health probes, static files, library images and downloads,
//! avatar uploads and single sign-on.

pub mod avatar;
pub mod health;
pub mod images;
pub mod oidc;
pub mod static_files;
pub mod stored;
