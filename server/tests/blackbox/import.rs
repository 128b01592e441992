//! `server import`: a folder with a JSON or CSV sidecar goes through the variant pipeline —
//! three lossy WebP sizes that are never upscaled, the original without its metadata —
//! and a sidecar with any bad row imports nothing and names every problem. Runs on SQLite
//! and PostgreSQL like the rest of the suite.

use crate::support::{
    command::{as_refs, database_env, server},
    fixtures::{contains, jpeg_with_exif, photo, png_chunk},
};
use app::platform::db::Database;
use image::ImageFormat;
use std::path::Path;

/// A test database with one contributor and one category, as the import expects.
async fn library(env: &[(String, String)]) -> Database {
    let url = &env.iter().find(|(k, _)| k == "DATABASE_URL").unwrap().1;
    let db = Database::connect(url, 2).await.unwrap();
    db.migrate().await.unwrap();
    sqlx::query(
        "INSERT INTO contributors (slug, name, bio, style, accent_color, created_at) \
         VALUES ('mira-solen', 'Mira Solen', 'Deserts.', 'Landscape', '#c2410c', 0)",
    )
    .execute(db.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO categories (slug, name, description, created_at) VALUES ('landscapes', 'Landscapes', 'Far views.', 0)",
    )
    .execute(db.pool())
    .await
    .unwrap();
    db
}

/// A large PNG carrying a text chunk (a tool's note) in front of its pixels.
fn png_with_text(width: u32, height: u32) -> Vec<u8> {
    let png = photo(width, height, ImageFormat::Png);
    let mut tagged = png[..33].to_vec();
    tagged.extend(png_chunk(b"tEXt", b"Comment\x00made at 51.5074 N, secret studio"));
    tagged.extend_from_slice(&png[33..]);
    tagged
}

struct StoredFile {
    variant: String,
    key: String,
    content_type: String,
    width: i64,
    height: i64,
}

async fn files_of(db: &Database, title: &str) -> Vec<StoredFile> {
    let rows: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT f.variant, f.storage_key, f.content_type, f.width, f.height FROM image_files f \
         JOIN images i ON i.id = f.image_id WHERE i.title = $1 ORDER BY f.width DESC, f.variant",
    )
    .bind(title)
    .fetch_all(db.pool())
    .await
    .unwrap();
    rows.into_iter()
        .map(|(variant, key, content_type, width, height)| StoredFile {
            variant,
            key,
            content_type,
            width,
            height,
        })
        .collect()
}

fn size_of(files: &[StoredFile], variant: &str) -> (i64, i64) {
    let file = files.iter().find(|f| f.variant == variant).unwrap();
    (file.width, file.height)
}

fn staged_files(media: &Path) -> usize {
    std::fs::read_dir(media.join("staging")).map(|d| d.count()).unwrap_or(0)
}

#[tokio::test]
async fn a_json_sidecar_imports_sizes_that_never_grow_and_originals_without_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let env = database_env(dir.path()).await;
    let db = library(&env).await;
    let folder = dir.path().join("incoming");
    std::fs::create_dir_all(folder.join("dunes")).unwrap();
    std::fs::write(folder.join("dunes/large.png"), png_with_text(2400, 1600)).unwrap();
    std::fs::write(folder.join("portrait.jpg"), jpeg_with_exif()).unwrap();
    std::fs::write(
        folder.join("images.json"),
        r#"[
          {"file": "dunes/large.png", "title": "Dunes at dusk", "alt_text": "Orange dunes under a violet sky",
           "contributor": "mira-solen", "category": "landscapes", "tags": ["Desert", "dusk", "desert"],
           "prompt": "dunes, dusk, wide"},
          {"file": "portrait.jpg", "title": "A small portrait", "alt_text": "A gradient in portrait format",
           "contributor": "mira-solen"}
        ]"#,
    )
    .unwrap();

    let output = server(dir.path(), &as_refs(&env), &["import", "incoming"], None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("imported 2 images"));
    assert!(stderr.contains("2/2 processed"), "progress is shown: {stderr}");

    let media = dir.path().join("media");
    let large = files_of(&db, "Dunes at dusk").await;
    assert_eq!(large.len(), 4);
    assert_eq!(size_of(&large, "full"), (2000, 1333));
    assert_eq!(size_of(&large, "small"), (800, 533));
    assert_eq!(size_of(&large, "thumb"), (400, 267));
    assert_eq!(size_of(&large, "original"), (2400, 1600));
    for file in &large {
        let bytes = std::fs::read(media.join(&file.key)).unwrap();
        if file.variant == "original" {
            assert_eq!(file.content_type, "image/png");
            assert!(!contains(&bytes, b"secret studio"), "the text chunk is gone");
            assert_eq!(image::load_from_memory(&bytes).unwrap().width(), 2400);
        } else {
            assert_eq!(file.content_type, "image/webp");
            assert!(file.key.ends_with(".webp"));
            assert_eq!(&bytes[8..16], b"WEBPVP8 ", "lossy WebP");
        }
    }

    let small = files_of(&db, "A small portrait").await;
    assert_eq!(size_of(&small, "original"), (500, 700));
    assert_eq!(size_of(&small, "full"), (500, 700), "never upscaled");
    assert_eq!(size_of(&small, "small"), (500, 700), "never upscaled");
    assert_eq!(size_of(&small, "thumb"), (400, 560));
    let original = small.iter().find(|f| f.variant == "original").unwrap();
    assert_eq!(original.content_type, "image/jpeg");
    let bytes = std::fs::read(media.join(&original.key)).unwrap();
    for marker in [&b"Exif"[..], b"GPSLatitude", b"GPSLongitude"] {
        assert!(!contains(&bytes, marker), "{}", String::from_utf8_lossy(marker));
    }

    let (orientation, blurhash, colour, category): (String, String, String, Option<i64>) = sqlx::query_as(
        "SELECT orientation, blurhash, dominant_color, category_id FROM images WHERE title = 'Dunes at dusk'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(orientation, "landscape");
    assert_eq!(blurhash.len(), 28);
    assert!(colour.starts_with('#') && colour.len() == 7);
    assert!(category.is_some());
    let tags: Vec<String> = sqlx::query_scalar(
        "SELECT t.tag FROM image_tags t JOIN images i ON i.id = t.image_id WHERE i.title = 'Dunes at dusk' ORDER BY t.tag",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert_eq!(tags, ["desert", "dusk"]);
    assert_eq!(staged_files(&media), 0, "staged uploads are removed once processed");
}

#[tokio::test]
async fn a_csv_sidecar_works_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let env = database_env(dir.path()).await;
    let db = library(&env).await;
    let folder = dir.path().join("batch");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("a.png"), photo(900, 900, ImageFormat::Png)).unwrap();
    std::fs::write(
        folder.join("list.csv"),
        "file,title,alt_text,contributor,tags,category\na.png,Square study,A square gradient,mira-solen,study;square,landscapes\n",
    )
    .unwrap();
    let output = server(
        dir.path(),
        &as_refs(&env),
        &["import", "batch", "--sidecar", "batch/list.csv"],
        None,
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let files = files_of(&db, "Square study").await;
    assert_eq!(size_of(&files, "small"), (800, 800));
    let orientation: String = sqlx::query_scalar("SELECT orientation FROM images WHERE title = 'Square study'")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(orientation, "square");
}

#[tokio::test]
async fn a_sidecar_with_bad_rows_imports_nothing_and_names_each_problem() {
    let dir = tempfile::tempdir().unwrap();
    let env = database_env(dir.path()).await;
    let db = library(&env).await;
    let folder = dir.path().join("incoming");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("good.png"), photo(300, 200, ImageFormat::Png)).unwrap();
    std::fs::write(dir.path().join("outside.png"), photo(300, 200, ImageFormat::Png)).unwrap();
    std::fs::write(
        folder.join("images.json"),
        r#"[
          {"file": "good.png", "title": "Fine", "alt_text": "A gradient", "contributor": "mira-solen"},
          {"file": "good.png", "title": "No alt", "alt_text": " ", "contributor": "mira-solen"},
          {"file": "../outside.png", "title": "Escape", "alt_text": "x", "contributor": "mira-solen"},
          {"file": "missing.png", "title": "Missing", "alt_text": "x", "contributor": "mira-solen"},
          {"file": "good.png", "title": "Stranger", "alt_text": "x", "contributor": "nobody"}
        ]"#,
    )
    .unwrap();
    let output = server(dir.path(), &as_refs(&env), &["import", "incoming"], None);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for expected in [
        "row 2 (good.png): alt text is required",
        "row 3 (../outside.png): the file must be a path inside the folder",
        "row 4 (missing.png):",
        "row 5 (good.png): no contributor “nobody”",
        "nothing was imported: 4 of the sidecar's rows need fixing",
    ] {
        assert!(stderr.contains(expected), "{expected} in {stderr}");
    }
    assert!(!stderr.contains("row 1"), "the good row is not blamed");
    let images: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM images")
        .fetch_one(db.pool())
        .await
        .unwrap();
    let jobs: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM jobs")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!((images, jobs), (0, 0));
    assert_eq!(staged_files(&dir.path().join("media")), 0);

    let not_an_image = folder.join("notes.png");
    std::fs::write(&not_an_image, b"just some text").unwrap();
    std::fs::write(
        folder.join("images.json"),
        r#"[{"file": "notes.png", "title": "Text", "alt_text": "x", "contributor": "mira-solen"}]"#,
    )
    .unwrap();
    let output = server(dir.path(), &as_refs(&env), &["import", "incoming"], None);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("notes.png failed"), "{stderr}");
    assert!(stderr.contains("Only JPEG, PNG and WebP"), "{stderr}");
}
