//! Outgoing mail: one `Mailer` over three transports chosen by configuration — the embedded
//! outbox table (default), SMTP through lettre, or an HTTP provider with Resend's API shape.
//! Features never talk to a transport: they call [`send`], which queues a job, so a slow or
//! failing provider never blocks a request and failures are retried.

mod delivery_job;
mod http_provider;
pub mod outbox;
mod smtp;
pub mod templates;

pub use delivery_job::{MailDelivery, MAIL_JOB};

use super::{config::Config, db::Database, jobs::JobQueue};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A rendered message, as queued and as delivered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Which transport delivers mail (`ATELIER_MAIL_TRANSPORT`).
#[derive(Clone, PartialEq, Eq)]
pub enum MailTransportConfig {
    /// The `mail_outbox` table, read at /admin/outbox and by `server mail latest`.
    Outbox,
    /// An SMTP relay, e.g. `smtp://user:pass@mail.example:587?tls=required`.
    Smtp { url: String },
    /// An HTTP provider speaking Resend's `POST /emails` API.
    Http { api_url: String, api_key: String },
}

/// Credentials never reach a log line through `{:?}` of the configuration.
impl std::fmt::Debug for MailTransportConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MailTransportConfig::Outbox => f.write_str("Outbox"),
            MailTransportConfig::Smtp { .. } => f.write_str("Smtp { url: <redacted> }"),
            MailTransportConfig::Http { api_url, .. } => {
                write!(f, "Http {{ api_url: {api_url:?}, api_key: <redacted> }}")
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Worth retrying: the provider is down, slow or rate-limiting.
    #[error("temporary mail failure: {0}")]
    Temporary(String),
    /// Retrying cannot help: a bad address, rejected credentials, a refused message.
    #[error("permanent mail failure: {0}")]
    Permanent(String),
}

enum Transport {
    Outbox(Database),
    Smtp(smtp::SmtpTransport),
    Http(http_provider::HttpProvider),
}

/// Delivers one message through the configured transport. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    from: String,
    transport: Arc<Transport>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match *self.transport {
            Transport::Outbox(_) => "outbox",
            Transport::Smtp(_) => "smtp",
            Transport::Http(_) => "http",
        };
        f.debug_struct("Mailer").field("transport", &kind).finish()
    }
}

impl Mailer {
    /// Builds the configured transport; an unusable SMTP URL is reported here, at start.
    pub fn from_config(config: &Config, db: &Database) -> anyhow::Result<Self> {
        let transport = match &config.mail_transport {
            MailTransportConfig::Outbox => Transport::Outbox(db.clone()),
            MailTransportConfig::Smtp { url } => Transport::Smtp(smtp::SmtpTransport::from_url(url)?),
            MailTransportConfig::Http { api_url, api_key } => {
                Transport::Http(http_provider::HttpProvider::new(api_url, api_key)?)
            }
        };
        Ok(Mailer {
            from: config.mail_from.clone(),
            transport: Arc::new(transport),
        })
    }

    pub async fn deliver(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        match &*self.transport {
            Transport::Outbox(db) => outbox::store(db, mail)
                .await
                .map_err(|error| MailError::Temporary(format!("could not write to the outbox: {error}"))),
            Transport::Smtp(smtp) => smtp.send(&self.from, mail).await,
            Transport::Http(http) => http.send(&self.from, mail).await,
        }
    }
}

/// Queues a message for delivery with retries. Returns once it is safely in the queue.
pub async fn send(jobs: &JobQueue, mail: OutgoingMail) -> Result<(), sqlx::Error> {
    jobs.enqueue(MAIL_JOB, &mail).await.map(|_| ())
}
