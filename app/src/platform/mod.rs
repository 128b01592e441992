//! Server-only infrastructure shared by every feature: configuration, database, background
//! jobs, media storage and the state that reaches server functions through context.

pub mod archive;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod db;
pub mod image_upload;
pub mod jobs;
pub mod mail;
pub mod media;
pub mod rate_limit;
pub mod redirect;
pub mod request;
pub mod search_rank;
pub mod secrets;
pub mod signing;
pub mod state;
pub mod usage;
