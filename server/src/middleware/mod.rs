//! HTTP middleware that applies to every request: client address, same-origin guard for
//! state changes, security headers with a per-response CSP nonce, and honest statuses for
//! failed server functions.

pub mod client_address;
pub mod same_origin;
pub mod security_headers;
pub mod server_fn_status;
