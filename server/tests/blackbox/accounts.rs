//! Sign-up, email verification, password reset, changes of password and email, roles and
//! the outbox, through the server functions a browser calls, on SQLite and PostgreSQL.

use crate::support::{
    count_rows,
    members::{error_of, password_sign_in, post_form, session_cookie, who, PASSWORD},
    spawn_app, spawn_app_with, token_in, wait_for_mail, TestApp,
};
use app::{
    error::AppError,
    features::{
        accounts::{
            recovery_api::{RequestPasswordReset, ResendVerification, ResetPassword, SignUp, VerifyEmail},
            service::{create_user, NewUser},
            settings_api::{ChangeEmail, ChangePassword, ConfirmEmailChange, MyAccount},
            AccountDetails, Role,
        },
        admin::{api::OutboxMessages, OutboxEntry},
    },
};
use leptos::server_fn::ServerFn;

const NEW_PASSWORD: &str = "another quite long passphrase";

async fn sign_up_as(app: &TestApp, email: &str, birth_date: &str) -> reqwest::Response {
    post_form(
        app,
        SignUp::PATH,
        None,
        &[
            ("email", email),
            ("display_name", "Grace Hopper"),
            ("password", PASSWORD),
            ("birth_date", birth_date),
        ],
    )
    .await
}

async fn details(app: &TestApp, cookie: &str) -> AccountDetails {
    post_form(app, MyAccount::PATH, Some(cookie), &[])
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_up_signs_in_an_unverified_member_and_mails_a_single_use_link() {
    let app = spawn_app().await;
    let response = sign_up_as(&app, "Grace@Example.org", "1990-12-09").await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert_eq!(response.headers()["location"], "/account?welcome=1");
    let cookie = session_cookie(&response);
    let member = who(&app, &cookie).await.expect("signed in after sign-up");
    assert_eq!(member.email, "grace@example.org");
    assert!(!member.email_verified);

    let mail = wait_for_mail(&app, "grace@example.org", "Confirm your email").await;
    assert!(mail.html.contains("Confirm my email"));
    let token = token_in(&mail.text);
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM account_tokens")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], token, "only a hash of the link's token is stored");

    let verified = post_form(&app, VerifyEmail::PATH, Some(&cookie), &[("token", &token)]).await;
    assert_eq!(verified.status(), 200);
    assert_eq!(verified.headers()["location"], "/account?verified=1");
    assert!(who(&app, &cookie).await.unwrap().email_verified);

    let again = post_form(&app, VerifyEmail::PATH, None, &[("token", &token)]).await;
    assert!(matches!(error_of(again).await, AppError::Invalid(m) if m.contains("already used")));
    let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM jobs WHERE status = 'done'")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    assert!(
        payloads.iter().all(|p| !p.contains(&token)),
        "delivered mail jobs keep no link"
    );
    app.stop().await;
}

#[tokio::test]
async fn sign_up_below_the_minimum_age_is_refused_and_stores_nothing() {
    let app = spawn_app_with(
        |v| {
            v.insert("ATELIER_MIN_AGE".into(), "16".into());
        },
        server::jobs::registry(),
    )
    .await;
    // 15 years old today, whatever today is.
    let (year, month, day) = app::dates::date_of(app::platform::clock::now_unix());
    let fifteen = format!("{:04}-{:02}-{:02}", year - 15, month, day.min(28));
    let response = sign_up_as(&app, "young@example.org", &fifteen).await;
    match error_of(response).await {
        AppError::Field { field, message } => {
            assert_eq!(field, "birth_date");
            assert!(message.contains("at least 16"), "{message}");
        }
        other => panic!("expected a birth-date error, got {other:?}"),
    }
    for table in ["users", "sessions", "account_tokens", "jobs", "mail_outbox"] {
        assert_eq!(count_rows(&app, table).await, 0, "{table} stays empty");
    }
    app.stop().await;
}

#[tokio::test]
async fn bad_sign_up_input_gets_a_field_error() {
    let app = spawn_app().await;
    let cases = [
        ("not-an-email", "Grace", PASSWORD, "1990-01-01", "email"),
        ("g@example.org", "  ", PASSWORD, "1990-01-01", "display_name"),
        ("g@example.org", "Grace", "short", "1990-01-01", "password"),
        ("g@example.org", "Grace", PASSWORD, "1990-02-30", "birth_date"),
    ];
    for (email, name, password, birth, field) in cases {
        let form = [
            ("email", email),
            ("display_name", name),
            ("password", password),
            ("birth_date", birth),
        ];
        let error = error_of(post_form(&app, SignUp::PATH, None, &form).await).await;
        assert!(error.for_field(field).is_some(), "{field}: {error:?}");
    }
    sign_up_as(&app, "taken@example.org", "1990-01-01").await;
    let duplicate = error_of(sign_up_as(&app, "Taken@example.org", "1990-01-01").await).await;
    assert!(duplicate.for_field("email").unwrap().contains("already exists"));
    assert_eq!(count_rows(&app, "users").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn password_reset_works_once_ends_every_session_and_keeps_a_weak_try_harmless() {
    let app = spawn_app().await;
    let response = sign_up_as(&app, "grace@example.org", "1990-12-09").await;
    let old_session = session_cookie(&response);

    let requested = post_form(
        &app,
        RequestPasswordReset::PATH,
        None,
        &[("email", "grace@example.org")],
    )
    .await;
    assert_eq!(requested.headers()["location"], "/forgot-password?sent=1");
    let mail = wait_for_mail(&app, "grace@example.org", "Reset your").await;
    let token = token_in(&mail.text);

    let weak = post_form(
        &app,
        ResetPassword::PATH,
        None,
        &[("token", &token), ("password", "weak")],
    )
    .await;
    assert!(error_of(weak).await.for_field("password").is_some());

    let reset = post_form(
        &app,
        ResetPassword::PATH,
        None,
        &[("token", &token), ("password", NEW_PASSWORD)],
    )
    .await;
    assert_eq!(reset.status(), 200, "the weak try did not use the link up");
    assert_eq!(reset.headers()["location"], "/signin?reset=1");
    assert!(who(&app, &old_session).await.is_none(), "sessions end at reset");
    assert_eq!(count_rows(&app, "sessions").await, 0);

    let reuse = post_form(
        &app,
        ResetPassword::PATH,
        None,
        &[("token", &token), ("password", "yet another long passphrase")],
    )
    .await;
    assert!(matches!(error_of(reuse).await, AppError::Invalid(m) if m.contains("expired or was already used")));
    assert!(!password_sign_in(&app, "grace@example.org", PASSWORD)
        .await
        .headers()
        .contains_key("set-cookie"));
    let fresh = password_sign_in(&app, "grace@example.org", NEW_PASSWORD).await;
    assert!(fresh.headers().contains_key("set-cookie"));
    let member = who(&app, &session_cookie(&fresh)).await.unwrap();
    assert!(member.email_verified, "following a reset link proves the mailbox");
    wait_for_mail(&app, "grace@example.org", "password was changed").await;
    app.stop().await;
}

#[tokio::test]
async fn a_reset_for_an_unknown_address_answers_the_same_and_sends_nothing() {
    let app = spawn_app().await;
    let response = post_form(
        &app,
        RequestPasswordReset::PATH,
        None,
        &[("email", "nobody@example.org")],
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["location"], "/forgot-password?sent=1");
    assert_eq!(count_rows(&app, "jobs").await, 0);
    assert_eq!(count_rows(&app, "account_tokens").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn reset_and_verification_mails_are_limited_with_retry_after() {
    let app = spawn_app().await;
    let cookie = session_cookie(&sign_up_as(&app, "grace@example.org", "1990-12-09").await);
    let mut limited = None;
    for _ in 0..6 {
        let response = post_form(
            &app,
            RequestPasswordReset::PATH,
            None,
            &[("email", "grace@example.org")],
        )
        .await;
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
    }
    let limited = limited.expect("reset mails to one address are limited");
    let wait: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(wait >= 1);
    let resend = post_form(&app, ResendVerification::PATH, Some(&cookie), &[]).await;
    assert_eq!(
        resend.status(),
        429,
        "the same account's verification mails share the limit"
    );
    assert!(resend.headers().contains_key("retry-after"));
    app.stop().await;
}

#[tokio::test]
async fn sign_up_is_limited_per_address_and_ip() {
    let app = spawn_app().await;
    let mut statuses = Vec::new();
    for n in 0..12 {
        let response = sign_up_as(&app, &format!("person{n}@example.org"), "1990-01-01").await;
        statuses.push(response.status().as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(statuses[..10].iter().all(|s| *s == 200), "{statuses:?}");
    app.stop().await;
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session_and_keeps_this_browser_in() {
    let app = spawn_app().await;
    let first = session_cookie(&sign_up_as(&app, "grace@example.org", "1990-12-09").await);
    let second = session_cookie(&password_sign_in(&app, "grace@example.org", PASSWORD).await);

    let wrong = post_form(
        &app,
        ChangePassword::PATH,
        Some(&first),
        &[
            ("current_password", "not my password at all"),
            ("new_password", NEW_PASSWORD),
        ],
    )
    .await;
    assert!(error_of(wrong).await.for_field("current_password").is_some());

    let changed = post_form(
        &app,
        ChangePassword::PATH,
        Some(&first),
        &[("current_password", PASSWORD), ("new_password", NEW_PASSWORD)],
    )
    .await;
    assert_eq!(changed.status(), 200);
    let renewed = session_cookie(&changed);
    assert_ne!(renewed, first, "this browser gets a new session id");
    assert!(who(&app, &first).await.is_none());
    assert!(who(&app, &second).await.is_none(), "other devices are signed out");
    assert!(who(&app, &renewed).await.is_some());
    assert_eq!(count_rows(&app, "sessions").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_new_email_takes_effect_only_once_confirmed_and_the_old_address_is_told() {
    let app = spawn_app().await;
    let cookie = session_cookie(&sign_up_as(&app, "grace@example.org", "1990-12-09").await);
    let wrong_password = post_form(
        &app,
        ChangeEmail::PATH,
        Some(&cookie),
        &[
            ("new_email", "hopper@example.org"),
            ("password", "not my password at all"),
        ],
    )
    .await;
    assert!(error_of(wrong_password).await.for_field("password").is_some());

    let started = post_form(
        &app,
        ChangeEmail::PATH,
        Some(&cookie),
        &[("new_email", "Hopper@Example.org"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(started.status(), 200);
    let account = details(&app, &cookie).await;
    assert_eq!(
        account.email, "grace@example.org",
        "nothing changes before confirmation"
    );
    assert_eq!(account.pending_email.as_deref(), Some("hopper@example.org"));
    wait_for_mail(&app, "grace@example.org", "about to change").await;
    let link = wait_for_mail(&app, "hopper@example.org", "Confirm your new email").await;

    let confirmed = post_form(
        &app,
        ConfirmEmailChange::PATH,
        Some(&cookie),
        &[("token", &token_in(&link.text))],
    )
    .await;
    assert_eq!(confirmed.headers()["location"], "/account?email_changed=1");
    let account = details(&app, &cookie).await;
    assert_eq!(account.email, "hopper@example.org");
    assert!(account.email_verified);
    assert!(account.pending_email.is_none());
    app.stop().await;
}

#[tokio::test]
async fn the_outbox_is_for_admins_only() {
    let app = spawn_app().await;
    let member_cookie = session_cookie(&sign_up_as(&app, "grace@example.org", "1990-12-09").await);
    create_user(
        &app.state.db,
        NewUser {
            email: "admin@example.org",
            display_name: "Admin",
            password: PASSWORD,
            role: Role::Admin,
            email_verified: true,
        },
    )
    .await
    .unwrap();
    let admin_cookie = session_cookie(&password_sign_in(&app, "admin@example.org", PASSWORD).await);
    wait_for_mail(&app, "grace@example.org", "Confirm").await;

    assert_eq!(
        error_of(post_form(&app, OutboxMessages::PATH, None, &[]).await).await,
        AppError::Unauthorized
    );
    assert_eq!(
        error_of(post_form(&app, OutboxMessages::PATH, Some(&member_cookie), &[]).await).await,
        AppError::Forbidden
    );
    let mails: Vec<OutboxEntry> = post_form(
        &app,
        OutboxMessages::PATH,
        Some(&admin_cookie),
        &[("to", "grace@example.org")],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].text.contains("/verify-email?token="));
    let page = app.page_with_cookie("/admin/outbox", &admin_cookie).await;
    assert!(
        page.contains("Confirm your email for Atelier"),
        "the page lists the mail"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_mail_cli_prints_the_latest_message_to_an_address() {
    let app = spawn_app().await;
    sign_up_as(&app, "grace@example.org", "1990-12-09").await;
    wait_for_mail(&app, "grace@example.org", "Confirm").await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["mail", "latest", "--to", "Grace@example.org"])
        .envs(app.env.clone())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(
        printed.starts_with("To: grace@example.org\nSubject: Confirm your email"),
        "{printed}"
    );
    assert!(printed.contains("/verify-email?token="));
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["mail", "latest", "--to", "nobody@example.org"])
        .envs(app.env.clone())
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no mail to nobody@example.org"));
    app.stop().await;
}
