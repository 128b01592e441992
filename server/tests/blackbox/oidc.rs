//! Single sign-on through OpenID Connect, end to end against a fake provider that speaks the
//! real protocol (support/fake_oidc.rs): hidden when not configured; a verified email links
//! a member, or creates one after the sign-up step that checks the minimum age; an
//! unverified one is refused; state is single-use and bound
//! to the browser; ID tokens that fail any check are refused; `next` stays on this site.
//! Runs on SQLite and PostgreSQL like the rest of the suite.

use crate::support::fake_oidc;

use crate::support::{
    count_rows,
    members::{
        cookie_pair, create_member, error_of, location, password_sign_in, session_cookie, set_cookie_line, who,
        PASSWORD,
    },
    spawn_app, spawn_app_with, TestApp,
};
use app::{
    error::AppError,
    features::accounts::{
        oidc::OidcFailure,
        oidc_views::{oidc_error_message, FinishProviderSignUp, UNKNOWN_OIDC_ERROR},
        Role,
    },
    platform::clock::now_unix,
};
use fake_oidc::{ClientAuth, FakeIdentity, FakeOidc, Misbehaviour, CLIENT_ID, CLIENT_SECRET};
use leptos::server_fn::ServerFn;

async fn app_with(fake: &FakeOidc) -> TestApp {
    spawn_app_with(|values| fake.configure(values), server::jobs::registry()).await
}

/// An app whose confirmed member has the fake provider's default email, so a sign-in
/// through the provider links to them and ends at `next` at once.
async fn app_with_member(fake: &FakeOidc) -> TestApp {
    let app = app_with(fake).await;
    create_member(&app, "ada@example.org", "Grace Hopper", true).await;
    app
}

/// `FinishProviderSignUp` from the sign-up page, with the browser's sign-up cookie.
async fn finish_sign_up(app: &TestApp, cookie: &str, display_name: &str, birth_date: &str) -> reqwest::Response {
    app.client
        .post(app.url(FinishProviderSignUp::PATH))
        .header("cookie", cookie)
        .form(&[("display_name", display_name), ("birth_date", birth_date)])
        .send()
        .await
        .unwrap()
}

/// A sign-in as far as the provider's redirect back to us.
struct Started {
    /// The binding cookie's whole `Set-Cookie` line, from /auth/oidc/start.
    binding_header: String,
    /// `atelier_oidc=…`, as the browser sends it back.
    binding: String,
    /// `/auth/oidc/callback?code=…&state=…` as the provider sent the browser back.
    callback: String,
}

/// `GET /auth/oidc/start`, then the provider's `/authorize` (which answers at once).
async fn through_provider(app: &TestApp, next: Option<&str>) -> Started {
    let path = match next {
        Some(next) => format!("/auth/oidc/start?next={}", fake_oidc::encode(next)),
        None => "/auth/oidc/start".to_owned(),
    };
    let start = app.get(&path).await;
    assert_eq!(start.status(), 302, "start redirects to the provider");
    assert_eq!(start.headers()["cache-control"], "no-store");
    let binding_header = set_cookie_line(&start, "atelier_oidc").expect("a binding cookie");
    let authorized = app.client.get(location(&start)).send().await.unwrap();
    assert_eq!(authorized.status(), 302, "the fake provider redirects back");
    let back = location(&authorized);
    let at = back.find("/auth/oidc/callback").expect("back to our callback");
    Started {
        binding: cookie_pair(&binding_header),
        binding_header,
        callback: back[at..].to_owned(),
    }
}

/// The browser arriving back at our callback with its binding cookie.
async fn finish(app: &TestApp, started: &Started) -> reqwest::Response {
    app.client
        .get(app.url(&started.callback))
        .header("cookie", &started.binding)
        .send()
        .await
        .unwrap()
}

async fn sign_in_through_provider(app: &TestApp, next: Option<&str>) -> reqwest::Response {
    let started = through_provider(app, next).await;
    finish(app, &started).await
}

fn assert_refused(response: &reqwest::Response, failure: OidcFailure) {
    assert_eq!(response.status(), 303);
    assert_eq!(location(response), format!("/signin?oidc_error={}", failure.code()));
    assert!(set_cookie_line(response, "atelier_session").is_none(), "no session");
    let cleared = set_cookie_line(response, "atelier_oidc").expect("the binding cookie is removed");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

/// The callback URL with another `state`.
fn with_state(callback: &str, state: &str) -> String {
    let (path, query) = callback.split_once('?').unwrap();
    let query: Vec<String> = query
        .split('&')
        .map(|pair| {
            if pair.starts_with("state=") {
                format!("state={state}")
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

async fn assert_nothing_stored(app: &TestApp) {
    for table in ["users", "oidc_identities", "sessions", "oidc_logins", "oidc_signups"] {
        assert_eq!(count_rows(app, table).await, 0, "{table} stays empty");
    }
}

#[tokio::test]
async fn without_configuration_single_sign_on_is_hidden() {
    let app = spawn_app().await;
    assert_eq!(app.get("/auth/oidc/start?next=/").await.status(), 404);
    assert_eq!(app.get("/auth/oidc/callback?code=x&state=y").await.status(), 404);
    let page = app.get("/signin").await.text().await.unwrap();
    assert!(page.contains(r#"name="password""#), "the sign-in page renders");
    assert!(!page.contains(r#"data-testid="oidc-sign-in""#), "no provider button");
    assert!(!page.contains("/auth/oidc/start"));
    assert_eq!(count_rows(&app, "oidc_logins").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn the_sign_in_page_offers_the_provider_and_explains_failures_by_code_only() {
    let fake = FakeOidc::start().await;
    let app = app_with(&fake).await;
    let page = app.get("/signin?next=/account/sessions").await.text().await.unwrap();
    assert!(page.contains(r#"data-testid="oidc-sign-in""#), "{page}");
    assert!(page.contains("Continue with Fake SSO"));
    assert!(page.contains("/auth/oidc/start?next=%2Faccount%2Fsessions"));
    for failure in OidcFailure::ALL {
        let message = oidc_error_message(failure.code()).expect("every code has a message");
        let page = app
            .get(&format!("/signin?oidc_error={}", failure.code()))
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains(message), "{}: {message}", failure.code());
    }
    let forged = app
        .get("/signin?oidc_error=Call%20Zanzibar%20support%20to%20restore%20your%20account")
        .await
        .text()
        .await
        .unwrap();
    assert!(!forged.contains("Zanzibar"), "text from the URL is never printed");
    assert!(forged.contains(UNKNOWN_OIDC_ERROR));
    assert_eq!(fake.discovery_requests(), 0, "showing the button contacts nobody");
    app.stop().await;
}

#[tokio::test]
async fn a_new_verified_email_creates_a_member_and_signs_them_in() {
    let fake = FakeOidc::start().await;
    fake.set_identity(FakeIdentity::verified("subject-ada", "Ada@Example.org", "Ada Lovelace"));
    let app = app_with(&fake).await;

    let started = through_provider(&app, Some("/account/sessions")).await;
    for attribute in ["Path=/auth/oidc", "HttpOnly", "SameSite=Lax", "Max-Age=600"] {
        assert!(
            started.binding_header.contains(attribute),
            "{attribute}: {}",
            started.binding_header
        );
    }
    let request = fake.authorize_requests().pop().unwrap();
    let scopes: Vec<&str> = request["scope"].split(' ').collect();
    for scope in ["openid", "email", "profile"] {
        assert!(scopes.contains(&scope), "{scope} requested: {scopes:?}");
    }
    assert_eq!(request["code_challenge_method"], "S256");
    assert!(!request["nonce"].is_empty() && !request["state"].is_empty());
    assert!(request["redirect_uri"].ends_with("/auth/oidc/callback"));
    assert_eq!(count_rows(&app, "oidc_logins").await, 1);

    // Someone new: the verified identity waits while the sign-up page asks for the date of
    // birth; nothing about the person is stored as a member yet.
    let response = finish(&app, &started).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/signup/provider");
    assert!(set_cookie_line(&response, "atelier_session").is_none());
    assert!(set_cookie_line(&response, "atelier_oidc")
        .unwrap()
        .contains("Max-Age=0"));
    let waiting = set_cookie_line(&response, "atelier_oidc_signup").expect("a sign-up cookie");
    for attribute in ["Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=600"] {
        assert!(waiting.contains(attribute), "{attribute}: {waiting}");
    }
    let waiting = cookie_pair(&waiting);
    assert_eq!(count_rows(&app, "users").await, 0);
    let page = app.page_with_cookie("/signup/provider", &waiting).await;
    assert!(
        page.contains("ada@example.org") && page.contains(r#"value="Ada Lovelace""#),
        "{page}"
    );
    assert!(page.contains(r#"name="birth_date""#));

    // A malformed date keeps the sign-up waiting, so it can be corrected.
    let malformed = error_of(finish_sign_up(&app, &waiting, "Ada Lovelace", "30/04/2001").await).await;
    assert!(malformed.for_field("birth_date").is_some(), "{malformed:?}");
    assert_eq!(count_rows(&app, "oidc_signups").await, 1);

    let response = finish_sign_up(&app, &waiting, "Ada Lovelace", "1990-12-10").await;
    assert_eq!(location(&response), "/account/sessions");
    let session = set_cookie_line(&response, "atelier_session").expect("a session cookie");
    for attribute in ["Path=/", "HttpOnly", "SameSite=Lax"] {
        assert!(session.contains(attribute), "{attribute}: {session}");
    }
    assert!(
        !session.contains("Max-Age"),
        "not remembered: the cookie ends with the browser"
    );
    assert!(set_cookie_line(&response, "atelier_oidc_signup")
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(count_rows(&app, "oidc_signups").await, 0, "the sign-up was used up");
    let reuse = error_of(finish_sign_up(&app, &waiting, "Ada Again", "1990-12-10").await).await;
    assert!(
        matches!(reuse, AppError::Invalid(ref m) if m.contains("expired")),
        "{reuse:?}"
    );

    let cookie = cookie_pair(&session);
    let member = who(&app, &cookie).await.expect("signed in");
    assert_eq!(member.email, "ada@example.org");
    assert!(member.email_verified, "the provider verified it");
    assert_eq!(member.display_name, "Ada Lovelace");
    assert_eq!(member.role, Role::Member);
    let account = app.page_with_cookie("/account", &cookie).await;
    assert!(account.contains("ada@example.org"), "the account page works");

    let (issuer, subject): (String, String) = sqlx::query_as("SELECT issuer, subject FROM oidc_identities")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(
        (issuer.as_str(), subject.as_str()),
        (fake.issuer.as_str(), "subject-ada")
    );
    assert_eq!(count_rows(&app, "users").await, 1);
    assert_eq!(count_rows(&app, "oidc_logins").await, 0, "the sign-in was used up");

    let token = fake.token_requests().pop().unwrap();
    assert_eq!(token.client_auth, "client_secret_basic");
    assert!(token.form.contains_key("code_verifier"), "PKCE");
    assert!(
        !token.form.contains_key("client_secret"),
        "the secret travels only in the header"
    );

    // No usable password, and trying one is an ordinary wrong password, not an error.
    let attempt = password_sign_in(&app, "ada@example.org", "oidc-0123456789abcdef").await;
    assert!(attempt.headers().get("set-cookie").is_none());
    let error: AppError = serde_json::from_str(&attempt.text().await.unwrap()).unwrap();
    assert!(
        matches!(error, AppError::Invalid(ref m) if m.contains("incorrect")),
        "{error:?}"
    );

    // (a) The linked identity decides who signs in, whatever email the provider says now.
    fake.set_identity(FakeIdentity::verified("subject-ada", "ada.l@example.org", "Ada"));
    let again = sign_in_through_provider(&app, None).await;
    assert_eq!(location(&again), "/");
    assert_eq!(
        who(&app, &session_cookie(&again)).await.unwrap().email,
        "ada@example.org"
    );
    assert_eq!(count_rows(&app, "users").await, 1);
    assert_eq!(
        fake.discovery_requests(),
        1,
        "discovery is cached after the first success"
    );
    app.stop().await;
}

#[tokio::test]
async fn below_the_minimum_age_a_provider_sign_up_stores_nothing() {
    let fake = FakeOidc::start().await;
    let app = app_with(&fake).await;
    let response = sign_in_through_provider(&app, None).await;
    assert_eq!(location(&response), "/signup/provider");
    let waiting = cookie_pair(&set_cookie_line(&response, "atelier_oidc_signup").unwrap());
    let today = app::dates::date_of(now_unix());
    let twelve = format!("{}-01-01", today.0 - 12);
    let refused = finish_sign_up(&app, &waiting, "Young Ada", &twelve).await;
    assert!(set_cookie_line(&refused, "atelier_oidc_signup")
        .unwrap()
        .contains("Max-Age=0"));
    let error = error_of(refused).await;
    assert!(
        error.for_field("birth_date").unwrap().contains("at least 13"),
        "{error:?}"
    );
    assert_nothing_stored(&app).await;
    let page = app.page_with_cookie("/signup/provider", &waiting).await;
    assert!(
        page.contains(r#"data-testid="provider-sign-up-expired""#),
        "the waiting sign-up is gone"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_existing_member_with_the_same_verified_email_is_linked() {
    let fake = FakeOidc::start().await;
    let app = app_with(&fake).await;
    let user_id = create_member(&app, "grace@example.org", "Grace Hopper", true).await;
    fake.set_identity(FakeIdentity::verified(
        "subject-grace",
        "GRACE@example.org",
        "Rear Admiral Hopper",
    ));

    let response = sign_in_through_provider(&app, None).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/");
    let member = who(&app, &session_cookie(&response)).await.unwrap();
    assert_eq!(member.email, "grace@example.org");
    assert_eq!(
        member.display_name, "Grace Hopper",
        "linking keeps the member's own name"
    );
    assert_eq!(count_rows(&app, "users").await, 1, "no duplicate member");
    let linked: i64 = sqlx::query_scalar("SELECT user_id FROM oidc_identities WHERE subject = $1")
        .bind("subject-grace")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(linked, user_id);
    let password = password_sign_in(&app, "grace@example.org", PASSWORD).await;
    assert!(
        password.headers().get("set-cookie").is_some(),
        "a confirmed member keeps their password"
    );

    // A second identity at the same provider claiming the same email is not linked.
    fake.set_identity(FakeIdentity::verified("subject-impostor", "grace@example.org", "Grace"));
    assert_refused(&sign_in_through_provider(&app, None).await, OidcFailure::Conflict);
    assert_eq!(count_rows(&app, "oidc_identities").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn linking_an_unconfirmed_account_revokes_what_its_creator_set() {
    let fake = FakeOidc::start().await;
    let app = app_with(&fake).await;
    // Someone signed up with this address and a password but never confirmed it.
    create_member(&app, "victim@example.org", "Grace Hopper", false).await;
    let squatter = session_cookie(&password_sign_in(&app, "victim@example.org", PASSWORD).await);
    assert!(who(&app, &squatter).await.is_some());

    fake.set_identity(FakeIdentity::verified("subject-victim", "victim@example.org", "Victim"));
    let response = sign_in_through_provider(&app, None).await;
    let member = who(&app, &session_cookie(&response)).await.expect("signed in");
    assert!(member.email_verified, "the provider's word confirms the address");
    assert!(who(&app, &squatter).await.is_none(), "the earlier session ended");
    let old_password = password_sign_in(&app, "victim@example.org", PASSWORD).await;
    assert!(
        old_password.headers().get("set-cookie").is_none(),
        "the earlier password no longer works"
    );
    assert_eq!(count_rows(&app, "sessions").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn an_unverified_or_missing_email_is_refused_and_nothing_is_stored() {
    let fake = FakeOidc::start().await;
    let app = app_with(&fake).await;
    let unverified = FakeIdentity {
        email_verified: Some(false),
        ..FakeIdentity::verified("subject-1", "ada@example.org", "Ada")
    };
    let unstated = FakeIdentity {
        email_verified: None,
        ..unverified.clone()
    };
    let no_email = FakeIdentity {
        email: None,
        email_verified: Some(true),
        ..unverified.clone()
    };
    for identity in [unverified.clone(), unstated, no_email] {
        fake.set_identity(identity);
        let response = sign_in_through_provider(&app, None).await;
        assert_refused(&response, OidcFailure::EmailUnverified);
    }
    assert_nothing_stored(&app).await;

    // An unverified email never links to the member who has it either.
    create_member(&app, "ada@example.org", "Grace Hopper", true).await;
    fake.set_identity(unverified);
    assert_refused(
        &sign_in_through_provider(&app, None).await,
        OidcFailure::EmailUnverified,
    );
    assert_eq!(count_rows(&app, "oidc_identities").await, 0);
    assert_eq!(count_rows(&app, "sessions").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_tampered_replayed_foreign_or_expired_state_is_refused() {
    let fake = FakeOidc::start().await;
    let app = app_with_member(&fake).await;

    // Tampered: and the attempt uses the sign-in up.
    let started = through_provider(&app, None).await;
    let tampered = Started {
        callback: with_state(&started.callback, "forged-state"),
        binding: started.binding.clone(),
        binding_header: String::new(),
    };
    assert_refused(&finish(&app, &tampered).await, OidcFailure::Expired);
    assert_refused(&finish(&app, &started).await, OidcFailure::Expired);

    // Replayed after success.
    let started = through_provider(&app, None).await;
    let first = finish(&app, &started).await;
    assert_eq!(location(&first), "/");
    assert_refused(&finish(&app, &started).await, OidcFailure::Expired);
    assert_eq!(count_rows(&app, "sessions").await, 1);

    // Another browser: no binding cookie, or the cookie of its own sign-in.
    let started = through_provider(&app, None).await;
    let cookieless = app.client.get(app.url(&started.callback)).send().await.unwrap();
    assert_refused(&cookieless, OidcFailure::Expired);
    let mine = through_provider(&app, None).await;
    let theirs = through_provider(&app, None).await;
    let crossed = Started {
        binding: mine.binding.clone(),
        callback: theirs.callback.clone(),
        binding_header: String::new(),
    };
    assert_refused(&finish(&app, &crossed).await, OidcFailure::Expired);

    // Older than 10 minutes.
    let started = through_provider(&app, None).await;
    sqlx::query("UPDATE oidc_logins SET expires_at = $1")
        .bind(now_unix() - 1)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    assert_refused(&finish(&app, &started).await, OidcFailure::Expired);

    assert_eq!(count_rows(&app, "sessions").await, 1, "only the one honest sign-in");
    app.stop().await;
}

#[tokio::test]
async fn id_tokens_that_fail_a_check_are_refused() {
    let fake = FakeOidc::start().await;
    let app = app_with(&fake).await;
    for misbehaviour in [
        Misbehaviour::WrongNonce,
        Misbehaviour::NoNonce,
        Misbehaviour::WrongAudience,
        Misbehaviour::WrongIssuer,
        Misbehaviour::Expired,
        Misbehaviour::BadSignature,
        Misbehaviour::UnknownKey,
        Misbehaviour::WrongAtHash,
    ] {
        fake.misbehave(misbehaviour);
        let response = sign_in_through_provider(&app, None).await;
        assert_eq!(response.status(), 303, "{misbehaviour:?}");
        assert_eq!(
            location(&response),
            format!("/signin?oidc_error={}", OidcFailure::Rejected.code()),
            "{misbehaviour:?}"
        );
        assert!(
            set_cookie_line(&response, "atelier_session").is_none(),
            "{misbehaviour:?}"
        );
    }
    assert_nothing_stored(&app).await;
    assert_eq!(
        fake.discovery_requests(),
        2,
        "an unknown key makes the app fetch the provider's keys again, once"
    );

    fake.misbehave(Misbehaviour::None);
    let response = sign_in_through_provider(&app, None).await;
    assert_eq!(
        location(&response),
        "/signup/provider",
        "a provider that behaves again is accepted"
    );
    app.stop().await;
}

#[tokio::test]
async fn next_that_leaves_the_site_is_ignored() {
    let fake = FakeOidc::start().await;
    let app = app_with_member(&fake).await;
    for hostile in [
        "https://evil.example/steal",
        "//evil.example/steal",
        "/\\evil.example",
        "javascript:alert(1)",
        "/auth/oidc/start",
    ] {
        let response = sign_in_through_provider(&app, Some(hostile)).await;
        assert_eq!(location(&response), "/", "{hostile}");
    }
    let local = sign_in_through_provider(&app, Some("/photos?page=2")).await;
    assert_eq!(location(&local), "/photos?page=2");
    app.stop().await;
}

#[tokio::test]
async fn declining_at_the_provider_comes_back_as_cancelled() {
    let fake = FakeOidc::start().await;
    let app = app_with(&fake).await;
    fake.misbehave(Misbehaviour::DenyConsent);
    assert_refused(&sign_in_through_provider(&app, None).await, OidcFailure::Cancelled);
    assert!(fake.token_requests().is_empty(), "no code, no exchange");
    assert_nothing_stored(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_provider_that_only_takes_client_secret_post_gets_it() {
    let fake = FakeOidc::start_with(ClientAuth::Post).await;
    let app = app_with_member(&fake).await;
    let response = sign_in_through_provider(&app, None).await;
    assert_eq!(location(&response), "/");
    let token = fake.token_requests().pop().unwrap();
    assert_eq!(token.client_auth, "client_secret_post");
    assert_eq!(token.form["client_id"], CLIENT_ID);
    app.stop().await;
}

#[tokio::test]
async fn a_provider_that_is_down_is_tried_again_at_the_next_sign_in() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let app = spawn_app_with(
        |values| {
            values.insert("ATELIER_OIDC_ISSUER".into(), format!("http://127.0.0.1:{port}"));
            values.insert("ATELIER_OIDC_CLIENT_ID".into(), CLIENT_ID.into());
            values.insert("ATELIER_OIDC_CLIENT_SECRET".into(), CLIENT_SECRET.into());
        },
        server::jobs::registry(),
    )
    .await;
    create_member(&app, "ada@example.org", "Grace Hopper", true).await;
    let page = app.get("/signin").await.text().await.unwrap();
    assert!(
        page.contains("Continue with your single sign-on provider"),
        "the default name; the page does not need the provider"
    );
    let down = app.get("/auth/oidc/start").await;
    assert_eq!(down.status(), 303);
    assert_eq!(location(&down), "/signin?oidc_error=unavailable");
    assert_eq!(count_rows(&app, "oidc_logins").await, 0);

    let _fake = FakeOidc::start_on(port, ClientAuth::Basic).await;
    let response = sign_in_through_provider(&app, None).await;
    assert_eq!(location(&response), "/", "the failure was not cached");
    app.stop().await;
}
