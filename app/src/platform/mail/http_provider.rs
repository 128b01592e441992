//! Delivery through an HTTP mail API with Resend's shape: `POST {base}/emails` with a bearer
//! key and `{from, to, subject, html, text}`; any 2xx is accepted.

use super::{MailError, OutgoingMail};
use std::time::Duration;

pub struct HttpProvider {
    client: reqwest::Client,
    endpoint: String,
    api_key: String,
}

impl HttpProvider {
    pub fn new(api_url: &str, api_key: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(HttpProvider {
            client,
            endpoint: format!("{}/emails", api_url.trim_end_matches('/')),
            api_key: api_key.to_owned(),
        })
    }

    pub async fn send(&self, from: &str, mail: &OutgoingMail) -> Result<(), MailError> {
        let body = serde_json::json!({
            "from": from,
            "to": [mail.to],
            "subject": mail.subject,
            "html": mail.html,
            "text": mail.text,
        });
        let response = self
            .client
            .post(&self.endpoint)
            .bearer_auth(&self.api_key)
            .json(&body)
            .send()
            .await
            .map_err(|error| MailError::Temporary(format!("the mail API could not be reached: {error}")))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let detail: String = response.text().await.unwrap_or_default().chars().take(300).collect();
        let message = format!("the mail API answered {status}: {detail}");
        // 429 and 5xx are the provider's trouble and pass; other 4xx mean this request is wrong.
        if status.as_u16() == 429 || status.is_server_error() {
            Err(MailError::Temporary(message))
        } else {
            Err(MailError::Permanent(message))
        }
    }
}
