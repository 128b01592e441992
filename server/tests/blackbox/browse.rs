//! Browsing over HTTP on both databases: `/contributors/{slug}` and `/categories/{slug}`
//! (content, paging with real links, 404 for unknown slugs) and `/photos` by popularity.

use crate::support::{
    library::{add_category, add_contributor, add_picture, page, tile_ids, Picture},
    spawn_app, TestApp,
};

/// `count` images by Ada in "sky", plus one by Bo in "sea".
async fn library(count: u32) -> TestApp {
    let app = spawn_app().await;
    add_contributor(&app, "ada", "Ada Quill").await;
    add_contributor(&app, "bo", "Bo Tern").await;
    add_category(&app, "sky", "Sky").await;
    add_category(&app, "sea", "Sea").await;
    for n in 0..count {
        let id = format!("ada{n:02}");
        let title = format!("Cloud study {n}");
        add_picture(
            &app,
            Picture {
                id: &id,
                title: &title,
                tags: &["cloud"],
                description: "",
                contributor: "ada",
                category: "sky",
                size: (30, 20),
                rgb: [90, 140, 220],
                // Ten seconds apart: ingest reads the clock per image, so one-second steps could
                // tie when the clock ticks between two of them.
                age: 10 * i64::from(n),
            },
        )
        .await;
    }
    add_picture(
        &app,
        Picture {
            id: "bo01",
            title: "Harbour",
            tags: &["sea"],
            description: "",
            contributor: "bo",
            category: "sea",
            size: (30, 20),
            rgb: [20, 90, 120],
            age: 5_000,
        },
    )
    .await;
    app
}

#[tokio::test]
async fn a_contributor_page_shows_who_they_are_and_pages_their_images() {
    let app = library(26).await;
    let (status, first) = page(&app, "/contributors/ada").await;
    assert_eq!(status, 200);
    assert!(first.contains("<title>Ada Quill — Atelier</title>"));
    assert!(first.contains("Ada Quill draws with light."), "the bio is shown");
    assert!(first.contains("26 images"));
    let ids = tile_ids(&first);
    assert_eq!(ids.len(), 24);
    assert!(ids.iter().all(|id| id.starts_with("ada")), "only their images: {ids:?}");
    assert_eq!(ids[0], "ada00", "newest first");
    assert!(first.contains(r#"href="/contributors/ada?page=2""#));
    let (_, second) = page(&app, "/contributors/ada?page=2").await;
    assert_eq!(tile_ids(&second).len(), 2);
    assert!(second.contains(r#"href="/contributors/ada?page=1""#), "a link back");
    app.stop().await;
}

#[tokio::test]
async fn a_category_page_lists_what_it_holds() {
    let app = library(2).await;
    let (status, html) = page(&app, "/categories/sea").await;
    assert_eq!(status, 200);
    assert!(html.contains("<title>Sea images — Atelier</title>"));
    assert!(html.contains("All about Sea."));
    assert_eq!(tile_ids(&html), ["bo01"]);
    assert!(html.contains(r#"href="/search?category=sea""#), "search within it");
    app.stop().await;
}

#[tokio::test]
async fn unknown_contributors_and_categories_are_404() {
    let app = library(1).await;
    for path in [
        "/contributors/nobody",
        "/categories/nothing",
        &format!("/contributors/{}", "x".repeat(100)),
    ] {
        let (status, html) = page(&app, path).await;
        assert_eq!(status, 404, "{path}");
        assert!(html.contains("We couldn't find that page"), "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_image_page_links_reach_real_pages() {
    let app = library(1).await;
    let (_, html) = page(&app, "/photos/ada00").await;
    for link in [r#"href="/contributors/ada""#, r#"href="/categories/sky""#] {
        assert!(html.contains(link), "{link}");
    }
    assert_eq!(page(&app, "/contributors/ada").await.0, 200);
    assert_eq!(page(&app, "/categories/sky").await.0, 200);
    app.stop().await;
}

#[tokio::test]
async fn the_library_sorts_by_downloads() {
    let app = library(3).await;
    sqlx::query("UPDATE images SET download_count = 9 WHERE public_id = 'ada02'")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE images SET download_count = 4 WHERE public_id = 'bo01'")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let (status, html) = page(&app, "/photos?sort=popular").await;
    assert_eq!(status, 200);
    assert_eq!(&tile_ids(&html)[..2], ["ada02", "bo01"]);
    assert!(html.contains("<title>Most downloaded — Atelier</title>"));
    let (_, newest) = page(&app, "/photos").await;
    assert_eq!(tile_ids(&newest)[0], "ada00");
    app.stop().await;
}
