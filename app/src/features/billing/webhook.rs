//! Stripe's webhooks as they arrive: the signature is checked on the raw body, each event
//! id is recorded once, and the handling is queued (`events`) so Stripe gets its answer
//! at once. Only ids are kept from the payload; the handler re-reads the objects from
//! Stripe, so nothing a customer typed into Checkout is stored here.

use crate::platform::{db::Database, jobs::JobQueue};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// How old (or how far ahead) a signature's timestamp may be, as Stripe's libraries allow.
pub const TOLERANCE_SECONDS: i64 = 300;

/// The job that handles a recorded event.
pub const EVENT_JOB: &str = "billing.stripe_event";

/// Stripe is told 200 before the work is done and will not deliver the event again, so
/// its job keeps trying for about a day (the delay doubles up to an hour) through an
/// outage of Stripe's API or ours.
pub const EVENT_ATTEMPTS: i64 = 30;

/// The event types Atelier acts on; others are acknowledged and recorded only.
pub const HANDLED: [&str; 8] = [
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
    "charge.refunded",
];

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header")]
    Missing,
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    #[error("the signature's timestamp is outside the 300 s tolerance")]
    Stale,
    #[error("no signature matches a configured signing secret")]
    Mismatch,
}

/// Checks `Stripe-Signature` (`t=<unix>,v1=<hex>[,v1=<hex>…]`) against every secret:
/// during a secret roll Stripe signs with both, and either may be the one configured.
pub fn verify_signature(
    header: Option<&str>,
    payload: &[u8],
    secrets: &[String],
    now: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(hex::decode(value).map_err(|_| SignatureError::Malformed)?),
            Some(_) => {}
            None => return Err(SignatureError::Malformed),
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now.abs_diff(timestamp) > TOLERANCE_SECONDS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    for secret in secrets {
        for signature in &signatures {
            // Constant-time comparison.
            if mac(secret, timestamp, payload).verify_slice(signature).is_ok() {
                return Ok(());
            }
        }
    }
    Err(SignatureError::Mismatch)
}

/// The signature header for `payload` at `timestamp` under `secret` (tests and fakes).
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let tag = mac(secret, timestamp, payload).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(tag))
}

/// Stripe's signed content: `<timestamp>.<raw body>`, HMAC-SHA256 under the secret.
fn mac(secret: &str, timestamp: i64, payload: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EnvelopeData,
}

#[derive(Deserialize)]
struct EnvelopeData {
    object: serde_json::Value,
}

/// What the handler takes from an event: its id, its type and its object's id — nothing
/// else, so whatever else the body says (amounts, statuses, whom it is for) is never acted
/// on: the handler reads the object itself from Stripe. (Payloads of jobs queued by
/// earlier versions carry more fields; serde skips them.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRef {
    pub id: String,
    pub kind: String,
    /// The object's own id (a session, subscription, invoice or charge).
    pub object: String,
}

impl EventRef {
    fn from_envelope(envelope: Envelope) -> Option<Self> {
        let object = envelope.data.object.get("id")?.as_str()?.to_owned();
        Some(EventRef {
            id: envelope.id,
            kind: envelope.kind,
            object,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("the body is not a Stripe event")]
    Malformed,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What became of a delivery.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// Recorded now (and queued, when it is a type Atelier handles).
    New,
    /// Seen before: nothing changes.
    Duplicate,
}

/// Verifies, records and queues one delivery. Nothing is written unless the signature
/// holds; the event row and its job are written in one transaction.
pub async fn receive(
    db: &Database,
    signature: Option<&str>,
    body: &[u8],
    secrets: &[String],
    now: i64,
) -> Result<Received, WebhookError> {
    verify_signature(signature, body, secrets, now)?;
    let envelope: Envelope = serde_json::from_slice(body).map_err(|_| WebhookError::Malformed)?;
    let kind = envelope.kind.clone();
    let event_id = envelope.id.clone();
    if event_id.is_empty() || event_id.len() > 255 {
        return Err(WebhookError::Malformed);
    }
    let event = EventRef::from_envelope(envelope).ok_or(WebhookError::Malformed)?;
    let mut tx = db.pool().begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO stripe_events (event_id, event_type, received_at) VALUES ($1, $2, $3) \
         ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(&event_id)
    .bind(&kind)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        drop(tx);
        // Resent by hand from Stripe's dashboard after its job gave up: try again.
        let job: Option<Option<i64>> = sqlx::query_scalar("SELECT job_id FROM stripe_events WHERE event_id = $1")
            .bind(&event_id)
            .fetch_optional(db.pool())
            .await?;
        if let Some(Some(job)) = job {
            if JobQueue::new(db.clone()).retry(job).await? {
                tracing::info!(event = %event_id, job, "a failed Stripe event was delivered again and is queued anew");
            }
        }
        return Ok(Received::Duplicate);
    }
    if HANDLED.contains(&kind.as_str()) {
        let job = JobQueue::enqueue_in(&mut tx, EVENT_JOB, &event, EVENT_ATTEMPTS).await?;
        sqlx::query("UPDATE stripe_events SET job_id = $2 WHERE event_id = $1")
            .bind(&event_id)
            .bind(job)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Received::New)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn secrets() -> Vec<String> {
        vec!["whsec_current".to_owned(), "whsec_previous".to_owned()]
    }

    #[test]
    fn a_signature_under_either_secret_holds() {
        let body = br#"{"id":"evt_1"}"#;
        for secret in secrets() {
            let header = sign(body, &secret, NOW);
            assert_eq!(verify_signature(Some(&header), body, &secrets(), NOW + 10), Ok(()));
        }
    }

    #[test]
    fn a_roll_sends_two_signatures_and_one_is_enough() {
        let body = br#"{"id":"evt_2"}"#;
        let old = sign(body, "whsec_old_unknown", NOW);
        let new = sign(body, "whsec_current", NOW);
        let both = format!("{old},{}", new.split_once(',').unwrap().1);
        assert_eq!(verify_signature(Some(&both), body, &secrets()[..1], NOW), Ok(()));
    }

    #[test]
    fn bad_missing_and_stale_signatures_fail() {
        let body = br#"{"id":"evt_3"}"#;
        assert_eq!(
            verify_signature(None, body, &secrets(), NOW),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_signature(Some("v1=zz"), body, &secrets(), NOW),
            Err(SignatureError::Malformed)
        );
        let other = sign(body, "whsec_someone_else", NOW);
        assert_eq!(
            verify_signature(Some(&other), body, &secrets(), NOW),
            Err(SignatureError::Mismatch)
        );
        let stale = sign(body, "whsec_current", NOW - 301);
        assert_eq!(
            verify_signature(Some(&stale), body, &secrets(), NOW),
            Err(SignatureError::Stale)
        );
        let tampered = sign(body, "whsec_current", NOW);
        assert_eq!(
            verify_signature(Some(&tampered), br#"{"id":"evt_4"}"#, &secrets(), NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn only_the_object_id_is_taken_from_an_event() {
        let envelope: Envelope = serde_json::from_str(
            r#"{"id":"evt_a","type":"invoice.paid","data":{"object":{"id":"in_1","customer":"cus_1","subscription":"sub_1","status":"paid","amount_paid":999999}}}"#,
        )
        .unwrap();
        let event = EventRef::from_envelope(envelope).unwrap();
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            serde_json::json!({ "id": "evt_a", "kind": "invoice.paid", "object": "in_1" })
        );
        // A job queued by an older version, with the body's ids beside, still runs.
        let older: EventRef = serde_json::from_str(
            r#"{"id":"evt_b","kind":"charge.refunded","object":"ch_1","customer":null,"subscription":null,"payment_intent":"pi_1","fully_refunded":true}"#,
        )
        .unwrap();
        assert_eq!(older.object, "ch_1");
    }
}
