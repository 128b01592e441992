//! Atelier's server crate: builds the HTTP application (shared by `main` and the tests),
//! the command line, background job handlers, the image import and the demo library.

// Leptos views are nested generic types; rendering whole pages here instantiates them at
// a depth beyond the default limit of 128.
#![recursion_limit = "256"]

pub mod bench;
pub mod cli;
pub mod demo;
pub mod import;
pub mod jobs;
pub mod middleware;
pub mod routes;
pub mod startup;
pub mod telemetry;
