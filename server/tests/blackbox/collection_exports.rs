//! Collection exports over HTTP: the zip holds exactly the collection's images in its
//! order (and the originals when asked) with a manifest that describes each file; only the
//! owner starts, sees and downloads one; one is made at a time; the link stops working
//! when the export expires; a bucket receives it as a multipart upload; a failure says so.

use crate::{
    collections::{add, create, fields, futures_join_all, library, member, owned_post},
    support::{
        fake_s3::FakeS3,
        members::{error_of, location, post_form},
        spawn_app, spawn_app_with, zip_entry, TestApp,
    },
};
use app::{
    error::AppError,
    features::{
        collections::{
            api::{CollectionExports, DeleteCollection, ExportCollection, MoveCollectionItem},
            export::{self, CollectionExportJob},
            CollectionExport, ExportStatus, EXPORT_LIFETIME_SECONDS,
        },
        library::LICENCE_NAME,
    },
    platform::{
        clock::now_unix,
        jobs::{ClaimedJob, JobHandler},
    },
};
use leptos::server_fn::ServerFn;
use rsa::sha2::{Digest, Sha256};
use serde_json::Value;
use sqlx::Row;

async fn start_export(app: &TestApp, cookie: &str, slug: &str, variant: &str, originals: bool) -> reqwest::Response {
    let mut form = vec![("slug", slug), ("variant", variant)];
    if originals {
        form.push(("originals", "true"));
    }
    post_form(app, ExportCollection::PATH, Some(cookie), &form).await
}

async fn exports(app: &TestApp, cookie: &str, slug: &str) -> Vec<CollectionExport> {
    let response = post_form(app, CollectionExports::PATH, Some(cookie), &[("slug", slug)]).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Waits (up to 30 s) for the latest export to finish, noting the progress seen on the way.
async fn finished(app: &TestApp, cookie: &str, slug: &str) -> (CollectionExport, Vec<u8>) {
    let mut seen = Vec::new();
    for _ in 0..300 {
        let latest = exports(app, cookie, slug).await.remove(0);
        if !seen.contains(&latest.progress) {
            seen.push(latest.progress);
        }
        if !latest.status.in_progress() {
            return (latest, seen);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the export did not finish in 30 s (progress seen: {seen:?})");
}

/// The stored bytes of one image's variant.
async fn stored(app: &TestApp, public_id: &str, variant: &str) -> Vec<u8> {
    let key: String = sqlx::query(
        "SELECT f.storage_key FROM image_files f JOIN images i ON i.id = f.image_id WHERE i.public_id = $1 AND f.variant = $2",
    )
    .bind(public_id)
    .bind(variant)
    .fetch_one(app.state.db.pool())
    .await
    .unwrap()
    .get(0);
    app.state.media.read(&key).await.unwrap().to_vec()
}

#[tokio::test]
async fn the_zip_holds_exactly_the_collections_images_and_a_manifest_that_describes_them() {
    let app = spawn_app().await;
    library(&app).await;
    let owner = member(&app, "owner@example.com").await;
    let other = member(&app, "other@example.com").await;
    let slug = create(&app, &owner, "Blue hours", "public").await;
    // Saved fourth, third, first: newest first, so the order is first, third, fourth …
    for image in ["fourth", "third", "first"] {
        assert_eq!(add(&app, &owner, &slug, image).await.status(), 200);
    }
    // … and then the member moves "fourth" to the front.
    let moved = post_form(
        &app,
        MoveCollectionItem::PATH,
        Some(&owner),
        &[("slug", &slug), ("public_id", "fourth"), ("to_index", "0")],
    )
    .await;
    assert_eq!(moved.status(), 200);
    // An image in another collection stays out of this one's zip.
    let elsewhere = create(&app, &owner, "Elsewhere", "private").await;
    assert_eq!(add(&app, &owner, &elsewhere, "second").await.status(), 200);

    let started = start_export(&app, &owner, &slug, "small", true).await;
    assert_eq!(started.status(), 200, "{:?}", started.text().await);
    let started: CollectionExport = started.json().await.unwrap();
    assert_eq!((started.variant.as_str(), started.with_originals), ("small", true));
    assert!(started.status.in_progress());
    assert!(started.download_href.is_none());

    let (ready, progress_seen) = finished(&app, &owner, &slug).await;
    assert_eq!(ready.status, ExportStatus::Ready, "{ready:?}");
    assert_eq!((ready.progress, ready.item_count), (100, Some(3)));
    assert!(progress_seen.contains(&100), "{progress_seen:?}");
    let expires_at = ready.expires_at.expect("a ready export expires");
    assert!((expires_at - now_unix() - EXPORT_LIFETIME_SECONDS).abs() < 60);
    let href = ready.download_href.clone().expect("a download link");

    let response = app.get_as(&href, Some(&owner)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    assert_eq!(response.headers()["cache-control"], "private, no-store");
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(
        disposition.starts_with(&format!("attachment; filename=\"{slug}-")) && disposition.ends_with(".zip\""),
        "{disposition}"
    );
    let bytes = response.bytes().await.unwrap().to_vec();
    assert_eq!(Some(bytes.len() as u64), ready.size_bytes);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a valid zip");
    let names: Vec<String> = (0..archive.len())
        .map(|index| archive.by_index(index).unwrap().name().unwrap().into_owned())
        .collect();
    let manifest: Value = serde_json::from_slice(&zip_entry(&mut archive, "manifest.json")).unwrap();

    assert_eq!(manifest["format"], export::FORMAT);
    assert_eq!(manifest["collection"]["name"], "Blue hours");
    assert_eq!(manifest["collection"]["public"], true);
    assert_eq!(manifest["collection"]["images"], 3);
    assert!(manifest["collection"]["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/collections/{slug}")));
    assert_eq!(manifest["size"]["variant"], "small");
    assert_eq!(manifest["originals"], true);
    assert_eq!(manifest["licence"]["name"], LICENCE_NAME);
    assert!(manifest["licence"]["url"].as_str().unwrap().ends_with("/terms#licence"));
    let items = manifest["items"].as_array().unwrap();
    let order: Vec<&str> = items.iter().map(|item| item["id"].as_str().unwrap()).collect();
    assert_eq!(order, ["fourth", "first", "third"], "the collection's own order");

    let mut listed_paths = vec!["manifest.json".to_owned()];
    for (index, item) in items.iter().enumerate() {
        let id = item["id"].as_str().unwrap();
        assert_eq!(item["position"], index + 1);
        assert_eq!(item["title"], format!("Picture {id}"));
        assert_eq!(item["alt_text"], format!("Picture {id} (test image)"));
        assert_eq!(item["contributor"]["name"], "Ada Quill");
        assert!(item["contributor"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/contributors/ada"));
        assert_eq!(item["tags"], serde_json::json!(["test"]));
        assert_eq!(item["licence"], LICENCE_NAME);
        let files = item["files"].as_array().unwrap();
        assert_eq!(files.len(), 2, "the chosen size and the original: {files:?}");
        for (file, variant, folder) in [(&files[0], "small", "images/"), (&files[1], "original", "originals/")] {
            let path = file["path"].as_str().unwrap();
            assert!(
                path.starts_with(&format!("{folder}{}-picture-{id}.", index + 1)),
                "{path}"
            );
            assert_eq!(file["size"], variant);
            let in_zip = zip_entry(&mut archive, path);
            assert_eq!(
                in_zip,
                stored(&app, id, variant).await,
                "{path} is the stored {variant} file"
            );
            assert_eq!(file["bytes"], in_zip.len());
            assert_eq!(file["sha256"], hex(&Sha256::digest(&in_zip)), "{path}");
            listed_paths.push(path.to_owned());
        }
    }
    let mut names_sorted = names.clone();
    names_sorted.sort();
    listed_paths.sort();
    assert_eq!(
        names_sorted, listed_paths,
        "exactly the manifest and the files it lists"
    );
    assert_eq!(names[0], "manifest.json", "the manifest comes first");

    // Only the owner downloads it: another member and a visitor are turned away.
    let foreign = app.get_as(&href, Some(&other)).await;
    assert_eq!(foreign.status(), 303);
    assert!(
        location(&foreign).contains("export=unavailable"),
        "{}",
        location(&foreign)
    );
    let visitor = app.get_as(&href, None).await;
    assert!(location(&visitor).starts_with("/signin"), "{}", location(&visitor));
    let guessed = app
        .get_as(&format!("/collections/{slug}/exports/999999"), Some(&owner))
        .await;
    assert!(location(&guessed).contains("export=unavailable"));
    let wrong_collection = app.get_as(&href.replace(&slug, &elsewhere), Some(&owner)).await;
    assert!(location(&wrong_collection).contains("export=unavailable"));
    let mangled = app
        .get_as(&format!("/collections/a%0Ab/exports/{}", ready.id), Some(&owner))
        .await;
    assert_eq!(mangled.status(), 303, "a slug no collection has is refused, not echoed");
    // The collection page explains the dead link.
    let page = app
        .page_with_cookie(&format!("/collections/{slug}?export=unavailable"), &owner)
        .await;
    assert!(page.contains(r#"data-testid="export-unavailable""#));
    assert!(
        page.contains(r#"data-testid="download-collection-export""#),
        "the owner's page lists the zip"
    );

    // A day later the maintenance loop deletes the zip and the link stops working.
    let key: String = sqlx::query_scalar("SELECT file_key FROM collection_exports WHERE id = $1")
        .bind(ready.id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(
        export::purge_expired(&app.state.db, &app.state.media, now_unix())
            .await
            .unwrap(),
        0,
        "nothing expires early"
    );
    let purged = export::purge_expired(&app.state.db, &app.state.media, expires_at)
        .await
        .unwrap();
    assert_eq!(purged, 1);
    assert!(app.state.media.read(&key).await.is_err(), "the zip is deleted");
    let expired = exports(&app, &owner, &slug).await.remove(0);
    assert_eq!((expired.status, expired.download_href), (ExportStatus::Expired, None));
    let late = app.get_as(&href, Some(&owner)).await;
    assert!(location(&late).contains("export=unavailable"));
    app.stop().await;
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A claimed export job, run by the test itself (the app has no workers).
async fn run_export_job(app: &TestApp) -> Result<(), app::platform::jobs::JobError> {
    let claimed: ClaimedJob = app
        .state
        .jobs
        .claim("test", &[export::EXPORT_JOB])
        .await
        .unwrap()
        .expect("an export job is queued");
    job(app).run(&claimed).await
}

fn job(app: &TestApp) -> CollectionExportJob {
    CollectionExportJob {
        db: app.state.db.clone(),
        media: app.state.media.clone(),
        config: app.state.config.clone(),
    }
}

#[tokio::test]
async fn only_owners_export_one_at_a_time_and_refusals_say_why() {
    let app = spawn_app_with(
        |values| {
            values.insert("ATELIER_JOB_WORKERS".into(), "0".into());
        },
        server::jobs::registry(),
    )
    .await;
    library(&app).await;
    let owner = member(&app, "owner@example.com").await;
    let other = member(&app, "other@example.com").await;
    let public = create(&app, &owner, "Shown", "public").await;
    let private = create(&app, &owner, "Hidden", "private").await;
    let empty = create(&app, &owner, "Empty", "private").await;
    for slug in [&public, &private] {
        assert_eq!(add(&app, &owner, slug, "first").await.status(), 200);
    }

    assert_eq!(
        error_of(start_export(&app, &other, &public, "full", false).await).await,
        AppError::Forbidden
    );
    assert_eq!(
        error_of(start_export(&app, &other, &private, "full", false).await).await,
        AppError::NotFound
    );
    let signed_out = post_form(
        &app,
        ExportCollection::PATH,
        None,
        &[("slug", &public), ("variant", "full")],
    )
    .await;
    assert_eq!(error_of(signed_out).await, AppError::Unauthorized);
    let listed = post_form(&app, CollectionExports::PATH, Some(&other), &[("slug", &public)]).await;
    assert_eq!(error_of(listed).await, AppError::Forbidden, "nor see its exports");
    match error_of(start_export(&app, &owner, &public, "huge", false).await).await {
        AppError::Field { field, .. } => assert_eq!(field, "variant"),
        other => panic!("expected a field error, got {other:?}"),
    }
    match error_of(start_export(&app, &owner, &empty, "full", false).await).await {
        AppError::Invalid(message) => assert!(message.contains("no images"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // A zip past the size limit is refused before any work, with a way out.
    let grow = |by: i64| {
        sqlx::query("UPDATE image_files SET byte_size = byte_size + $1 WHERE variant = 'original'")
            .bind(by)
            .execute(app.state.db.pool())
    };
    grow(export::MAX_EXPORT_BYTES).await.unwrap();
    match error_of(start_export(&app, &owner, &public, "small", true).await).await {
        AppError::Invalid(message) => assert!(
            message.contains("at most 4 GB") && message.contains("leave out the originals"),
            "{message}"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    grow(-export::MAX_EXPORT_BYTES).await.unwrap();
    assert_eq!(crate::support::count_rows(&app, "collection_exports").await, 0);

    // Six at once, across two collections: exactly one starts; the rest are told why.
    let attempts = (0..6).map(|n| {
        let slug = if n % 2 == 0 { &public } else { &private };
        let form = fields(&[("slug", slug), ("variant", "full")]);
        owned_post(&app, ExportCollection::PATH, &owner, None, form)
    });
    let mut started = 0;
    for response in futures_join_all(attempts).await {
        if response.status() == 200 {
            started += 1;
        } else {
            match error_of(response).await {
                AppError::Invalid(message) => assert!(message.contains("still being made"), "{message}"),
                other => panic!("expected a refusal, got {other:?}"),
            }
        }
    }
    assert_eq!(started, 1);
    assert_eq!(crate::support::count_rows(&app, "collection_exports").await, 1);
    run_export_job(&app).await.unwrap();

    // Finished, another may start; an export of a collection deleted meanwhile fails and says so.
    assert_eq!(
        start_export(&app, &owner, &private, "original", true).await.status(),
        200
    );
    let deleted = post_form(&app, DeleteCollection::PATH, Some(&owner), &[("slug", &private)]).await;
    assert_eq!(deleted.status(), 200);
    assert!(run_export_job(&app).await.is_err());
    let failed: (String, Option<String>, i64) =
        sqlx::query_as("SELECT status, error, with_originals FROM collection_exports ORDER BY id DESC LIMIT 1")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(failed.0, "failed");
    assert!(failed.1.unwrap().contains("deleted"));
    assert_eq!(
        failed.2, 0,
        "the originals are not asked for twice when they are the size chosen"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_bucket_receives_the_zip_as_a_multipart_upload_and_a_storage_failure_is_reported() {
    let s3 = FakeS3::start().await;
    let app = spawn_app_with(
        |values| {
            values.extend(s3.env());
            values.insert("ATELIER_JOB_WORKERS".into(), "0".into());
        },
        server::jobs::registry(),
    )
    .await;
    library(&app).await;
    let owner = member(&app, "owner@example.com").await;
    let slug = create(&app, &owner, "In the bucket", "private").await;
    for image in ["first", "second"] {
        assert_eq!(add(&app, &owner, &slug, image).await.status(), 200);
    }
    assert_eq!(start_export(&app, &owner, &slug, "full", false).await.status(), 200);
    run_export_job(&app).await.unwrap();
    assert_eq!(s3.multipart_uploads(), (1, 0), "one upload, completed, none left open");
    let ready = exports(&app, &owner, &slug).await.remove(0);
    assert_eq!(ready.status, ExportStatus::Ready);
    let response = app.get_as(ready.download_href.as_deref().unwrap(), Some(&owner)).await;
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a valid zip from the bucket");
    assert_eq!(archive.len(), 3, "the manifest and two images");
    let manifest: Value = serde_json::from_slice(&zip_entry(&mut archive, "manifest.json")).unwrap();
    assert_eq!(manifest["items"].as_array().unwrap().len(), 2);

    // The bucket fails: the last attempt marks the export failed with a message to act on.
    assert_eq!(start_export(&app, &owner, &slug, "small", false).await.status(), 200);
    s3.fail();
    sqlx::query("UPDATE jobs SET attempts = max_attempts - 1 WHERE kind = $1 AND status = 'queued'")
        .bind(export::EXPORT_JOB)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    assert!(run_export_job(&app).await.is_err());
    let failed = exports(&app, &owner, &slug).await.remove(0);
    assert_eq!(failed.status, ExportStatus::Failed);
    assert!(failed.error.unwrap().contains("try again"));
    app.stop().await;
}
