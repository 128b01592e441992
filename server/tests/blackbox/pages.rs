//! Server-rendered pages: content in the HTML before any script runs, titles, 404s, and
//! the security headers every HTML response carries.

use crate::support::spawn_app;

/// Marks a rendered image tile (skeleton placeholders have no image id).
const TILE: &str = "data-image-id=";

fn csp_nonce(csp: &str) -> String {
    let start = csp.find("'nonce-").expect("the CSP names a nonce") + "'nonce-".len();
    csp[start..].split('\'').next().unwrap().to_owned()
}

#[tokio::test]
async fn home_page_is_server_rendered_with_demo_images() {
    let app = spawn_app().await;
    app.seed(5).await;
    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(html.contains("<title>Atelier</title>"), "home title: {html:.400}");
    assert!(html.contains(r#"<meta name="description""#));
    assert_eq!(html.matches(TILE).count(), 5, "every seeded image is in the HTML");
    assert!(html.contains("/img/"), "tiles point at the image route");
    assert!(
        !html.contains("skeleton"),
        "content is in place, not behind a loading placeholder"
    );
    assert!(
        html.contains(r#"fetchpriority="high""#),
        "the first tiles are the LCP candidates"
    );
    for landmark in [
        "<header",
        "<main",
        "<footer",
        r#"role="search""#,
        r#"aria-label="Main""#,
    ] {
        assert!(html.contains(landmark), "missing {landmark}");
    }
    app.stop().await;
}

#[tokio::test]
async fn empty_library_shows_a_designed_empty_state() {
    let app = spawn_app().await;
    let html = app.get("/").await.text().await.unwrap();
    assert!(html.contains("The library is empty"));
    app.stop().await;
}

#[tokio::test]
async fn media_urls_in_pages_are_served_with_immutable_caching() {
    let app = spawn_app().await;
    app.seed(1).await;
    let html = app.get("/").await.text().await.unwrap();
    let start = html.find("/img/").unwrap();
    let path = &html[start..start + html[start..].find(['"', ' ']).unwrap()];
    let response = app.get(path).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/webp");
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    app.stop().await;
}

#[tokio::test]
async fn library_pages_link_to_each_other_without_javascript() {
    let app = spawn_app().await;
    app.seed(26).await;
    let first = app.get("/photos").await.text().await.unwrap();
    assert_eq!(first.matches(TILE).count(), 24);
    assert!(first.contains(r#"href="/photos?page=2""#));
    let second = app.get("/photos?page=2").await.text().await.unwrap();
    assert_eq!(second.matches(TILE).count(), 2);
    assert!(second.contains(r#"href="/photos?page=1""#));
    assert!(second.contains("<title>Library, page 2 — Atelier</title>"));
    app.stop().await;
}

#[tokio::test]
async fn search_finds_by_tag_and_says_when_nothing_matches() {
    let app = spawn_app().await;
    app.seed(12).await;
    let aurora = app.get("/search?q=aurora").await.text().await.unwrap();
    let tiles = aurora.matches(TILE).count();
    assert!((1..12).contains(&tiles), "only the aurora images match, got {tiles}");
    let none = app.get("/search?q=zzzz%25nothing").await.text().await.unwrap();
    assert!(none.contains("No images match"));
    app.stop().await;
}

#[tokio::test]
async fn contributors_page_lists_the_cast() {
    let app = spawn_app().await;
    app.seed(12).await;
    let html = app.get("/contributors").await.text().await.unwrap();
    assert!(html.contains("Mira Solenne"));
    assert!(html.contains("Pia Kestrel"));
    assert!(html.contains("<title>Contributors — Atelier</title>"));
    app.stop().await;
}

#[tokio::test]
async fn unknown_paths_get_a_designed_404() {
    let app = spawn_app().await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), 404);
    let html = response.text().await.unwrap();
    assert!(html.contains("We couldn't find that page"));
    assert!(html.contains("<title>Page not found — Atelier</title>"));
    app.stop().await;
}

#[tokio::test]
async fn html_responses_carry_a_fresh_csp_nonce_that_matches_the_scripts() {
    let app = spawn_app().await;
    let first = app.get("/").await;
    let headers = first.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap().to_owned();
    let html = first.text().await.unwrap();
    let nonce = csp_nonce(&csp);
    assert!(nonce.len() >= 16);
    assert!(
        html.contains(&format!(r#"nonce="{nonce}""#)),
        "the hydration script carries the header's nonce"
    );
    assert!(!html.contains("<script>"), "no inline script without a nonce");
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap();
    assert!(!script_src.contains("unsafe-inline"));
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "strict-origin-when-cross-origin");

    let second = app.get("/").await;
    let second_nonce = csp_nonce(second.headers()["content-security-policy"].to_str().unwrap());
    assert_ne!(nonce, second_nonce, "a fresh nonce per response");
    app.stop().await;
}

#[tokio::test]
async fn html_is_compressed_when_the_client_accepts_it() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "br");
    let response = app
        .client
        .get(app.url("/"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
    app.stop().await;
}

#[tokio::test]
async fn pkg_assets_prefer_precompressed_files() {
    let app = spawn_app().await;
    let pkg = app.state.config.site_root.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("atelier.js"), "console.log('plain')").unwrap();
    std::fs::write(pkg.join("atelier.js.br"), b"brotli bytes").unwrap();
    let response = app
        .client
        .get(app.url("/pkg/atelier.js"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "br");
    // Test builds have no hashed names, so assets must revalidate rather than be immutable.
    assert_eq!(response.headers()["cache-control"], "no-cache");
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"brotli bytes");
    app.stop().await;
}

#[tokio::test]
async fn the_terms_and_the_demo_images_say_a_procedural_generator_made_them() {
    let app = spawn_app().await;
    app.seed(1).await;
    let terms = app.get("/terms").await.text().await.unwrap();
    assert!(
        !terms.contains("made by AI systems"),
        "the demo images are not made by an AI model"
    );
    assert!(
        terms.contains("procedural generator"),
        "the terms say what the demo images are"
    );
    let id: String = sqlx::query_scalar("SELECT public_id FROM images ORDER BY id LIMIT 1")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    let page = app.get(&format!("/photos/{id}")).await.text().await.unwrap();
    assert!(
        page.contains("procedural generator (code, not an AI model)"),
        "the image page says how the demo image was made"
    );
    app.stop().await;
}
