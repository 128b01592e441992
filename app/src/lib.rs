//! Atelier's shared application: the page shell, the route table and every feature,
//! compiled for the server (`ssr`) and for the browser (`hydrate`) from one source.

#![recursion_limit = "256"]

pub mod dates;
pub mod error;
pub mod features;
pub mod routes;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod platform;

pub use routes::{shell, App};
