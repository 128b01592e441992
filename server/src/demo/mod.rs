//! The demo library: renders procedural artworks for a cast of AI contributors and stores
//! them through the same pipeline as real imports (size variants, BlurHash, colour).

pub mod art;
pub mod catalog;

use anyhow::Context;
use app::features::library::ingest::{ingest, orientation, ImageMeta, Ingested};
use app::platform::{clock::now_unix, db::Database, media::MediaStore};
use art::{hex, render};
use catalog::{Persona, ADJECTIVES, CATEGORIES, PERSONAS};
use image::codecs::jpeg::JpegEncoder;
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
    }
}

/// CPU-heavy: renders the original as a high-quality JPEG, as an upload would arrive.
fn render_original(plan: &Plan) -> anyhow::Result<Vec<u8>> {
    let palette: Vec<_> = plan.palette.iter().map(|h| hex(h)).collect();
    let original = render(plan.persona.art, &palette, plan.art_seed, plan.width, plan.height);
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, 90).encode_image(&original)?;
    Ok(bytes)
}

/// The JPEG original of demo image `index` (default seed) and its size, for benchmarks.
pub fn render_original_for_bench(index: u32) -> anyhow::Result<(Vec<u8>, u32, u32)> {
    let plan = plan(SeedOptions::default().seed, index);
    Ok((render_original(&plan)?, plan.width, plan.height))
}

/// What the sidecar of a real import would say about a demo image.
fn meta(plan: &Plan) -> ImageMeta {
    let persona = plan.persona;
    let mut tags: Vec<String> = persona.tags.iter().map(|t| t.to_string()).collect();
    tags.push(plan.palette_name.to_owned());
    tags.push(orientation(plan.width, plan.height).to_owned());
    ImageMeta {
        public_id: Some(plan.public_id.clone()),
        title: plan.title.clone(),
        description: format!(
            "{} in a {} palette by {}, the library's {} specialist: a demo image drawn by a procedural generator (code, not an AI model). Free to use for anything.",
            plan.title,
            plan.palette_name,
            persona.name,
            persona.style_name.to_lowercase()
        ),
        alt_text: format!(
            "{} artwork in {} tones: {}",
            persona.style_name,
            plan.palette_name,
            plan.title.to_lowercase()
        ),
        prompt: format!(
            "{}, {} palette, {} style, seed {}",
            plan.title, plan.palette_name, persona.style_name, plan.art_seed
        ),
        tags,
        category: Some(persona.category.to_owned()),
        contributor: persona.slug.to_owned(),
    }
}

/// Adds the demo categories and contributors (those already present are left alone).
pub async fn seed_cast(db: &Database, now: i64) -> anyhow::Result<()> {
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
        sqlx::query(
            "INSERT INTO chat_personas (contributor_id, voice, greeting, updated_at) \
             SELECT id, $2, $3, $4 FROM contributors WHERE slug = $1 ON CONFLICT (contributor_id) DO NOTHING",
        )
        .bind(persona.slug)
        .bind(persona.voice)
        .bind(persona.greeting)
        .bind(now)
        .execute(db.pool())
        .await?;
    }
    Ok(())
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
    seed_cast(db, now).await?;

    // One image per core in flight: rendering and the pipeline are CPU work.
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2) as u32;
    let (mut created, mut skipped) = (0, 0);
    let mut index = 0;
    while index < options.images {
        let batch: Vec<u32> = (index..(index + workers).min(options.images)).collect();
        index += batch.len() as u32;
        let mut pending = tokio::task::JoinSet::new();
        for i in batch {
            let plan = plan(options.seed, i);
            let (db, media) = (db.clone(), media.clone());
            pending.spawn(async move {
                let known: Option<i64> = sqlx::query_scalar("SELECT id FROM images WHERE public_id = $1")
                    .bind(&plan.public_id)
                    .fetch_optional(db.pool())
                    .await?;
                if known.is_some() {
                    return Ok(Ingested::AlreadyPresent {
                        public_id: plan.public_id,
                    });
                }
                let meta = meta(&plan);
                let original = tokio::task::spawn_blocking(move || render_original(&plan))
                    .await
                    .context("a render task panicked")??;
                anyhow::Ok(ingest(&db, &media, original, meta).await?)
            });
        }
        while let Some(outcome) = pending.join_next().await {
            match outcome.context("a seed task panicked")?? {
                Ingested::Added { .. } => created += 1,
                Ingested::AlreadyPresent { .. } => skipped += 1,
            }
        }
        if index % 24 == 0 || index == options.images {
            eprintln!("seed-demo: {index}/{} images", options.images);
        }
    }
    if existing == 0 && created > 0 {
        spread_history(db, now).await?;
    }
    Ok(SeedReport {
        created,
        skipped,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Gives a new demo library four months of history: about one image every 12 hours going
/// back from now, in id order (the newest id newest), so ids keep following publication
/// order as `Sort::Newest` requires. Only for a library the demo filled from empty.
async fn spread_history(db: &Database, now: i64) -> anyhow::Result<()> {
    // 43,200 s apart, less up to 39,999 s of jitter: never out of id order.
    sqlx::query(
        "UPDATE images SET created_at = $1 - ((SELECT MAX(id) FROM images) - id) * 43200 - (id * 7919) % 40000, \
         updated_at = $1 - ((SELECT MAX(id) FROM images) - id) * 43200 - (id * 7919) % 40000",
    )
    .bind(now)
    .execute(db.pool())
    .await?;
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
