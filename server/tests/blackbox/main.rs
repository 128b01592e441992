//! The black-box suite: the real application started on an ephemeral port per test, spoken
//! to over HTTP, on SQLite or PostgreSQL (ATELIER_TEST_DATABASE). One test binary with a
//! module per area rather than a binary per file: each binary links the whole server, and
//! with twenty the test build took twice as long (docs/PERFORMANCE.md).

mod support;

mod accounts;
mod admin_jobs;
mod avatar;
mod billing;
mod browse;
mod chat;
mod chat_bench;
mod chat_metering;
mod cli;
mod collection_exports;
mod collections;
mod consent;
mod cookies;
mod crash;
mod credits;
mod data_rights;
mod docs;
mod form_errors;
mod fuzz_http;
mod fuzz_routes;
mod health;
mod images;
mod import;
mod instances;
mod jobs;
mod load_gate;
mod mail;
mod member_data;
mod member_data_bursts;
mod oidc;
mod pages;
mod privacy_settings;
mod schema;
mod search;
mod server_functions;
mod sessions;
mod soak;
mod storage;
mod stripe_outages;
mod stripe_rereads;
mod usage;
