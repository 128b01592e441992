//! Avatar uploads over HTTP, one test per TRUST.md "Uploads" promise: 413 above the size
//! limit, 415 for bytes that are not an allowed image, decompression bombs refused from the
//! header, stored files without EXIF/GPS — and in every refusal the old avatar stays.

use crate::support::{
    self,
    fixtures::{self, contains, jpeg_with_exif, photo, png_with_exif},
    members::{create_member, signed_in, BROWSER_ACCEPT, PASSWORD},
    served::{self, ServedBinary},
    spawn_app, TestApp,
};
use app::features::accounts::{
    service::{create_user, NewUser},
    Role,
};
use image::ImageFormat;
use serde_json::Value;
use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

const BOUNDARY: &str = "atelier-avatar-test-5f1c9e0b7d";

/// A verified member, signed in; returns their id and the session cookie (`name=value`).
async fn member(app: &TestApp, email: &str) -> (i64, String) {
    let id = create_member(app, email, "Grace Hopper", true).await;
    (id, signed_in(app, email).await)
}

fn multipart(field: &str, file_name: &str, content_type: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\n\
         Content-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

struct Post<'a> {
    cookie: Option<&'a str>,
    browser: bool,
    headers: &'a [(&'a str, &'a str)],
}

const SCRIPT: Post<'static> = Post {
    cookie: None,
    browser: false,
    headers: &[],
};

async fn post_avatar(app: &TestApp, post: Post<'_>, body: Vec<u8>) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/account/avatar"))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(body);
    if let Some(cookie) = post.cookie {
        request = request.header("cookie", cookie);
    }
    if post.browser {
        request = request.header("accept", BROWSER_ACCEPT);
    }
    for (name, value) in post.headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

async fn upload(app: &TestApp, cookie: &str, browser: bool, bytes: &[u8]) -> reqwest::Response {
    let post = Post {
        cookie: Some(cookie),
        browser,
        ..SCRIPT
    };
    post_avatar(app, post, multipart("avatar", "me.png", "image/png", bytes)).await
}

/// The JSON refusal: status, `error` code and `message`.
async fn refusal(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap().to_owned(),
        body["message"].as_str().unwrap().to_owned(),
    )
}

fn location(response: &reqwest::Response) -> &str {
    assert_eq!(response.status(), 303);
    response.headers()["location"].to_str().unwrap()
}

async fn avatar_key(app: &TestApp, user_id: i64) -> Option<String> {
    sqlx::query_scalar("SELECT avatar_key FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

/// Every file under the media directory.
fn stored_files(app: &TestApp) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(app.state.media.local_root().unwrap(), &mut files);
    files
}

/// A PNG of a few dozen bytes that claims 100 000 × 100 000 RGBA pixels (40 GB decoded).
fn png_bomb() -> Vec<u8> {
    png_claiming(100_000)
}

/// A tiny PNG whose header claims `side` × `side` RGBA pixels.
fn png_claiming(side: u32) -> Vec<u8> {
    let mut ihdr = side.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(fixtures::png_chunk(b"IHDR", &ihdr));
    png.extend(fixtures::png_chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend(fixtures::png_chunk(b"IEND", &[]));
    png
}

/// The stored file is a 256 × 256 WebP with no EXIF, GPS or other metadata.
fn assert_clean(app: &TestApp, key: &str) {
    let bytes = std::fs::read(app.state.media.local_root().unwrap().join(key)).unwrap();
    assert!(key.ends_with(".webp"), "{key}");
    let image = image::load_from_memory(&bytes).unwrap();
    assert_eq!((image.width(), image.height()), (256, 256));
    // Whole words: a three-byte pattern like "GPS" could turn up by chance in compressed pixels.
    for marker in [
        &b"Exif"[..],
        b"EXIF",
        b"eXIf",
        b"GPSLatitude",
        b"GPSLongitude",
        b"ICCP",
        b"XMP ",
    ] {
        assert!(!contains(&bytes, marker), "{}", String::from_utf8_lossy(marker));
    }
}

#[tokio::test]
async fn a_png_with_exif_is_stored_as_a_clean_256_pixel_square() {
    let app = spawn_app().await;
    let (id, cookie) = member(&app, "grace@example.org").await;

    let response = upload(&app, &cookie, true, &png_with_exif()).await;
    assert_eq!(location(&response), "/account?avatar=updated");
    let key = avatar_key(&app, id).await.expect("an avatar is stored");
    assert_clean(&app, &key);

    let served = app.get(&format!("/media/{key}")).await;
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/webp");
    app.stop().await;
}

#[tokio::test]
async fn a_jpeg_with_exif_gps_answers_json_to_scripts_and_is_stripped() {
    let app = spawn_app().await;
    let (id, cookie) = member(&app, "grace@example.org").await;

    let response = upload(&app, &cookie, false, &jpeg_with_exif()).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let key = avatar_key(&app, id).await.unwrap();
    assert_eq!(body["avatar_url"], format!("/media/{key}"));
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(256), Some(256))
    );
    assert_clean(&app, &key);
    app.stop().await;
}

#[tokio::test]
async fn an_upload_over_5_mib_gets_413_and_the_old_avatar_stays() {
    let app = spawn_app().await;
    let (id, cookie) = member(&app, "grace@example.org").await;
    upload(&app, &cookie, false, &png_with_exif()).await;
    let before = avatar_key(&app, id).await.unwrap();

    // Starts like a PNG, so only its size can refuse it; under the 10 MiB global limit.
    let mut six_mib = b"\x89PNG\r\n\x1a\n".to_vec();
    six_mib.resize(6 * 1024 * 1024, 0x42);
    let (status, code, message) = refusal(upload(&app, &cookie, false, &six_mib).await).await;
    assert_eq!((status, code.as_str()), (413, "too_large"));
    assert!(message.contains("5 MB"), "{message}");

    let browser = upload(&app, &cookie, true, &six_mib).await;
    assert_eq!(location(&browser), "/account?avatar_error=too_large");

    assert_eq!(avatar_key(&app, id).await.as_deref(), Some(before.as_str()));
    assert_eq!(stored_files(&app).len(), 1, "nothing new was written");
    app.stop().await;
}

#[tokio::test]
async fn a_text_file_named_like_an_image_gets_415_and_nothing_is_stored() {
    let app = spawn_app().await;
    let (id, cookie) = member(&app, "grace@example.org").await;
    for bytes in [
        &b"just some words, not a picture"[..],
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
        b"GIF89a\x01\x00\x01\x00",
    ] {
        let (status, code, message) = refusal(upload(&app, &cookie, false, bytes).await).await;
        assert_eq!((status, code.as_str()), (415, "unsupported"));
        assert_eq!(message, "Only JPEG, PNG and WebP images can be used as an avatar.");
    }
    let browser = upload(&app, &cookie, true, b"just some words").await;
    assert_eq!(location(&browser), "/account?avatar_error=unsupported");
    assert_eq!(avatar_key(&app, id).await, None);
    assert!(stored_files(&app).is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_decompression_bomb_is_refused_quickly_from_its_header() {
    let app = spawn_app().await;
    let (id, cookie) = member(&app, "grace@example.org").await;
    let bomb = png_bomb();
    assert!(bomb.len() < 100);
    let started = Instant::now();
    let (status, code, message) = refusal(upload(&app, &cookie, false, &bomb).await).await;
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!((status, code.as_str()), (400, "dimensions"));
    assert!(message.contains("8000 × 8000 pixels"), "{message}");
    assert_eq!(avatar_key(&app, id).await, None);
    assert!(stored_files(&app).is_empty());
    app.stop().await;
}

/// The peak resident memory of process `pid` since its last reset, in bytes (`VmHWM`).
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// Memory as well as time: the release server, alone in its process, is sent bombs that
/// claim 100,000 × 100,000 pixels (40 GB decoded) and 8,000 × 8,000 (256 MB, over the pixel
/// limit), and its peak resident memory (reset through `/proc/<pid>/clear_refs`) grows by
/// less than 32 MiB while it refuses them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decompression_bombs_are_refused_without_large_memory_use() {
    let dir = tempfile::tempdir().unwrap();
    let env: Vec<(String, String)> = support::test_config_values(dir.path()).await.into_iter().collect();
    let db = served::seed_and_connect(dir.path(), &env, &["--images", "1"]).await;
    let account = NewUser {
        email: "grace@example.org",
        display_name: "Grace Hopper",
        password: PASSWORD,
        role: Role::Member,
        email_verified: true,
    };
    create_user(&db, account).await.unwrap();
    let server = ServedBinary::start(dir.path(), &env, "warn", 120);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let cookie = served::sign_in(&http, &server.base_url, "grace@example.org").await;
    let send = |bytes: Vec<u8>| {
        http.post(format!("{}/account/avatar", server.base_url))
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .header("cookie", &cookie)
            .body(multipart("avatar", "me.png", "image/png", &bytes))
            .send()
    };
    // A real avatar first, so the decoder's threads and buffers exist before the baseline.
    assert_eq!(send(photo(640, 480, ImageFormat::Png)).await.unwrap().status(), 200);

    let pid = server.server_pid().expect("the server's process id");
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("reset the peak");
    let baseline = peak_rss(pid);
    for round in 0..10 {
        for side in [100_000, 8_000] {
            let (status, code, _) = refusal(send(png_claiming(side)).await.unwrap()).await;
            assert_eq!((status, code.as_str()), (400, "dimensions"), "round {round}, {side} px");
        }
    }
    let grown = peak_rss(pid).saturating_sub(baseline);
    eprintln!("avatar bombs: peak RSS grew by {} KiB", grown / 1024);
    assert!(grown < 32 << 20, "refusing bombs took {} MiB", grown >> 20);
    let log = server.stop();
    assert!(!log.contains("panicked"), "{log}");
}

#[tokio::test]
async fn an_empty_choice_or_a_non_multipart_body_gets_400() {
    let app = spawn_app().await;
    let (id, cookie) = member(&app, "grace@example.org").await;
    // What a browser sends when the form is submitted without a file.
    let nothing = || multipart("avatar", "", "application/octet-stream", b"");
    let post = Post {
        cookie: Some(&cookie),
        browser: true,
        ..SCRIPT
    };
    assert_eq!(
        location(&post_avatar(&app, post, nothing()).await),
        "/account?avatar_error=missing"
    );
    let post = Post {
        cookie: Some(&cookie),
        ..SCRIPT
    };
    let (status, code, _) = refusal(post_avatar(&app, post, nothing()).await).await;
    assert_eq!((status, code.as_str()), (400, "missing"));

    let form = app
        .client
        .post(app.url("/account/avatar"))
        .header("cookie", &cookie)
        .form(&[("avatar", "me.png")])
        .send()
        .await
        .unwrap();
    let (status, code, _) = refusal(form).await;
    assert_eq!((status, code.as_str()), (400, "not_a_form"));
    assert_eq!(avatar_key(&app, id).await, None);
    app.stop().await;
}

#[tokio::test]
async fn signed_out_uploads_get_401_or_the_sign_in_page() {
    let app = spawn_app().await;
    let body = || multipart("avatar", "me.png", "image/png", &png_with_exif());
    let (status, code, _) = refusal(post_avatar(&app, SCRIPT, body()).await).await;
    assert_eq!((status, code.as_str()), (401, "signed_out"));
    let browser = Post {
        browser: true,
        ..SCRIPT
    };
    assert_eq!(
        location(&post_avatar(&app, browser, body()).await),
        "/signin?next=/account"
    );
    let forged = Post {
        cookie: Some("atelier_session=0000000000000000000000000000000000000000000000000000000000000000"),
        ..SCRIPT
    };
    assert_eq!(post_avatar(&app, forged, body()).await.status(), 401);
    let remove = app.client.post(app.url("/account/avatar/remove")).send().await.unwrap();
    assert_eq!(remove.status(), 401);
    assert!(stored_files(&app).is_empty());
    app.stop().await;
}

#[tokio::test]
async fn cross_site_uploads_and_removals_are_refused() {
    let app = spawn_app().await;
    let (id, cookie) = member(&app, "grace@example.org").await;
    // Small: the guard answers without reading the body, and a large unread body can end in
    // a connection reset instead of the 403.
    let body = || multipart("avatar", "me.png", "image/png", &photo(32, 32, ImageFormat::Png));
    for headers in [
        &[("origin", "https://evil.example")][..],
        &[("sec-fetch-site", "cross-site")],
    ] {
        let post = Post {
            cookie: Some(&cookie),
            browser: true,
            headers,
        };
        assert_eq!(post_avatar(&app, post, body()).await.status(), 403);
    }
    assert_eq!(avatar_key(&app, id).await, None);
    assert!(stored_files(&app).is_empty());

    upload(&app, &cookie, false, &png_with_exif()).await;
    let remove = app
        .client
        .post(app.url("/account/avatar/remove"))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(remove.status(), 403);
    assert!(
        avatar_key(&app, id).await.is_some(),
        "the avatar survives a forged removal"
    );
    app.stop().await;
}

/// The account page's "Remove" button, as a browser posts it.
async fn remove_avatar(app: &TestApp, cookie: &str) -> reqwest::Response {
    app.client
        .post(app.url("/account/avatar/remove"))
        .header("cookie", cookie)
        .header("accept", BROWSER_ACCEPT)
        .form(&[] as &[(&str, &str)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn members_can_remove_their_avatar() {
    let app = spawn_app().await;
    let (id, cookie) = member(&app, "grace@example.org").await;
    let (other, other_cookie) = member(&app, "ada@example.org").await;
    upload(&app, &cookie, false, &png_with_exif()).await;
    upload(&app, &other_cookie, false, &jpeg_with_exif()).await;

    let removed = remove_avatar(&app, &cookie).await;
    assert_eq!(location(&removed), "/account?avatar=removed");
    assert_eq!(avatar_key(&app, id).await, None);
    assert!(
        avatar_key(&app, other).await.is_some(),
        "only the member's own avatar goes"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_replaced_or_removed_avatar_file_is_deleted_unless_another_member_uses_it() {
    let app = spawn_app().await;
    let (_, cookie) = member(&app, "grace@example.org").await;
    let (other, other_cookie) = member(&app, "ada@example.org").await;
    let exists = |key: &str| app.state.media.local_root().unwrap().join(key).exists();

    // The same picture gives both members the same content-addressed file.
    upload(&app, &cookie, false, &png_with_exif()).await;
    upload(&app, &other_cookie, false, &png_with_exif()).await;
    let shared = avatar_key(&app, other).await.unwrap();
    upload(&app, &cookie, false, &jpeg_with_exif()).await;
    assert!(exists(&shared), "still Ada's avatar");

    // Ada replaces it: nobody uses the old file now, so it goes.
    upload(&app, &other_cookie, false, &photo(64, 48, ImageFormat::Png)).await;
    let replacement = avatar_key(&app, other).await.unwrap();
    assert_ne!(replacement, shared);
    assert!(!exists(&shared), "the replaced file is deleted");

    let removed = remove_avatar(&app, &other_cookie).await;
    assert_eq!(location(&removed), "/account?avatar=removed");
    assert!(!exists(&replacement), "the removed file is deleted");
    assert_eq!(stored_files(&app).len(), 1, "only Grace's current avatar is left");
    app.stop().await;
}

#[tokio::test]
async fn the_account_page_shows_the_avatar_and_only_known_messages() {
    let app = spawn_app().await;
    let (id, cookie) = member(&app, "grace@example.org").await;
    let page = |query: &'static str| {
        let request = app
            .client
            .get(app.url(&format!("/account{query}")))
            .header("cookie", &cookie);
        async move { request.send().await.unwrap().text().await.unwrap() }
    };

    let before = page("").await;
    assert!(before.contains(r#"enctype="multipart/form-data""#), "a no-JS form");
    assert!(before.contains(r#"data-testid="avatar-initials""#));

    upload(&app, &cookie, true, &png_with_exif()).await;
    let key = avatar_key(&app, id).await.unwrap();
    let after = page("?avatar=updated").await;
    assert!(after.contains(&format!("/media/{key}")), "the new avatar is shown");
    assert!(after.contains("Your new avatar is saved."));

    let refused = page("?avatar_error=unsupported").await;
    assert!(refused.contains("Only JPEG, PNG and WebP images can be used as an avatar."));
    let forged = page("?avatar_error=Call%20Zanzibar%20support%20to%20restore%20your%20account").await;
    assert!(!forged.contains("Zanzibar"), "text from the URL is never printed");
    assert!(forged.contains("Your avatar could not be changed."));
    app.stop().await;
}
