//! Media storage on an S3-compatible bucket (a local fake speaking the S3 REST protocol to
//! the app's real `object_store` client), on SQLite and PostgreSQL: the variant pipeline
//! writes there and nothing to local disk, `/img`, `/dl` and `/media` serve from it with the
//! same headers, ranges and 304s as on disk, staged uploads round-trip and stay private,
//! and a failing bucket gets a clear 503 after a few quick retries, not a hung request.

use crate::support::{fake_s3::FakeS3, spawn_app, spawn_app_with, TestApp};
use app::{features::library::api::DownloadLink, platform::media::MediaStore};
use leptos::server_fn::ServerFn;

async fn spawn_on_s3(s3: &FakeS3) -> TestApp {
    let env = s3.env();
    spawn_app_with(move |values| values.extend(env), server::jobs::registry()).await
}

async fn first_image(app: &TestApp) -> String {
    sqlx::query_scalar("SELECT public_id FROM images ORDER BY id LIMIT 1")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

async fn storage_key(app: &TestApp, variant: &str) -> String {
    sqlx::query_scalar("SELECT storage_key FROM image_files WHERE variant = $1 ORDER BY image_id LIMIT 1")
        .bind(variant)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| {
            if entry.path().is_dir() {
                files_under(&entry.path())
            } else {
                1
            }
        })
        .sum()
}

#[tokio::test]
async fn the_pipeline_writes_to_the_bucket_and_images_are_served_from_it() {
    let s3 = FakeS3::start().await;
    let app = spawn_on_s3(&s3).await;
    assert!(app.state.media.local_root().is_none());
    app.seed(1).await;
    let id = first_image(&app).await;

    let keys = s3.keys();
    assert_eq!(keys.len(), 4, "original, full, small and thumb: {keys:?}");
    assert!(keys.iter().all(|key| MediaStore::is_public_key(key)), "{keys:?}");
    assert_eq!(files_under(&app.dir.path().join("media")), 0, "nothing on local disk");

    let key = storage_key(&app, "small").await;
    let stored = s3.object(&key).expect("the small variant is in the bucket");
    let html = app.get(&format!("/photos/{id}")).await.text().await.unwrap();
    let marker = format!("/img/{id}/small?v=");
    let start = html.find(&marker).expect("the page links the small variant");
    let url = html[start..start + html[start..].find([' ', '"', ',']).unwrap()].replace("&amp;", "&");

    let response = app.get(&url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/webp");
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(response.headers()["accept-ranges"], "bytes");
    assert_eq!(response.headers()["content-length"], stored.len().to_string().as_str());
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(response.bytes().await.unwrap(), stored);

    let revalidated = app
        .client
        .get(app.url(&url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);

    let part = app
        .client
        .get(app.url(&url))
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 10-19/{}", stored.len()).as_str()
    );
    assert_eq!(part.bytes().await.unwrap(), stored.slice(10..20));

    let tail = app
        .client
        .get(app.url(&url))
        .header("range", "bytes=-5")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), 206);
    assert_eq!(tail.bytes().await.unwrap(), stored.slice(stored.len() - 5..));

    let beyond = app
        .client
        .get(app.url(&url))
        .header("range", format!("bytes={}-", stored.len() + 10))
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), 416);
    assert_eq!(
        beyond.headers()["content-range"],
        format!("bytes */{}", stored.len()).as_str()
    );

    let head = app.client.head(app.url(&url)).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], stored.len().to_string().as_str());
    assert!(head.bytes().await.unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn signed_downloads_come_from_the_bucket() {
    let s3 = FakeS3::start().await;
    let app = spawn_on_s3(&s3).await;
    app.seed(1).await;
    let id = first_image(&app).await;
    let link: String = app
        .client
        .post(app.url(DownloadLink::PATH))
        .form(&[("public_id", id.as_str()), ("size", "original")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let download = app.get(&link).await;
    assert_eq!(download.status(), 200);
    assert!(download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\""));
    let original = s3.object(&storage_key(&app, "original").await).unwrap();
    assert_eq!(download.bytes().await.unwrap(), original);
    app.stop().await;
}

#[tokio::test]
async fn media_keys_are_served_from_the_bucket_and_staged_uploads_never_are() {
    let s3 = FakeS3::start().await;
    let app = spawn_on_s3(&s3).await;
    let key = app
        .state
        .media
        .put(b"RIFF fake avatar".to_vec().into(), "webp")
        .await
        .unwrap();
    assert_eq!(s3.object(&key).as_deref(), Some(&b"RIFF fake avatar"[..]));
    let again = app
        .state
        .media
        .put(b"RIFF fake avatar".to_vec().into(), "webp")
        .await
        .unwrap();
    assert_eq!(again, key);
    let puts = s3.requests().iter().filter(|r| r.starts_with("PUT ")).count();
    assert_eq!(puts, 1, "bytes already stored are not sent again");

    let response = app.get(&MediaStore::url_for(&key)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/webp");
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(response.bytes().await.unwrap(), &b"RIFF fake avatar"[..]);
    let revalidated = app
        .client
        .get(app.url(&MediaStore::url_for(&key)))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);

    let staged = app
        .state
        .media
        .stage(b"upload with EXIF".to_vec().into())
        .await
        .unwrap();
    assert!(s3.object(&staged).is_some());
    assert_eq!(
        app.get(&MediaStore::url_for(&staged)).await.status(),
        404,
        "staged uploads are private"
    );
    assert_eq!(
        &app.state.media.read_staged(&staged).await.unwrap()[..],
        b"upload with EXIF"
    );
    app.state.media.remove_staged(&staged).await.unwrap();
    assert!(s3.object(&staged).is_none());
    app.state.media.remove_staged(&staged).await.unwrap();

    for missing in ["/media/ab/cd/nothing.webp", "/media/../secret.key", "/media/secret.key"] {
        assert_eq!(app.get(missing).await.status(), 404, "{missing}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_failing_bucket_gets_a_clear_503_not_a_hung_request() {
    let s3 = FakeS3::start().await;
    let app = spawn_on_s3(&s3).await;
    app.seed(1).await;
    let id = first_image(&app).await;
    s3.fail();
    let started = std::time::Instant::now();
    let response = app.get(&format!("/img/{id}/thumb")).await;
    assert_eq!(response.status(), 503);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Media storage is not answering"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    app.stop().await;
}

#[tokio::test]
async fn staged_uploads_on_local_disk_are_not_served_either() {
    let app = spawn_app().await;
    let staged = app
        .state
        .media
        .stage(b"upload with EXIF".to_vec().into())
        .await
        .unwrap();
    let root = app.state.media.local_root().unwrap().to_owned();
    assert!(root.join(&staged).exists());
    assert_eq!(app.get(&MediaStore::url_for(&staged)).await.status(), 404);
    let key = app
        .state
        .media
        .put(b"RIFF fake avatar".to_vec().into(), "webp")
        .await
        .unwrap();
    let response = app.get(&MediaStore::url_for(&key)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    app.stop().await;
}
