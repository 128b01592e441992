//! Errors a form without JavaScript carries back to its page in the address: our own,
//! signed, are shown; one written into a link by anyone else is removed before the page
//! renders, so no crafted link can put its words on one of our pages.

use crate::support::{
    members::{create_member, BROWSER_ACCEPT},
    spawn_app, TestApp,
};
use app::{error::AppError, features::accounts::api::SignIn};
use base64::{engine::general_purpose::URL_SAFE, Engine as _};
use leptos::server_fn::ServerFn;

const PLANTED: &str = "Your account is locked. Call +1 555 0100 to unlock it.";

/// The sign-in form posted as a browser without JavaScript posts it, from `/signin`.
async fn failed_sign_in(app: &TestApp) -> String {
    let response = app
        .client
        .post(app.url(SignIn::PATH))
        .header("accept", BROWSER_ACCEPT)
        .header("referer", app.url("/signin"))
        .form(&[("email", "ada@example.org"), ("password", "not the password")])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    response.headers()["location"].to_str().unwrap().to_owned()
}

fn planted_error() -> String {
    URL_SAFE.encode(serde_json::to_vec(&AppError::Invalid(PLANTED.into())).unwrap())
}

fn query(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[tokio::test]
async fn our_own_error_comes_back_to_the_page_signed_and_is_shown() {
    let app = spawn_app().await;
    create_member(&app, "ada@example.org", "Ada", true).await;
    let location = failed_sign_in(&app).await;
    assert!(location.contains("__err=") && location.contains("__sig="), "{location}");
    let path = location.strip_prefix(&app.base_url).expect("back to this site");
    let page = app.get(path).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("The email or password is incorrect."), "{html:.2000}");
    app.stop().await;
}

#[tokio::test]
async fn an_error_written_into_a_link_never_reaches_the_page() {
    let app = spawn_app().await;
    create_member(&app, "ada@example.org", "Ada", true).await;
    let planted = planted_error();
    let genuine = failed_sign_in(&app).await;
    let genuine_signature = url::Url::parse(&genuine)
        .unwrap()
        .query_pairs()
        .find(|(name, _)| name == "__sig")
        .map(|(_, value)| value.into_owned())
        .unwrap();
    for crafted in [
        // No signature at all.
        query(&[("next", "/account"), ("__path", SignIn::PATH), ("__err", &planted)]),
        // A signature taken from a genuine error, on other words.
        query(&[
            ("next", "/account"),
            ("__path", SignIn::PATH),
            ("__err", &planted),
            ("__sig", &genuine_signature),
        ]),
        // A made-up one.
        query(&[
            ("next", "/account"),
            ("__path", SignIn::PATH),
            ("__err", &planted),
            ("__sig", &"0".repeat(32)),
        ]),
    ] {
        let response = app.get(&format!("/signin?{crafted}")).await;
        assert_eq!(response.status(), 303, "{crafted}");
        assert_eq!(
            response.headers()["location"],
            "/signin?next=%2Faccount",
            "the same page, the error removed, the rest kept"
        );
        let html = app.get(&format!("/signin?{crafted}")).await.text().await.unwrap();
        assert!(!html.contains("locked"), "the planted words are never rendered");
    }
    app.stop().await;
}
