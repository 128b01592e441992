//! Members and their requests in black-box tests: creating accounts directly, signing in
//! over HTTP, reading cookies and the errors server functions answer with.

use super::TestApp;
use app::{
    error::AppError,
    features::accounts::{
        api::{SignIn, WhoAmI},
        service::{create_user, NewUser},
        MemberSummary, Role,
    },
};
use leptos::server_fn::ServerFn;

/// The password every test member is created with.
pub const PASSWORD: &str = "correct horse battery staple";

/// Creates a member with [`PASSWORD`] straight in the database and returns their id.
pub async fn create_member(app: &TestApp, email: &str, display_name: &str, verified: bool) -> i64 {
    create_account(app, email, display_name, Role::Member, verified).await
}

/// An administrator with a verified address and [`PASSWORD`].
pub async fn create_admin(app: &TestApp, email: &str, display_name: &str) -> i64 {
    create_account(app, email, display_name, Role::Admin, true).await
}

async fn create_account(app: &TestApp, email: &str, display_name: &str, role: Role, verified: bool) -> i64 {
    create_user(
        &app.state.db,
        NewUser {
            email,
            display_name,
            password: PASSWORD,
            role,
            email_verified: verified,
        },
    )
    .await
    .unwrap()
}

/// The `Accept` header a browser sends with a plain form post.
pub const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// A form post as a browser's server-function call makes it, with an optional cookie.
pub async fn post_form(app: &TestApp, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.client.post(app.url(path)).form(form);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

/// The password sign-in server function.
pub async fn password_sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    post_form(app, SignIn::PATH, None, &[("email", email), ("password", password)]).await
}

/// Signs in with [`PASSWORD`] and returns the session cookie (`name=value`).
pub async fn signed_in(app: &TestApp, email: &str) -> String {
    session_cookie(&password_sign_in(app, email, PASSWORD).await)
}

/// Who the server thinks the bearer of `cookie` is.
pub async fn who(app: &TestApp, cookie: &str) -> Option<MemberSummary> {
    post_form(app, WhoAmI::PATH, Some(cookie), &[])
        .await
        .json()
        .await
        .unwrap()
}

/// The whole `Set-Cookie` line for the cookie called `name`, if the response sets it.
pub fn set_cookie_line(response: &reqwest::Response, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&prefix))
        .map(str::to_owned)
}

/// `name=value` of a `Set-Cookie` line, as the browser sends it back.
pub fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// `name=value` of the session cookie a response sets (plain-HTTP test name).
pub fn session_cookie(response: &reqwest::Response) -> String {
    cookie_pair(&set_cookie_line(response, "atelier_session").expect("a session cookie"))
}

pub fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// The error a failed server function answered with; its HTTP status must be the one the
/// error means (a refusal is a 4xx, not server_fn's blanket 500).
pub async fn error_of(response: reqwest::Response) -> AppError {
    let status = response.status();
    let body = response.text().await.unwrap();
    assert!(!status.is_success(), "expected a failure, got {status}: {body}");
    let error: AppError = serde_json::from_str(&body).unwrap_or_else(|_| panic!("an AppError body: {body}"));
    assert_eq!(status, error.status(), "{error:?}");
    error
}

/// `next` values that must never leave the site: tabs and newlines (dropped by browsers,
/// so `/\t/evil.example` is followed as `//evil.example`), backslashes (read as `/`),
/// encoded forms, schemes and non-ASCII.
pub const HOSTILE_NEXT: &[&str] = &[
    "//evil.example/",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "/%09/evil.example",
    "https://evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/ /evil.example",
    "/caf\u{e9}",
];
