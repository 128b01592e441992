//! The demo library: renders procedural artworks for a cast of AI contributors and stores
//! them like real uploads (content-addressed files, image rows, tags, size variants).

pub mod art;
pub mod catalog;

use anyhow::Context;
use app::platform::{clock::now_unix, db::Database, media::MediaStore};
use art::{average_color, hex, render};
use catalog::{Persona, ADJECTIVES, CATEGORIES, PERSONAS};
use image::{codecs::jpeg::JpegEncoder, imageops::FilterType, RgbImage};
use std::{fmt, time::Instant};

#[derive(Clone, Copy, Debug)]
pub struct SeedOptions {
    pub images: u32,
    pub seed: u64,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            images: 240,
            seed: 2026,
        }
    }
}

pub struct SeedReport {
    pub created: u32,
    pub skipped: u32,
    pub seconds: f64,
}

impl fmt::Display for SeedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.created == 0 && self.skipped == 0 {
            write!(f, "the library already has images; nothing seeded")
        } else {
            write!(
                f,
                "seeded {} images from {} contributors in {:.1} s ({} already present)",
                self.created,
                PERSONAS.len(),
                self.seconds,
                self.skipped
            )
        }
    }
}

/// Everything about one demo image that follows from (library seed, index).
struct Plan {
    persona: &'static Persona,
    palette_name: &'static str,
    palette: [&'static str; 5],
    art_seed: u64,
    public_id: String,
    width: u32,
    height: u32,
    title: String,
    age_seconds: i64,
}

fn plan(seed: u64, index: u32) -> Plan {
    let mut rng = fastrand::Rng::with_seed(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(index));
    let persona = &PERSONAS[index as usize % PERSONAS.len()];
    let (palette_name, palette) = persona.palettes[rng.usize(..persona.palettes.len())];
    let (width, height) = match rng.u8(..10) {
        0..=4 => (1500, 1000),
        5..=6 => (1000, 1400),
        7..=8 => (1200, 1200),
        _ => (1600, 900),
    };
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let public_id = (0..11).map(|_| ALPHABET[rng.usize(..ALPHABET.len())] as char).collect();
    let title = format!(
        "{} {}",
        ADJECTIVES[rng.usize(..ADJECTIVES.len())],
        persona.nouns[rng.usize(..persona.nouns.len())]
    );
    Plan {
        persona,
        palette_name,
        palette,
        art_seed: rng.u64(..),
        public_id,
        width,
        height,
        title,
        // Spread over the last 120 days, newest index newest.
        age_seconds: i64::from(index) * 43_200 + i64::from(rng.u32(..40_000)),
    }
}

struct Rendered {
    files: Vec<(&'static str, Vec<u8>, u32, u32)>,
    dominant_color: String,
    blurhash: String,
}

fn encode_jpeg(image: &RgbImage, quality: u8) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, quality).encode_image(image)?;
    Ok(bytes)
}

/// CPU-heavy: renders the original and the thumb (400 px) and small (800 px) variants.
fn render_plan(plan: &Plan) -> anyhow::Result<Rendered> {
    let palette: Vec<_> = plan.palette.iter().map(|h| hex(h)).collect();
    let original = render(plan.persona.art, &palette, plan.art_seed, plan.width, plan.height);
    let mut files = vec![("original", encode_jpeg(&original, 88)?, plan.width, plan.height)];
    let mut thumb = None;
    for (variant, target) in [("small", 800u32), ("thumb", 400u32)] {
        let height = (u64::from(plan.height) * u64::from(target) / u64::from(plan.width)) as u32;
        let resized = image::imageops::resize(&original, target, height.max(1), FilterType::Triangle);
        files.push((variant, encode_jpeg(&resized, 82)?, target, height));
        if variant == "thumb" {
            thumb = Some(resized);
        }
    }
    let thumb = thumb.expect("the thumb variant is always rendered");
    let rgba = image::DynamicImage::ImageRgb8(thumb.clone()).to_rgba8();
    let blurhash = blurhash::encode(4, 3, thumb.width(), thumb.height(), rgba.as_raw())
        .map_err(|e| anyhow::anyhow!("blurhash: {e:?}"))?;
    Ok(Rendered {
        files,
        dominant_color: average_color(&thumb),
        blurhash,
    })
}

fn orientation(width: u32, height: u32) -> &'static str {
    match width.cmp(&height) {
        std::cmp::Ordering::Greater => "landscape",
        std::cmp::Ordering::Less => "portrait",
        std::cmp::Ordering::Equal => "square",
    }
}

/// Seeds categories, contributors and `options.images` images. Re-running with the same seed
/// adds nothing twice; `if_empty` skips everything when any image exists.
pub async fn seed(
    db: &Database,
    media: &MediaStore,
    options: SeedOptions,
    if_empty: bool,
) -> anyhow::Result<SeedReport> {
    let started = Instant::now();
    let existing: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM images")
        .fetch_one(db.pool())
        .await?;
    if if_empty && existing > 0 {
        return Ok(SeedReport {
            created: 0,
            skipped: 0,
            seconds: 0.0,
        });
    }
    let now = now_unix();
    for category in CATEGORIES {
        sqlx::query(
            "INSERT INTO categories (slug, name, description, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (slug) DO NOTHING",
        )
        .bind(category.slug)
        .bind(category.name)
        .bind(category.description)
        .bind(now)
        .execute(db.pool())
        .await?;
    }
    for persona in PERSONAS {
        sqlx::query(
            "INSERT INTO contributors (slug, name, bio, style, location, accent_color, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (slug) DO NOTHING",
        )
        .bind(persona.slug)
        .bind(persona.name)
        .bind(persona.bio)
        .bind(persona.style_name)
        .bind(persona.location)
        .bind(persona.accent)
        .bind(now)
        .execute(db.pool())
        .await?;
    }

    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2) as u32;
    let (mut created, mut skipped) = (0, 0);
    let mut index = 0;
    while index < options.images {
        let batch: Vec<u32> = (index..(index + workers).min(options.images)).collect();
        index += batch.len() as u32;
        let mut pending = Vec::new();
        for i in batch {
            let plan = plan(options.seed, i);
            let known: Option<i64> = sqlx::query_scalar("SELECT id FROM images WHERE public_id = $1")
                .bind(&plan.public_id)
                .fetch_optional(db.pool())
                .await?;
            if known.is_some() {
                skipped += 1;
                continue;
            }
            pending.push(tokio::task::spawn_blocking(move || {
                render_plan(&plan).map(|r| (plan, r))
            }));
        }
        for task in pending {
            let (plan, rendered) = task.await.context("a render task panicked")??;
            store(db, media, &plan, rendered, now).await?;
            created += 1;
        }
        if index % 24 == 0 || index == options.images {
            eprintln!("seed-demo: {index}/{} images", options.images);
        }
    }
    Ok(SeedReport {
        created,
        skipped,
        seconds: started.elapsed().as_secs_f64(),
    })
}

async fn store(db: &Database, media: &MediaStore, plan: &Plan, rendered: Rendered, now: i64) -> anyhow::Result<()> {
    let mut keys = Vec::new();
    for (variant, bytes, width, height) in &rendered.files {
        let media = media.clone();
        let bytes_for_write = bytes.clone();
        let key = tokio::task::spawn_blocking(move || media.put(&bytes_for_write, "jpg")).await??;
        keys.push((*variant, key, *width, *height, bytes.len() as i64));
    }
    let persona = plan.persona;
    let created_at = now - plan.age_seconds;
    let description = format!(
        "{} in a {} palette by {}, the library's {} specialist. Free to use for anything.",
        plan.title,
        plan.palette_name,
        persona.name,
        persona.style_name.to_lowercase()
    );
    let alt_text = format!(
        "{} artwork in {} tones: {}",
        persona.style_name,
        plan.palette_name,
        plan.title.to_lowercase()
    );
    let prompt = format!(
        "{}, {} palette, {} style, seed {}",
        plan.title, plan.palette_name, persona.style_name, plan.art_seed
    );

    let mut tx = db.pool().begin().await?;
    let image_id: i64 = sqlx::query_scalar(
        "INSERT INTO images (public_id, title, description, alt_text, prompt, contributor_id, category_id, width, height, \
         orientation, dominant_color, blurhash, visibility, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, (SELECT id FROM contributors WHERE slug = $6), (SELECT id FROM categories WHERE slug = $7), \
                 $8, $9, $10, $11, $12, 'public', $13, $13) RETURNING id",
    )
    .bind(&plan.public_id)
    .bind(&plan.title)
    .bind(description)
    .bind(alt_text)
    .bind(prompt)
    .bind(persona.slug)
    .bind(persona.category)
    .bind(i64::from(plan.width))
    .bind(i64::from(plan.height))
    .bind(orientation(plan.width, plan.height))
    .bind(&rendered.dominant_color)
    .bind(&rendered.blurhash)
    .bind(created_at)
    .fetch_one(&mut *tx)
    .await?;
    for (variant, key, width, height, size) in keys {
        sqlx::query(
            "INSERT INTO image_files (image_id, variant, storage_key, content_type, width, height, byte_size) \
             VALUES ($1, $2, $3, 'image/jpeg', $4, $5, $6)",
        )
        .bind(image_id)
        .bind(variant)
        .bind(key)
        .bind(i64::from(width))
        .bind(i64::from(height))
        .bind(size)
        .execute(&mut *tx)
        .await?;
    }
    let mut tags: Vec<String> = persona.tags.iter().map(|t| t.to_string()).collect();
    tags.push(plan.palette_name.to_owned());
    tags.push(orientation(plan.width, plan.height).to_owned());
    tags.sort();
    tags.dedup();
    for tag in tags {
        sqlx::query("INSERT INTO image_tags (image_id, tag) VALUES ($1, $2)")
            .bind(image_id)
            .bind(tag)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_deterministic_and_ids_distinct() {
        let a = plan(7, 3);
        let b = plan(7, 3);
        assert_eq!(a.public_id, b.public_id);
        assert_eq!(a.title, b.title);
        assert_eq!(a.art_seed, b.art_seed);
        let ids: std::collections::HashSet<_> = (0..500).map(|i| plan(7, i).public_id).collect();
        assert_eq!(ids.len(), 500);
    }

    #[test]
    fn every_persona_has_a_known_category_and_palettes() {
        for persona in PERSONAS {
            assert!(
                CATEGORIES.iter().any(|c| c.slug == persona.category),
                "{}",
                persona.slug
            );
            assert!(!persona.palettes.is_empty() && !persona.nouns.is_empty());
        }
        assert_eq!(PERSONAS.len(), 12);
    }
}
