//! `/search` over HTTP on SQLite (FTS5) and PostgreSQL (tsvector): relevance, prefix and
//! typo-tolerant matching, every filter and sort, pagination, marked words, the empty
//! state, and refusals of filter values that are not on offer.

use crate::support::{
    library::{add_category, add_contributor, add_picture, page, tile_ids, Picture},
    members::{error_of, post_form},
    spawn_app, TestApp,
};
use app::features::library::api::SearchImages;
use leptos::server_fn::ServerFn;

const GREEN: [u8; 3] = [20, 160, 60];
const BLUE: [u8; 3] = [30, 60, 200];
const RED: [u8; 3] = [200, 30, 30];
const ORANGE: [u8; 3] = [240, 130, 20];

/// Four images: "aurora" in a title, in a tag and in a description, and one without it.
async fn library() -> TestApp {
    let app = spawn_app().await;
    add_contributor(&app, "ada", "Ada Quill").await;
    add_contributor(&app, "bo", "Bo Tern").await;
    add_category(&app, "sky", "Sky").await;
    add_category(&app, "sea", "Sea").await;
    for picture in [
        Picture {
            id: "titleaurora",
            title: "Aurora over the ridge",
            tags: &["night"],
            description: "Green lights.",
            contributor: "ada",
            category: "sky",
            size: (60, 40),
            rgb: GREEN,
            age: 400,
        },
        Picture {
            id: "tagaurora",
            title: "Night lights",
            tags: &["aurora", "night"],
            description: "",
            contributor: "bo",
            category: "sky",
            size: (40, 60),
            rgb: BLUE,
            age: 300,
        },
        Picture {
            id: "descaurora",
            title: "Quiet bay",
            tags: &["water"],
            description: "An aurora reflected in still water.",
            contributor: "ada",
            category: "sea",
            size: (50, 50),
            rgb: RED,
            age: 200,
        },
        Picture {
            id: "sunset",
            title: "Sunset dunes",
            tags: &["desert"],
            description: "Warm sand.",
            contributor: "bo",
            category: "sea",
            size: (60, 40),
            rgb: ORANGE,
            age: 100,
        },
    ] {
        add_picture(&app, picture).await;
    }
    app
}

async fn ids(app: &TestApp, path: &str) -> Vec<String> {
    let (status, html) = page(app, path).await;
    assert_eq!(status, 200, "{path}");
    tile_ids(&html)
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test]
async fn a_title_match_ranks_above_a_tag_and_a_tag_above_the_description() {
    let app = library().await;
    assert_eq!(
        ids(&app, "/search?q=aurora").await,
        ["titleaurora", "tagaurora", "descaurora"]
    );
    let (_, html) = page(&app, "/search?q=aurora").await;
    assert!(
        html.contains("<mark>Aurora</mark>"),
        "the matched word is marked in the title"
    );
    assert!(html.contains("<title>“aurora” images — Atelier</title>"));
    app.stop().await;
}

#[tokio::test]
async fn words_match_as_prefixes_and_every_word_must_match() {
    let app = library().await;
    assert_eq!(
        sorted(ids(&app, "/search?q=auro").await),
        ["descaurora", "tagaurora", "titleaurora"]
    );
    assert_eq!(ids(&app, "/search?q=aurora+ridge").await, ["titleaurora"]);
    assert_eq!(
        ids(&app, "/search?q=Ada+quiet").await,
        ["descaurora"],
        "contributor names are searchable"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_typo_is_corrected_to_a_word_the_library_knows() {
    let app = library().await;
    let (status, html) = page(&app, "/search?q=auorra").await;
    assert_eq!(status, 200);
    assert_eq!(tile_ids(&html).len(), 3);
    assert!(
        html.contains(r#"data-testid="corrected""#),
        "the correction is announced"
    );
    assert!(html.contains("<strong>aurora</strong>"));
    app.stop().await;
}

#[tokio::test]
async fn every_filter_narrows_the_results() {
    let app = library().await;
    assert_eq!(ids(&app, "/search?q=aurora&orientation=portrait").await, ["tagaurora"]);
    assert_eq!(ids(&app, "/search?q=aurora&orientation=square").await, ["descaurora"]);
    assert_eq!(
        sorted(ids(&app, "/search?contributor=ada").await),
        ["descaurora", "titleaurora"]
    );
    assert_eq!(
        sorted(ids(&app, "/search?q=aurora&category=sky").await),
        ["tagaurora", "titleaurora"]
    );
    assert_eq!(ids(&app, "/search?color=red").await, ["descaurora"]);
    assert_eq!(ids(&app, "/search?color=orange").await, ["sunset"]);
    assert_eq!(ids(&app, "/search?color=blue&contributor=bo").await, ["tagaurora"]);
    assert!(ids(&app, "/search?q=aurora&color=orange").await.is_empty());
    // Words with several filters at once, and with a filter naming nothing that exists.
    assert_eq!(
        ids(&app, "/search?q=aurora&category=sky&contributor=bo").await,
        ["tagaurora"]
    );
    assert_eq!(
        ids(&app, "/search?q=aurora&category=sea&color=red&orientation=square").await,
        ["descaurora"]
    );
    assert!(ids(&app, "/search?q=aurora&category=sea&orientation=portrait")
        .await
        .is_empty());
    assert!(ids(&app, "/search?q=aurora&category=moon").await.is_empty());
    assert!(ids(&app, "/search?q=aurora&contributor=nobody").await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn results_sort_by_newest_or_by_downloads() {
    let app = library().await;
    for (id, downloads) in [("descaurora", 5), ("tagaurora", 3)] {
        sqlx::query("UPDATE images SET download_count = $1 WHERE public_id = $2")
            .bind(downloads)
            .bind(id)
            .execute(app.state.db.pool())
            .await
            .unwrap();
    }
    assert_eq!(
        ids(&app, "/search?q=aurora&sort=popular").await,
        ["descaurora", "tagaurora", "titleaurora"]
    );
    assert_eq!(
        ids(&app, "/search?q=aurora&sort=newest").await,
        ["descaurora", "tagaurora", "titleaurora"]
    );
    assert_eq!(
        ids(&app, "/search").await,
        ["sunset", "descaurora", "tagaurora", "titleaurora"],
        "no words: newest first"
    );
    app.stop().await;
}

/// How many search documents the index holds.
async fn documents(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM image_search")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

/// Newest first with words is the order browsing shows (the index's id order is
/// publication order), relevance ties go to the newer image, and an image's search
/// document goes with it.
#[tokio::test]
async fn newest_with_words_agrees_with_browsing() {
    let app = library().await;
    for (id, age) in [("printa", 50), ("printb", 10)] {
        add_picture(
            &app,
            Picture {
                id,
                title: "Aurora print",
                tags: &["aurora"],
                description: "An aurora.",
                contributor: "ada",
                category: "sky",
                size: (60, 40),
                rgb: GREEN,
                age,
            },
        )
        .await;
    }
    assert_eq!(
        ids(&app, "/search?q=aurora&sort=newest").await,
        ["printb", "printa", "descaurora", "tagaurora", "titleaurora"]
    );
    assert_eq!(ids(&app, "/search").await[..2], ["printb", "printa"]);
    assert_eq!(
        ids(&app, "/search?q=print").await,
        ["printb", "printa"],
        "equal relevance: the newer first"
    );
    assert_eq!(
        ids(&app, "/search?q=print&color=green&sort=newest").await,
        ["printb", "printa"]
    );
    let before = documents(&app).await;
    sqlx::query("DELETE FROM images WHERE public_id = 'printa'")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(
        documents(&app).await,
        before - 1,
        "the search document goes with the image"
    );
    assert_eq!(ids(&app, "/search?q=print").await, ["printb"]);
    app.stop().await;
}

/// The index holds public images only: hiding an image takes its document out (and so out
/// of every search, whose empty first page is then trusted to mean "nothing matched"),
/// showing it again puts it back.
#[tokio::test]
async fn hidden_images_leave_the_index() {
    let app = library().await;
    let pool = app.state.db.pool();
    let id: i64 = sqlx::query_scalar("SELECT id FROM images WHERE public_id = 'titleaurora'")
        .fetch_one(pool)
        .await
        .unwrap();
    let found = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };
    for (visibility, expected) in [
        ("hidden", vec!["descaurora", "tagaurora"]),
        ("public", vec!["descaurora", "tagaurora", "titleaurora"]),
    ] {
        sqlx::query("UPDATE images SET visibility = $1 WHERE id = $2")
            .bind(visibility)
            .bind(id)
            .execute(pool)
            .await
            .unwrap();
        let mut conn = pool.acquire().await.unwrap();
        app::features::library::search::index_image(&mut conn, app.state.db.backend(), id)
            .await
            .unwrap();
        drop(conn);
        assert_eq!(documents(&app).await, expected.len() as i64 + 1, "{visibility}");
        assert_eq!(found(ids(&app, "/search?q=aurora").await), expected, "{visibility}");
        assert_eq!(
            ids(&app, "/search?q=ridge").await.is_empty(),
            visibility == "hidden",
            "{visibility}: a word only the hidden image has"
        );
    }
    app.stop().await;
}

/// "Did you mean" tries the next nearest spelling when the nearest finds nothing under the
/// search's filters.
#[tokio::test]
async fn a_correction_that_finds_nothing_gives_way_to_the_next() {
    let app = library().await;
    for (id, title, contributor) in [("mono", "Mono print", "ada"), ("noon", "Noon glare", "bo")] {
        add_picture(
            &app,
            Picture {
                id,
                title,
                tags: &[],
                description: "",
                contributor,
                category: "sky",
                size: (40, 40),
                rgb: BLUE,
                age: 10,
            },
        )
        .await;
    }
    let corrected = |html: &str| html.contains(r#"data-testid="corrected""#);
    let (_, html) = page(&app, "/search?q=nono").await;
    assert!(corrected(&html));
    assert_eq!(
        tile_ids(&html),
        ["mono"],
        "the nearest (equally near, first in the alphabet)"
    );
    let (_, html) = page(&app, "/search?q=nono&contributor=bo").await;
    assert!(corrected(&html));
    assert_eq!(tile_ids(&html), ["noon"], "mono is not by bo: the next spelling");
    assert!(
        html.contains("<strong>noon</strong>"),
        "the page says which word it searched"
    );
    let (_, html) = page(&app, "/search?q=nono&contributor=bo&category=sea").await;
    assert!(
        !corrected(&html) && tile_ids(&html).is_empty(),
        "no spelling finds anything"
    );
    app.stop().await;
}

#[tokio::test]
async fn results_page_with_real_links() {
    let app = library().await;
    for n in 0..26 {
        let id = format!("pattern{n:02}");
        let title = format!("Pattern study {n}");
        add_picture(
            &app,
            Picture {
                id: &id,
                title: &title,
                tags: &["pattern"],
                description: "",
                contributor: "bo",
                category: "sea",
                size: (30, 20),
                rgb: BLUE,
                age: 1000 + n,
            },
        )
        .await;
    }
    let (_, first) = page(&app, "/search?q=pattern").await;
    assert_eq!(tile_ids(&first).len(), 24);
    assert!(
        first.contains(r#"href="/search?q=pattern&amp;page=2""#),
        "a link to page 2"
    );
    let (_, second) = page(&app, "/search?q=pattern&page=2").await;
    assert_eq!(tile_ids(&second).len(), 2);
    assert!(second.contains(r#"href="/search?q=pattern""#), "a link back to page 1");
    let all: std::collections::HashSet<_> = tile_ids(&first).into_iter().chain(tile_ids(&second)).collect();
    assert_eq!(all.len(), 26, "no image on two pages");
    app.stop().await;
}

#[tokio::test]
async fn nothing_found_offers_a_way_on() {
    let app = library().await;
    let (status, html) = page(&app, "/search?q=zzzzqqq").await;
    assert_eq!(status, 200);
    assert!(tile_ids(&html).is_empty());
    assert!(html.contains("No images match"));
    assert!(html.contains(r#"href="/categories/sky""#), "categories are suggested");
    let (_, filtered) = page(&app, "/search?q=aurora&color=orange").await;
    assert!(filtered.contains("Search without filters"));
    app.stop().await;
}

#[tokio::test]
async fn filter_values_not_on_offer_are_refused_by_name() {
    let app = library().await;
    for (field, value) in [
        ("orientation", "diagonal"),
        ("color", "octarine"),
        ("sort", "random"),
        ("contributor", "Not A Slug"),
    ] {
        let name = format!("filters[{field}]");
        let response = post_form(
            &app,
            SearchImages::PATH,
            None,
            &[(name.as_str(), value), ("filters[page]", "1")],
        )
        .await;
        let error = error_of(response).await;
        assert!(error.for_field(field).is_some(), "{field}: {error:?}");
    }
    let long = "a".repeat(101);
    let error = error_of(
        post_form(
            &app,
            SearchImages::PATH,
            None,
            &[("filters[q]", &long), ("filters[page]", "1")],
        )
        .await,
    )
    .await;
    assert!(error.for_field("q").is_some());
    let (status, html) = page(&app, "/search?q=aurora&color=octarine").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Choose one of the colours listed."),
        "the page says what is wrong"
    );
    app.stop().await;
}

/// `($1, $2, …), (…)` for `rows` rows of `columns` values each.
fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| {
            let values: Vec<String> = (1..=columns).map(|c| format!("${}", row * columns + c)).collect();
            format!("({})", values.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test]
async fn a_word_matching_more_than_the_ranked_window_ranks_its_newest_matches_first() {
    use app::features::library::search::{catch_up, RANKED_WINDOW};
    let app = spawn_app().await;
    add_contributor(&app, "ada", "Ada Quill").await;
    let db = &app.state.db;
    let contributor: i64 = sqlx::query_scalar("SELECT id FROM contributors WHERE slug = 'ada'")
        .fetch_one(db.pool())
        .await
        .unwrap();
    // Rows are inserted oldest first, so ids rise with age. The 30 oldest have the word
    // in their titles (the best score) but lie outside the window of the newest matches;
    // inside it, one newer image has it in its title and the rest in their descriptions.
    let total = RANKED_WINDOW + 30;
    let inside = total - 100;
    let rows: Vec<(String, String)> = (0..total)
        .map(|n| {
            let title = if n < 30 || n == inside {
                format!("Zephyr plate {n}")
            } else {
                format!("Study plate {n}")
            };
            (format!("w{n:05}"), title)
        })
        .collect();
    for chunk in rows.chunks(500) {
        let sql = format!(
            "INSERT INTO images (public_id, title, description, alt_text, prompt, contributor_id, width, height, \
             orientation, dominant_color, color_family, blurhash, created_at, updated_at) VALUES {}",
            placeholders(chunk.len(), 14)
        );
        let mut insert = sqlx::query(&sql);
        for (public_id, title) in chunk {
            insert = insert
                .bind(public_id.clone())
                .bind(title.clone())
                .bind("A zephyr study.")
                .bind(title.clone())
                .bind("")
                .bind(contributor)
                .bind(30_i64)
                .bind(20_i64)
                .bind("landscape")
                .bind("#203040")
                .bind("blue")
                .bind("LEHV6nWB2yk8pyo0adR*.7kCMdnj")
                .bind(1_000_i64)
                .bind(1_000_i64);
        }
        insert.execute(db.pool()).await.unwrap();
    }
    catch_up(db).await.unwrap();

    let first = ids(&app, "/search?q=zephyr").await;
    assert_eq!(first.len(), 24);
    assert_eq!(
        first[0],
        format!("w{inside:05}"),
        "the title match inside the window leads"
    );
    assert!(
        first.iter().all(|id| id.as_str() >= "w00030"),
        "older matches wait until the window's are listed: {first:?}"
    );
    // The window holds RANKED_WINDOW public matches; the page that crosses its end lists
    // the last of them, then the older matches, newest first.
    let crossing = RANKED_WINDOW / 24 + 1;
    let listed = ids(&app, &format!("/search?q=zephyr&page={crossing}")).await;
    let in_window = (RANKED_WINDOW % 24) as usize;
    let older: Vec<String> = (0..30).rev().take(24 - in_window).map(|n| format!("w{n:05}")).collect();
    assert_eq!(listed[in_window..], older[..]);

    // Images indexed in bulk carry the same filter tokens as images indexed one by one.
    let filtered = ids(
        &app,
        "/search?q=zephyr&orientation=landscape&contributor=ada&color=blue",
    )
    .await;
    assert_eq!(filtered, first, "every image passes these filters");
    assert!(ids(&app, "/search?q=zephyr&orientation=portrait").await.is_empty());
    assert!(ids(&app, "/search?q=zephyr&color=red&contributor=ada").await.is_empty());
    app.stop().await;
}
