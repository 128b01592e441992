//! Server functions over HTTP: a round trip, input validation, and the same-origin guard
//! every state-changing request passes through.

use crate::support;

use crate::support::{spawn_app, TestApp};
use app::features::library::{api::BrowseImages, ImagePage};
use leptos::server_fn::ServerFn;

/// Calls `browse_images` over HTTP with the given extra headers.
async fn browse(app: &TestApp, page: &str, sort: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(BrowseImages::PATH))
        .form(&[("page", page), ("sort", sort)]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn browse_images_round_trips_as_json() {
    let app = spawn_app().await;
    app.seed(3).await;
    let response = browse(&app, "1", "", &[]).await;
    assert_eq!(response.status(), 200);
    let page: ImagePage = response.json().await.unwrap();
    assert_eq!(page.images.len(), 3);
    assert!(!page.has_more);
    assert!(page
        .images
        .iter()
        .all(|i| i.thumb_url.starts_with("/img/") && i.width > 0));
    app.stop().await;
}

#[tokio::test]
async fn invalid_arguments_get_a_clear_error_not_a_crash() {
    let app = spawn_app().await;
    let body = browse(&app, "0", "", &[]).await.text().await.unwrap();
    assert!(body.contains("That page does not exist"), "{body}");
    let body = browse(&app, "1", "random", &[]).await.text().await.unwrap();
    assert!(body.contains("Sort by newest or popular"), "{body}");
    let garbage = app
        .client
        .post(app.url(BrowseImages::PATH))
        .body("page=banana")
        .send()
        .await
        .unwrap();
    assert!(garbage.text().await.unwrap().contains("not understood"));
    app.stop().await;
}

#[tokio::test]
async fn cross_site_server_function_calls_are_refused() {
    let app = spawn_app().await;
    assert_eq!(
        browse(&app, "1", "", &[("sec-fetch-site", "cross-site")])
            .await
            .status(),
        403
    );
    assert_eq!(
        browse(&app, "1", "", &[("sec-fetch-site", "same-site")]).await.status(),
        403
    );
    assert_eq!(
        browse(&app, "1", "", &[("origin", "https://evil.example")])
            .await
            .status(),
        403
    );
    let origin = app.base_url.clone();
    let same_origin = browse(
        &app,
        "1",
        "",
        &[("origin", origin.as_str()), ("sec-fetch-site", "same-origin")],
    )
    .await;
    assert_eq!(same_origin.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let app = support::spawn_app_with(
        |values| {
            values.insert("ATELIER_MAX_BODY_BYTES".into(), "4096".into());
        },
        server::jobs::registry(),
    )
    .await;
    assert_eq!(browse(&app, "1", &"q".repeat(10_000), &[]).await.status(), 413);
    app.stop().await;
}

/// GET requests are not checked for cross-site origins the way state changes are, and
/// browsers send them from any page: no server function may be reachable by GET.
#[test]
fn no_server_function_uses_a_get_encoding() {
    let functions: Vec<_> = leptos::server_fn::axum::server_fn_paths().collect();
    assert!(
        functions.len() > 50,
        "the registry lists the server functions: {functions:?}"
    );
    let not_post: Vec<_> = functions
        .iter()
        .filter(|(_, method)| method.as_str() != "POST")
        .collect();
    assert!(
        not_post.is_empty(),
        "server functions reachable without POST: {not_post:?}"
    );
}
