//! Sessions and sign-in, one test per TRUST.md "Sessions and accounts" line that this part
//! covers: cookie attributes, rotation at sign-in, server-side sign-out and sign-out
//! everywhere, argon2 parameters and re-hash, 429 with Retry-After, and no secrets in logs.

use crate::support::{self, served::ServedBinary};

use crate::support::{
    members::{cookie_pair, create_member, post_form, session_cookie, signed_in, who, HOSTILE_NEXT, PASSWORD},
    spawn_app, spawn_app_with, TestApp,
};
use app::features::accounts::{
    api::{EndAllSessions, EndSession, SignIn, SignOut, WhoAmI},
    recovery_api::{RequestPasswordReset, ResetPassword, SignUp, VerifyEmail},
};
use leptos::server_fn::ServerFn;

const SIGN_UP_PASSWORD: &str = "grace's own long passphrase";
const RESET_PASSWORD: &str = "a reset passphrase of some length";

async fn sign_in(
    app: &TestApp,
    email: &str,
    password: &str,
    extra: &[(&str, &str)],
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![("email", email), ("password", password)];
    form.extend_from_slice(extra);
    let mut request = app.client.post(app.url(SignIn::PATH)).form(&form);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn over_https_the_cookie_is_host_prefixed_secure_httponly_and_lax() {
    let app = spawn_app_with(
        |v| {
            v.insert("ATELIER_PUBLIC_URL".into(), "https://atelier.test".into());
        },
        server::jobs::registry(),
    )
    .await;
    create_member(&app, "ada@example.org", "Ada Lovelace", true).await;
    let response = sign_in(&app, "ada@example.org", PASSWORD, &[], None).await;
    // Server-function clients get 200 and a redirect header; plain form posts get a 302.
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["location"], "/");
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set_cookie.starts_with("__Host-atelier_session="), "{set_cookie}");
    for attribute in ["; Path=/", "; HttpOnly", "; SameSite=Lax", "; Secure"] {
        assert!(set_cookie.contains(attribute), "{attribute} missing: {set_cookie}");
    }
    assert!(!set_cookie.to_lowercase().contains("domain="), "no Domain attribute");
    assert!(
        !set_cookie.contains("Max-Age"),
        "without “remember me” the cookie ends with the browser"
    );

    let token = cookie_pair(&set_cookie).split_once('=').unwrap().1.to_owned();
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], token, "only a hash of the token is stored");
    app.stop().await;
}

#[tokio::test]
async fn plain_http_development_drops_the_prefix_and_secure_and_remember_me_sets_max_age() {
    let app = spawn_app().await;
    create_member(&app, "ada@example.org", "Ada Lovelace", true).await;
    let response = sign_in(&app, "ada@example.org", PASSWORD, &[("remember", "on")], None).await;
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set_cookie.starts_with("atelier_session="), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"));
    assert!(set_cookie.contains("; Max-Age=2592000"), "{set_cookie}");
    app.stop().await;
}

#[tokio::test]
async fn the_session_id_changes_at_sign_in_and_the_old_one_stops_working() {
    let app = spawn_app().await;
    create_member(&app, "ada@example.org", "Ada Lovelace", true).await;
    let first = signed_in(&app, "ada@example.org").await;
    assert_eq!(who(&app, &first).await.unwrap().display_name, "Ada Lovelace");
    let second = session_cookie(&sign_in(&app, "ada@example.org", PASSWORD, &[], Some(&first)).await);
    assert_ne!(first, second);
    assert!(
        who(&app, &first).await.is_none(),
        "the presented session ended at sign-in"
    );
    assert!(who(&app, &second).await.is_some());
    app.stop().await;
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer_and_no_cookie() {
    let app = spawn_app().await;
    create_member(&app, "ada@example.org", "Ada Lovelace", true).await;
    let wrong = sign_in(&app, "ada@example.org", "not the password at all", &[], None).await;
    assert!(wrong.headers().get("set-cookie").is_none());
    let wrong = wrong.text().await.unwrap();
    let unknown = sign_in(&app, "nobody@example.org", "not the password at all", &[], None)
        .await
        .text()
        .await
        .unwrap();
    assert!(wrong.contains("The email or password is incorrect."), "{wrong}");
    assert_eq!(wrong, unknown);
    app.stop().await;
}

#[tokio::test]
async fn sign_out_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    create_member(&app, "ada@example.org", "Ada Lovelace", true).await;
    let cookie = signed_in(&app, "ada@example.org").await;
    let response = post_form(&app, SignOut::PATH, Some(&cookie), &[]).await;
    assert!(response.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    assert!(
        who(&app, &cookie).await.is_none(),
        "replaying the old cookie does not work"
    );
    app.stop().await;
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session_of_the_member_only() {
    let app = spawn_app().await;
    create_member(&app, "ada@example.org", "Ada Lovelace", true).await;
    create_member(&app, "grace@example.org", "Grace", true).await;
    let laptop = signed_in(&app, "ada@example.org").await;
    let phone = signed_in(&app, "ada@example.org").await;
    let grace = signed_in(&app, "grace@example.org").await;
    post_form(&app, EndAllSessions::PATH, Some(&laptop), &[]).await;
    assert!(who(&app, &laptop).await.is_none());
    assert!(who(&app, &phone).await.is_none());
    assert!(who(&app, &grace).await.is_some(), "other members are untouched");
    app.stop().await;
}

#[tokio::test]
async fn members_can_end_their_own_sessions_but_not_anyone_elses() {
    let app = spawn_app().await;
    create_member(&app, "ada@example.org", "Ada Lovelace", true).await;
    create_member(&app, "eve@example.org", "Eve", true).await;
    let ada = signed_in(&app, "ada@example.org").await;
    let eve = signed_in(&app, "eve@example.org").await;
    let ada_handle: String = sqlx::query_scalar(
        "SELECT s.handle FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'ada@example.org'",
    )
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    let refused = post_form(&app, EndSession::PATH, Some(&eve), &[("handle", ada_handle.as_str())]).await;
    assert!(refused.text().await.unwrap().contains("NotFound"));
    assert!(who(&app, &ada).await.is_some());
    let signed_out = app
        .client
        .post(app.url(EndSession::PATH))
        .form(&[("handle", ada_handle.as_str())])
        .send()
        .await
        .unwrap();
    assert!(signed_out.text().await.unwrap().contains("Unauthorized"));

    let page = app.page_with_cookie("/account/sessions", &ada).await;
    assert!(
        page.contains("This device"),
        "the sessions page marks the current session"
    );
    let anonymous = app.get("/account/sessions").await.text().await.unwrap();
    assert!(anonymous.contains("Sign in to see your sessions"));
    app.stop().await;
}

#[tokio::test]
async fn the_header_shows_the_signed_in_member() {
    let app = spawn_app().await;
    create_member(&app, "ada@example.org", "Ada Lovelace", true).await;
    let cookie = signed_in(&app, "ada@example.org").await;
    let html = app.page_with_cookie("/", &cookie).await;
    assert!(html.contains(r#"data-testid="member-name""#) && html.contains("Ada Lovelace"));
    let anonymous = app.get("/").await.text().await.unwrap();
    assert!(anonymous.contains(r#"href="/signin""#));
    app.stop().await;
}

#[tokio::test]
async fn repeated_failures_on_one_account_get_429_with_retry_after() {
    let app = spawn_app().await;
    create_member(&app, "ada@example.org", "Ada Lovelace", true).await;
    let mut limited = None;
    for _ in 0..10 {
        let response = sign_in(&app, "ada@example.org", "wrong password guess", &[], None).await;
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
    }
    let limited = limited.expect("the account is rate limited within 10 attempts");
    let retry_after: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    assert!(limited.text().await.unwrap().contains("RateLimited"));
    // No hard lockout: the limit slows guessing; it does not disable the account.
    let other_account = sign_in(&app, "other@example.org", "whatever password", &[], None).await;
    assert_ne!(other_account.status(), 429);
    app.stop().await;
}

/// One address guessing at many accounts is slowed too (20 attempts, then one every 3 s),
/// while another address is not; and the member whose account was limited signs in once
/// the `Retry-After` they were given has passed — a wait, never a lockout.
#[tokio::test]
async fn many_accounts_from_one_address_are_limited_and_a_limited_member_signs_in_after_retry_after() {
    let app = spawn_app_with(
        |values| {
            values.insert("ATELIER_TRUSTED_PROXIES".into(), "127.0.0.1/32".into());
        },
        server::jobs::registry(),
    )
    .await;
    create_member(&app, "ada@example.org", "Ada Lovelace", true).await;
    let attempt = |email: String, address: String| {
        app.client
            .post(app.url(SignIn::PATH))
            .header("x-forwarded-for", address)
            .form(&[("email", email.as_str()), ("password", "a wrong guess")])
            .send()
    };
    let mut statuses = Vec::new();
    for n in 0..21 {
        let response = attempt(format!("guess{n}@example.org"), "203.0.113.9".into())
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert!(statuses[..20].iter().all(|status| *status != 429), "{statuses:?}");
    assert_eq!(statuses[20], 429, "the 21st account guessed from one address waits");
    let elsewhere = attempt("guess0@example.org".into(), "198.51.100.4".into())
        .await
        .unwrap();
    assert_ne!(elsewhere.status(), 429, "another address is not slowed");

    // Ada's account, guessed at from many addresses until it is limited.
    let mut limited = None;
    for n in 0..10 {
        let response = attempt("ada@example.org".into(), format!("192.0.2.{n}")).await.unwrap();
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
    }
    let limited = limited.expect("the account is limited within 10 attempts");
    let wait: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&wait), "Retry-After {wait}");
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    let response = app
        .client
        .post(app.url(SignIn::PATH))
        .header("x-forwarded-for", "198.51.100.77")
        .form(&[("email", "ada@example.org"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_ne!(response.status(), 429, "after Retry-After the member is let in");
    assert!(!session_cookie(&response).is_empty(), "and signed in");
    app.stop().await;
}

#[tokio::test]
async fn hashes_with_old_argon2_parameters_are_replaced_at_sign_in() {
    use argon2::{password_hash::SaltString, Algorithm, Argon2, Params, PasswordHasher, Version};
    let app = spawn_app().await;
    let user = create_member(&app, "ada@example.org", "Ada Lovelace", true).await;
    let weak = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(4096, 1, 1, None).unwrap(),
    )
    .hash_password(PASSWORD.as_bytes(), &SaltString::from_b64("c29tZXNhbHRzYWx0").unwrap())
    .unwrap()
    .to_string();
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(&weak)
        .bind(user)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let first = sign_in(&app, "ada@example.org", PASSWORD, &[], None).await;
    assert!(first.headers().contains_key("set-cookie"), "the old hash verifies");
    let stored: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(user)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
    let again = sign_in(&app, "ada@example.org", PASSWORD, &[], None).await;
    assert!(
        again.headers().contains_key("set-cookie"),
        "the new hash still verifies"
    );
    app.stop().await;
}

#[tokio::test]
async fn open_redirects_are_refused_after_sign_in() {
    let app = spawn_app().await;
    create_member(&app, "ada@example.org", "Ada Lovelace", true).await;
    // Each of these is read by some browser as another host, or breaks the header. One
    // account per value keeps the per-account sign-in limit out of the way.
    for (index, hostile) in HOSTILE_NEXT.iter().enumerate() {
        let email = format!("member{index}@example.org");
        create_member(&app, &email, "Member", true).await;
        let response = sign_in(&app, &email, PASSWORD, &[("next", hostile)], None).await;
        assert_eq!(response.headers()["location"], "/", "{hostile:?}");
    }
    let response = sign_in(
        &app,
        "ada@example.org",
        PASSWORD,
        &[("next", "/account/sessions")],
        None,
    )
    .await;
    assert_eq!(response.headers()["location"], "/account/sessions");
    app.stop().await;
}

#[tokio::test]
async fn passwords_session_ids_and_link_tokens_never_reach_the_logs() {
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let env: Vec<(String, String)> = support::test_config_values(dir.path()).await.into_iter().collect();
    let binary = env!("CARGO_BIN_EXE_server");
    let mut admin = std::process::Command::new(binary)
        .args(["create-admin", "--email", "ada@example.org", "--password-stdin"])
        .envs(env.iter().cloned())
        .env("RUST_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(dir.path().join("cli.log")).unwrap()))
        .spawn()
        .unwrap();
    use std::io::Write;
    admin
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    assert!(admin.wait().unwrap().success());

    let server = ServedBinary::start(dir.path(), &env, "debug", 120);
    let base = server.base_url.clone();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let response = client
        .post(format!("{base}{}", SignIn::PATH))
        .form(&[("email", "ada@example.org"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("set-cookie"), "signed in");
    let cookie = session_cookie(&response);
    let token = cookie.split_once('=').unwrap().1.to_owned();
    client
        .post(format!("{base}{}", WhoAmI::PATH))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    client
        .get(format!("{base}/account/sessions"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    client
        .post(format!("{base}{}", SignOut::PATH))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();

    // Sign-up, verification and reset links carry tokens too.
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let request = client.post(format!("{base}{path}")).form(&form);
        async move { request.send().await.unwrap() }
    };
    let signed_up = post(
        SignUp::PATH,
        vec![
            ("email", "grace@example.org".into()),
            ("display_name", "Grace".into()),
            ("password", SIGN_UP_PASSWORD.into()),
            ("birth_date", "1990-12-09".into()),
        ],
    )
    .await;
    assert_eq!(signed_up.status(), 200);
    let new_session = session_cookie(&signed_up);
    let latest_token = |subject: &'static str| {
        let env = env.clone();
        async move {
            for _ in 0..100 {
                let output = std::process::Command::new(binary)
                    .args(["mail", "latest", "--to", "grace@example.org"])
                    .envs(env.iter().cloned())
                    .output()
                    .unwrap();
                let printed = String::from_utf8_lossy(&output.stdout).into_owned();
                if printed.contains(subject) {
                    return support::token_in(&printed);
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            panic!("no “{subject}” mail arrived");
        }
    };
    let verify_token = latest_token("Confirm your email").await;
    assert_eq!(
        post(VerifyEmail::PATH, vec![("token", verify_token.clone())])
            .await
            .status(),
        200
    );
    post(RequestPasswordReset::PATH, vec![("email", "grace@example.org".into())]).await;
    let reset_token = latest_token("Reset your").await;
    let reset = post(
        ResetPassword::PATH,
        vec![("token", reset_token.clone()), ("password", RESET_PASSWORD.into())],
    )
    .await;
    assert_eq!(reset.status(), 200);
    let logs = server.stop() + &std::fs::read_to_string(dir.path().join("cli.log")).unwrap();
    assert!(logs.contains("request"), "debug logging was on: {logs:.300}");
    assert!(!logs.contains(PASSWORD), "a password reached the logs");
    assert!(!logs.contains(&token), "a session token reached the logs");
    for secret in [
        SIGN_UP_PASSWORD,
        RESET_PASSWORD,
        &verify_token,
        &reset_token,
        new_session.split_once('=').unwrap().1,
    ] {
        assert!(
            !logs.contains(secret),
            "a password, link token or session id reached the logs"
        );
    }
}

#[tokio::test]
async fn forwarded_address_and_country_are_believed_only_from_trusted_proxies() {
    let headers = [("x-forwarded-for", "198.51.100.4, 203.0.113.7"), ("cf-ipcountry", "de")];
    let recorded = |trusted: bool| async move {
        let app = spawn_app_with(
            |v| {
                v.insert("ATELIER_COUNTRY_HEADER".into(), "CF-IPCountry".into());
                if trusted {
                    v.insert("ATELIER_TRUSTED_PROXIES".into(), "127.0.0.1".into());
                }
            },
            server::jobs::registry(),
        )
        .await;
        create_member(&app, "ada@example.org", "Ada Lovelace", true).await;
        let mut request = app
            .client
            .post(app.url(SignIn::PATH))
            .form(&[("email", "ada@example.org"), ("password", PASSWORD)]);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        assert!(request.send().await.unwrap().headers().contains_key("set-cookie"));
        let row: (Option<String>, Option<String>) = sqlx::query_as("SELECT ip, country FROM sessions")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
        app.stop().await;
        row
    };
    assert_eq!(recorded(true).await, (Some("203.0.113.7".into()), Some("DE".into())));
    assert_eq!(
        recorded(false).await,
        (Some("127.0.0.1".into()), None),
        "spoofed headers are ignored"
    );
}
