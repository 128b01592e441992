//! The real mail clients against local fakes that speak their wire protocols: lettre
//! against a minimal SMTP server, and the HTTP client against a Resend-shaped API.

use crate::support;

use app::platform::{
    config::Config,
    db::Database,
    mail::{templates, MailError, Mailer},
};
use axum::{extract::State, http::HeaderMap, routing::post, Json, Router};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

async fn mailer(dir: &std::path::Path, settings: &[(&str, String)]) -> Mailer {
    let mut values = support::test_config_values(dir).await;
    for (key, value) in settings {
        values.insert((*key).to_owned(), value.clone());
    }
    let config = Config::from_map(&values).expect("a valid configuration");
    let db = Database::connect(&config.database_url, 2).await.unwrap();
    Mailer::from_config(&config, &db).expect("the transport builds")
}

/// A one-connection SMTP server: greets, accepts one message and records the session.
async fn fake_smtp(reject_recipient: bool) -> (u16, tokio::task::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let mut transcript = Vec::new();
        write.write_all(b"220 fake.smtp ESMTP ready\r\n").await.unwrap();
        let mut in_data = false;
        while let Ok(Some(line)) = lines.next_line().await {
            transcript.push(line.clone());
            if in_data {
                if line == "." {
                    write.write_all(b"250 2.0.0 queued as 1\r\n").await.unwrap();
                    // The message is in: hand the transcript over now rather than when
                    // lettre's pool closes its idle connection (a minute or more later).
                    break;
                }
                continue;
            }
            let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" => b"250-fake.smtp\r\n250 8BITMIME\r\n",
                "MAIL" => b"250 2.1.0 OK\r\n",
                "RCPT" if reject_recipient => b"550 5.1.1 no such mailbox\r\n",
                "RCPT" => b"250 2.1.5 OK\r\n",
                "DATA" => {
                    in_data = true;
                    b"354 end with <CRLF>.<CRLF>\r\n"
                }
                "RSET" | "NOOP" => b"250 OK\r\n",
                "QUIT" => {
                    write.write_all(b"221 bye\r\n").await.unwrap();
                    break;
                }
                _ => b"502 command not implemented\r\n",
            };
            write.write_all(reply).await.unwrap();
        }
        transcript
    });
    (port, handle)
}

/// Undoes quoted-printable soft breaks and `=3D`, enough to read a link back.
fn unfold(text: &str) -> String {
    text.replace("=\n", "").replace("=3D", "=")
}

#[tokio::test]
async fn smtp_delivers_a_multipart_message_through_lettre() {
    let dir = tempfile::tempdir().unwrap();
    let (port, server) = fake_smtp(false).await;
    let mailer = mailer(
        dir.path(),
        &[
            ("ATELIER_MAIL_TRANSPORT", "smtp".into()),
            ("ATELIER_SMTP_URL", format!("smtp://127.0.0.1:{port}")),
            ("ATELIER_MAIL_FROM", "Atelier <hello@atelier.test>".into()),
        ],
    )
    .await;
    let mail = templates::verify_email(
        "Atelier",
        "ada@example.org",
        "Ada",
        "http://127.0.0.1:3000/verify-email?token=abc123",
    );
    mailer.deliver(&mail).await.expect("the fake accepts the message");
    let transcript = server.await.unwrap().join("\n");
    assert!(transcript.contains("MAIL FROM:<hello@atelier.test>"), "{transcript}");
    assert!(transcript.contains("RCPT TO:<ada@example.org>"), "{transcript}");
    assert!(
        transcript.contains("Subject: Confirm your email for Atelier"),
        "{transcript}"
    );
    assert!(transcript.contains("multipart/alternative"), "{transcript}");
    assert!(transcript.contains("text/plain") && transcript.contains("text/html"));
    assert!(
        unfold(&transcript).contains("/verify-email?token=abc123"),
        "{transcript}"
    );
}

#[tokio::test]
async fn smtp_rejections_are_permanent_and_refused_connections_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let (port, server) = fake_smtp(true).await;
    let settings = |port: u16| {
        vec![
            ("ATELIER_MAIL_TRANSPORT", "smtp".to_owned()),
            ("ATELIER_SMTP_URL", format!("smtp://127.0.0.1:{port}")),
        ]
    };
    let mail = templates::password_changed("Atelier", "ada@example.org");
    let rejected = mailer(dir.path(), &settings(port)).await.deliver(&mail).await;
    assert!(matches!(rejected, Err(MailError::Permanent(_))), "{rejected:?}");
    let _ = server.await;

    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let unreachable = mailer(dir.path(), &settings(closed_port)).await.deliver(&mail).await;
    assert!(matches!(unreachable, Err(MailError::Temporary(_))), "{unreachable:?}");
}

pub(crate) type Received = Arc<Mutex<Vec<(HashMap<String, String>, serde_json::Value)>>>;

/// A Resend-shaped API: `POST /emails` with a bearer key; answers with `status`.
async fn fake_mail_api(status: u16) -> (String, Received) {
    scripted_mail_api(move |_, _| status).await
}

/// A Resend-shaped API whose status for each message `answer` picks from how many came
/// before it and the message's JSON. Every message is recorded, accepted or not; a refusal
/// names the recipient, as real providers' do.
pub(crate) async fn scripted_mail_api(
    answer: impl Fn(usize, &serde_json::Value) -> u16 + Send + Sync + 'static,
) -> (String, Received) {
    let received: Received = Arc::default();
    let answer = Arc::new(answer);
    let app = Router::new()
        .route(
            "/emails",
            post(
                move |State(received): State<Received>, headers: HeaderMap, Json(body): Json<serde_json::Value>| {
                    let answer = answer.clone();
                    async move {
                        let headers = headers
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                            .collect();
                        let code = {
                            let mut received = received.lock().unwrap();
                            let code = answer(received.len(), &body);
                            received.push((headers, body.clone()));
                            code
                        };
                        let status = axum::http::StatusCode::from_u16(code).unwrap();
                        let reply = if status.is_success() {
                            serde_json::json!({ "id": "4ef9a417-02e9-4d39-ad75-9611e0fcc33c" })
                        } else {
                            serde_json::json!({
                                "statusCode": code,
                                "name": "rejected",
                                "message": format!("{} was not accepted", body["to"][0].as_str().unwrap_or("?")),
                            })
                        };
                        (status, Json(reply))
                    }
                },
            ),
        )
        .with_state(received.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), received)
}

#[tokio::test]
async fn the_http_provider_posts_resend_shaped_json_with_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (base, received) = fake_mail_api(200).await;
    let mailer = mailer(
        dir.path(),
        &[
            ("ATELIER_MAIL_TRANSPORT", "http".into()),
            ("ATELIER_MAIL_API_URL", base),
            ("ATELIER_MAIL_API_KEY", "re_test_key".into()),
            ("ATELIER_MAIL_FROM", "Atelier <hello@atelier.test>".into()),
        ],
    )
    .await;
    let mail = templates::reset_password(
        "Atelier",
        "ada@example.org",
        "http://127.0.0.1:3000/reset-password?token=t",
    );
    mailer.deliver(&mail).await.expect("2xx is delivered");
    let received = received.lock().unwrap();
    let (headers, body) = &received[0];
    assert_eq!(headers["authorization"], "Bearer re_test_key");
    assert_eq!(body["from"], "Atelier <hello@atelier.test>");
    assert_eq!(body["to"], serde_json::json!(["ada@example.org"]));
    assert_eq!(body["subject"], "Reset your Atelier password");
    assert!(body["text"].as_str().unwrap().contains("reset-password?token=t"));
    assert!(body["html"].as_str().unwrap().contains("<a href="));
}

#[tokio::test]
async fn http_provider_errors_are_classified_for_retry() {
    let dir = tempfile::tempdir().unwrap();
    let mail = templates::password_changed("Atelier", "ada@example.org");
    for (status, retried) in [(422, false), (429, true), (503, true)] {
        let (base, _) = fake_mail_api(status).await;
        let mailer = mailer(
            dir.path(),
            &[
                ("ATELIER_MAIL_TRANSPORT", "http".into()),
                ("ATELIER_MAIL_API_URL", base),
                ("ATELIER_MAIL_API_KEY", "re_test_key".into()),
            ],
        )
        .await;
        let outcome = mailer.deliver(&mail).await;
        match (outcome, retried) {
            (Err(MailError::Temporary(_)), true) | (Err(MailError::Permanent(_)), false) => {}
            (other, _) => panic!("{status}: unexpected {other:?}"),
        }
    }
}
