//! HTTP middleware that applies to every request: client address, same-origin guard for
//! state changes, security headers with a per-response CSP nonce, honest statuses for
//! failed server functions, signed form errors, and page-view counting.

pub mod client_address;
pub mod form_errors;
pub mod page_views;
pub mod same_origin;
pub mod security_headers;
pub mod server_fn_status;
