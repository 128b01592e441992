//! Image delivery over HTTP, on SQLite and PostgreSQL: `/img/{id}/{variant}` (strong ETag,
//! 304, ranges, immutable caching for content-hashed URLs, hotlinks counted by domain
//! only), signed downloads (`/dl/…`: counted once per visitor, image and day however many
//! links are minted, 403 with a fresh link when tampered or expired) and the image page
//! (`/photos/{id}`, view counts without cookies).

use crate::support::{count_rows, spawn_app, TestApp};
use app::{
    features::library::api::DownloadLink,
    platform::{clock::now_unix, signing},
};
use leptos::server_fn::ServerFn;

async fn first_image(app: &TestApp) -> String {
    sqlx::query_scalar("SELECT public_id FROM images ORDER BY id LIMIT 1")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

/// The `/img/…?v=…` URL the image page uses for a variant.
async fn page_image_url(app: &TestApp, public_id: &str, variant: &str) -> String {
    let html = app.get(&format!("/photos/{public_id}")).await.text().await.unwrap();
    let marker = format!("/img/{public_id}/{variant}?v=");
    let start = html.find(&marker).unwrap_or_else(|| panic!("{marker} in the page"));
    let end = start + html[start..].find([' ', '"', ',']).unwrap();
    html[start..end].replace("&amp;", "&")
}

async fn counts(app: &TestApp, public_id: &str) -> (i64, i64) {
    sqlx::query_as("SELECT view_count, download_count FROM images WHERE public_id = $1")
        .bind(public_id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn images_have_strong_etags_304_ranges_and_immutable_hashed_urls() {
    let app = spawn_app().await;
    app.seed(1).await;
    let id = first_image(&app).await;
    let url = page_image_url(&app, &id, "small").await;

    let response = app.get(&url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/webp");
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with('"') && etag.len() == 66,
        "a strong SHA-256 ETag: {etag}"
    );
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.len() > 100);

    let revalidated = app
        .client
        .get(app.url(&url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    assert_eq!(revalidated.headers()["etag"], etag.as_str());
    assert!(revalidated.bytes().await.unwrap().is_empty());
    let changed = app
        .client
        .get(app.url(&url))
        .header("if-none-match", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);

    let range = app
        .client
        .get(app.url(&url))
        .header("range", "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(range.status(), 206);
    assert_eq!(
        range.headers()["content-range"],
        format!("bytes 0-9/{}", bytes.len()).as_str()
    );
    assert_eq!(range.bytes().await.unwrap(), bytes.slice(0..10));

    let unhashed = app.get(&format!("/img/{id}/small")).await;
    assert_eq!(unhashed.status(), 200);
    assert_eq!(
        unhashed.headers()["cache-control"],
        "public, max-age=3600",
        "no hash, no immutability"
    );

    for missing in [format!("/img/{id}/huge"), "/img/nope/small".to_owned()] {
        assert_eq!(app.get(&missing).await.status(), 404, "{missing}");
    }
    sqlx::query("UPDATE images SET visibility = 'hidden'")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(app.get(&url).await.status(), 404, "hidden images are not served");
    app.stop().await;
}

#[tokio::test]
async fn hotlinks_are_served_and_counted_by_domain_only() {
    let app = spawn_app().await;
    app.seed(1).await;
    let id = first_image(&app).await;
    let url = page_image_url(&app, &id, "thumb").await;
    for referrer in [
        "https://Blog.Example.com/posts/2026/my-trip?utm=1",
        "https://blog.example.com/other",
        "http://forum.example.net:8080/t/1",
    ] {
        let response = app
            .client
            .get(app.url(&url))
            .header("referer", referrer)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "never blocked");
    }
    // Our own pages and requests without a referrer are not hotlinks.
    app.client
        .get(app.url(&url))
        .header("referer", app.url("/photos"))
        .send()
        .await
        .unwrap();
    app.get(&url).await;

    let mut rows: Vec<(String, i64)> = Vec::new();
    for _ in 0..50 {
        rows = sqlx::query_as("SELECT domain, requests FROM image_hotlinks ORDER BY domain")
            .fetch_all(app.state.db.pool())
            .await
            .unwrap();
        if rows.iter().map(|(_, n)| n).sum::<i64>() == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    }
    assert_eq!(
        rows,
        vec![("blog.example.com".to_owned(), 2), ("forum.example.net".to_owned(), 1)],
        "domain only: no path, query, port or visitor"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_signed_download_counts_once_and_names_the_file() {
    let app = spawn_app().await;
    app.seed(1).await;
    let id = first_image(&app).await;

    // Without JavaScript the form post is redirected to the signed link…
    let response = app
        .client
        .post(app.url(DownloadLink::PATH))
        .header("accept", "text/html,application/xhtml+xml")
        .form(&[("public_id", id.as_str()), ("size", "original")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let link = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(link.starts_with(&format!("/dl/{id}?size=original&expires=")), "{link}");
    // …and a script gets the link to open itself (the client router would try to render it).
    let scripted = app
        .client
        .post(app.url(DownloadLink::PATH))
        .form(&[("public_id", id.as_str()), ("size", "small")])
        .send()
        .await
        .unwrap();
    assert!(scripted.headers().get("location").is_none());
    let scripted_link: String = scripted.json().await.unwrap();
    assert!(
        scripted_link.starts_with(&format!("/dl/{id}?size=small&expires=")),
        "{scripted_link}"
    );

    let download = app.get(&link).await;
    assert_eq!(download.status(), 200);
    let disposition = download.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"") && disposition.ends_with(".jpg\""),
        "{disposition}"
    );
    assert!(!download.bytes().await.unwrap().is_empty());
    assert_eq!(counts(&app, &id).await.1, 1);

    // A retry or a range request of the same link is the same download.
    app.get(&link).await;
    app.client
        .get(app.url(&link))
        .header("range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(counts(&app, &id).await.1, 1);
    assert_eq!(count_rows(&app, "download_events").await, 1);

    let unknown_size = app
        .client
        .post(app.url(DownloadLink::PATH))
        .form(&[("public_id", id.as_str()), ("size", "gigantic")])
        .send()
        .await
        .unwrap();
    assert!(!unknown_size.status().is_success());
    assert!(unknown_size
        .text()
        .await
        .unwrap()
        .contains("Choose one of the sizes listed."));
    app.stop().await;
}

#[tokio::test]
async fn tampered_or_expired_links_get_403_with_a_fresh_link() {
    let app = spawn_app().await;
    app.seed(1).await;
    let id = first_image(&app).await;
    let now = now_unix();
    let good = signing::download_path(&app.state.secret_key, &id, "small", now + 600);

    let tampered = good.replace("size=small", "size=original");
    let expired = signing::download_path(&app.state.secret_key, &id, "small", now - 5);
    let forged_expiry = good.replace(&format!("expires={}", now + 600), &format!("expires={}", now + 6000));
    let mut fresh_links = std::collections::BTreeSet::new();
    for bad in [tampered, expired, forged_expiry, format!("/dl/{id}?size=small")] {
        let response = app.get(&bad).await;
        assert_eq!(response.status(), 403, "{bad}");
        let page = response.text().await.unwrap();
        assert!(page.contains("This download link has expired"), "{page}");
        let start = page.find("href=\"/dl/").unwrap() + "href=\"".len();
        let fresh = page[start..start + page[start..].find('"').unwrap()].replace("&amp;", "&");
        assert_eq!(app.get(&fresh).await.status(), 200, "the offered link works");
        fresh_links.insert(fresh);
    }
    assert_eq!(app.get("/dl/nope?size=small&expires=1&token=00").await.status(), 404);
    // The fresh links: one for the original (the tampered link asked for it) and the small
    // ones, which are one link when made in the same second (the loop may cross a second).
    assert!((2..=4).contains(&fresh_links.len()), "{fresh_links:?}");
    assert_eq!(
        counts(&app, &id).await.1,
        1,
        "only a fresh link counted, and one visitor's fresh links count once a day"
    );
    app.stop().await;
}

/// Follows `link` as the browser `agent` and reads the file; the status. Owns what it
/// needs, so several can run at once.
fn download_as(app: &TestApp, link: &str, agent: &str) -> impl std::future::Future<Output = u16> + Send + 'static {
    let request = app.client.get(app.url(link)).header("user-agent", agent.to_owned());
    async move {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        response.bytes().await.unwrap();
        status
    }
}

#[tokio::test]
async fn fresh_links_count_one_download_per_visitor_image_and_day_even_at_once() {
    let app = spawn_app().await;
    app.seed(1).await;
    let id = first_image(&app).await;
    let now = now_unix();
    // Four distinct, valid links per visitor, in two sizes (as minting fresh ones gives),
    // for two visitors (the same address, different browsers), all followed at once.
    let link = |size: &str, k: i64| signing::download_path(&app.state.secret_key, &id, size, now + 600 - k);
    let mut downloads = Vec::new();
    for (visitor, agent) in [(0, "Firefox/128.0"), (1, "Safari/17.0")] {
        for k in 0..4 {
            let size = if k % 2 == 0 { "small" } else { "full" };
            downloads.push((link(size, 4 * visitor + k), agent));
        }
    }
    // The first visitor's first link alone, so the test knows which link was counted.
    assert_eq!(download_as(&app, &downloads[0].0, downloads[0].1).await, 200);
    let statuses = crate::collections::futures_join_all(
        downloads[1..]
            .iter()
            .map(|(link, agent)| download_as(&app, link, agent)),
    )
    .await;
    assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
    assert_eq!(counts(&app, &id).await.1, 2, "two visitors, two downloads");
    assert_eq!(count_rows(&app, "download_events").await, 2);
    let visitors: Vec<String> = sqlx::query_scalar("SELECT visitor FROM download_visitors")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(visitors.len(), 2);
    assert!(
        visitors
            .iter()
            .all(|v| !v.contains("127.0.0.1") && !v.contains("Firefox") && v.len() == 32),
        "pseudonymous: {visitors:?}"
    );

    // A third browser following a link already counted is not a new download, and leaves
    // no trace: its own link later still counts.
    assert_eq!(download_as(&app, &downloads[0].0, "Chrome/126.0").await, 200);
    assert_eq!(counts(&app, &id).await.1, 2);
    assert_eq!(count_rows(&app, "download_visitors").await, 2);
    assert_eq!(download_as(&app, &link("small", 10), "Chrome/126.0").await, 200);
    assert_eq!(counts(&app, &id).await.1, 3);

    // The de-duplication rows only matter on their day.
    app::features::library::service::purge_old_views(&app.state.db, now + 2 * 86_400)
        .await
        .unwrap();
    assert_eq!(count_rows(&app, "download_visitors").await, 0);
    assert_eq!(counts(&app, &id).await.1, 3, "the count stays");
    app.stop().await;
}

#[tokio::test]
async fn the_image_page_is_complete_and_counts_a_visitor_once_a_day_without_cookies() {
    let app = spawn_app().await;
    app.seed(6).await;
    let id = first_image(&app).await;
    let response = app.get(&format!("/photos/{id}")).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("set-cookie").is_none(),
        "no cookie for anonymous visitors"
    );
    let html = response.text().await.unwrap();
    for expected in [
        r#"data-testid="image-main""#,
        r#"fetchpriority="high""#,
        "srcset=",
        " 400w",
        "data:image/png;base64,",
        r#"data-testid="download-menu""#,
        r#"data-testid="contributor-card""#,
    ] {
        assert!(html.contains(expected), "{expected}");
    }
    assert!(!html.contains(r#"loading="lazy" fetchpriority="high""#));

    for _ in 0..3 {
        app.client
            .get(app.url(&format!("/photos/{id}")))
            .header("user-agent", "Firefox/128.0")
            .send()
            .await
            .unwrap();
    }
    assert_eq!(
        counts(&app, &id).await.0,
        2,
        "the default client and one Firefox: two visitors"
    );
    let visitors: Vec<String> = sqlx::query_scalar("SELECT visitor FROM image_views")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    assert!(
        visitors.iter().all(|v| !v.contains("127.0.0.1") && v.len() == 32),
        "pseudonymous: {visitors:?}"
    );

    let missing = app.get("/photos/doesnotexist").await;
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("We couldn't find that page"));
    app.stop().await;
}
