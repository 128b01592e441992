//! One module per product area; each holds its types, server functions, service and views.

pub mod accounts;
pub mod admin;
pub mod billing;
pub mod chat;
pub mod collections;
pub mod library;
pub mod privacy;
