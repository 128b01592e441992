//! A small, exactly known library for search and browsing tests: contributors, categories
//! and plain-coloured images added through the real ingest pipeline.

use super::TestApp;
use app::features::library::ingest::{ingest, ImageMeta};
use image::{ImageFormat, Rgb, RgbImage};
use std::io::Cursor;

/// Marks a rendered image tile (skeleton placeholders have no image id).
pub const TILE: &str = "data-image-id=";

pub async fn add_contributor(app: &TestApp, slug: &str, name: &str) {
    sqlx::query(
        "INSERT INTO contributors (slug, name, bio, style, location, accent_color, created_at) \
         VALUES ($1, $2, $3, 'Ink and light', NULL, '#335577', 0)",
    )
    .bind(slug)
    .bind(name)
    .bind(format!("{name} draws with light."))
    .execute(app.state.db.pool())
    .await
    .unwrap();
}

pub async fn add_category(app: &TestApp, slug: &str, name: &str) {
    sqlx::query("INSERT INTO categories (slug, name, description, created_at) VALUES ($1, $2, $3, 0)")
        .bind(slug)
        .bind(name)
        .bind(format!("All about {name}."))
        .execute(app.state.db.pool())
        .await
        .unwrap();
}

/// One image to add: its words, owner, shape and (single) colour.
pub struct Picture<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub tags: &'a [&'a str],
    pub description: &'a str,
    pub contributor: &'a str,
    pub category: &'a str,
    pub size: (u32, u32),
    pub rgb: [u8; 3],
    /// Seconds before now: larger is older. Add pictures oldest first where a test sorts
    /// a search by newest: ids follow publication order in the product (`Sort::Newest`).
    pub age: i64,
}

pub async fn add_picture(app: &TestApp, picture: Picture<'_>) {
    let image = RgbImage::from_pixel(picture.size.0, picture.size.1, Rgb(picture.rgb));
    let mut png = Cursor::new(Vec::new());
    image.write_to(&mut png, ImageFormat::Png).unwrap();
    let meta = ImageMeta {
        public_id: Some(picture.id.to_owned()),
        title: picture.title.to_owned(),
        description: picture.description.to_owned(),
        alt_text: format!("{} (test image)", picture.title),
        tags: picture.tags.iter().map(|t| t.to_string()).collect(),
        category: Some(picture.category.to_owned()),
        contributor: picture.contributor.to_owned(),
        ..ImageMeta::default()
    };
    ingest(&app.state.db, &app.state.media, png.into_inner(), meta)
        .await
        .expect("the test image is ingested");
    // Back-dated after the fact, as the demo's history is (ingest dates an image now).
    sqlx::query("UPDATE images SET created_at = $1 WHERE public_id = $2")
        .bind(app::platform::clock::now_unix() - picture.age)
        .bind(picture.id)
        .execute(app.state.db.pool())
        .await
        .expect("the test image is dated");
}

/// The image ids of the tiles in a page, in order.
pub fn tile_ids(html: &str) -> Vec<String> {
    html.split(TILE)
        .skip(1)
        .map(|rest| rest.trim_start_matches('"').split('"').next().unwrap().to_owned())
        .collect()
}

/// Fetches a page and returns its status and body.
pub async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.get(path).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}
