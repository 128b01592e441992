//! SMTP delivery through lettre's async transport (STARTTLS or implicit TLS per the URL).

use super::{MailError, OutgoingMail};
use lettre::{
    message::{Mailbox, MultiPart},
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};

pub struct SmtpTransport {
    inner: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpTransport {
    /// `smtp://[user:pass@]host[:port][?tls=required|opportunistic]` or `smtps://…`.
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        let inner = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|error| anyhow::anyhow!("ATELIER_SMTP_URL is not a usable SMTP URL: {error}"))?
            .build();
        Ok(SmtpTransport { inner })
    }

    pub async fn send(&self, from: &str, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = build_message(from, mail)?;
        match self.inner.send(message).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_permanent() => Err(MailError::Permanent(error.to_string())),
            Err(error) => Err(MailError::Temporary(error.to_string())),
        }
    }
}

fn build_message(from: &str, mail: &OutgoingMail) -> Result<Message, MailError> {
    let from: Mailbox = from
        .parse()
        .map_err(|error| MailError::Permanent(format!("the sender address is invalid: {error}")))?;
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|error| MailError::Permanent(format!("the recipient address is invalid: {error}")))?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
        .map_err(|error| MailError::Permanent(format!("the message could not be built: {error}")))
}
