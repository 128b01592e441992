//! Benchmarks behind `server bench-search` and `server bench-pipeline`: they print numbers
//! for docs/PERFORMANCE.md and never fail on one.

use crate::demo::{
    catalog::{ADJECTIVES, CATEGORIES, PERSONAS},
    render_original_for_bench, seed_cast,
};
use app::{
    features::library::{
        pipeline,
        search::{self, color_family, Query},
        SearchRequest, COLOR_FAMILIES, ORIENTATIONS,
    },
    platform::{clock::now_unix, db::Database},
};
use std::time::{Duration, Instant};

/// Rows per multi-row INSERT (14 values each stays under every backend's parameter limit).
const BATCH: usize = 500;

/// `($1, $2, …), (…)` for `rows` rows of `columns` values each.
fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| {
            let values: Vec<String> = (1..=columns)
                .map(|column| format!("${}", row * columns + column))
                .collect();
            format!("({})", values.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Adds synthetic image rows (no files: search never reads them) until the library holds
/// `rows`, words drawn from the demo cast's vocabulary, then brings the index up to date.
pub async fn load_rows(db: &Database, rows: u64) -> anyhow::Result<()> {
    seed_cast(db, now_unix()).await?;
    let existing: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM images")
        .fetch_one(db.pool())
        .await?;
    let contributor_ids: Vec<(String, i64)> = sqlx::query_as("SELECT slug, id FROM contributors")
        .fetch_all(db.pool())
        .await?;
    let category_ids: Vec<(String, i64)> = sqlx::query_as("SELECT slug, id FROM categories")
        .fetch_all(db.pool())
        .await?;
    let id_of = |list: &[(String, i64)], slug: &str| list.iter().find(|(s, _)| s == slug).map(|(_, id)| *id);
    let started = Instant::now();
    let mut random = fastrand::Rng::with_seed(existing as u64 + 1);
    // One row a second from a fixed day, in id order as ingest dates images (see
    // `Sort::Newest`), whichever run added them.
    const FIRST_ROW_DATE: i64 = 1_700_000_000;
    let mut next = existing.max(0) as u64;
    while next < rows {
        let count = (rows - next).min(BATCH as u64) as usize;
        let mut tags: Vec<(String, String)> = Vec::with_capacity(count * 2);
        let planned: Vec<_> = (0..count)
            .map(|i| {
                let n = next + i as u64;
                let persona = &PERSONAS[random.usize(..PERSONAS.len())];
                let noun = persona.nouns[random.usize(..persona.nouns.len())];
                let adjective = ADJECTIVES[random.usize(..ADJECTIVES.len())];
                let (width, height) = [(1600, 1067), (1067, 1600), (1200, 1200)][random.usize(..3)];
                let colour = format!("#{:06x}", random.u32(..0x100_0000));
                let public_id = format!("bench{n:07}");
                for _ in 0..2 {
                    tags.push((
                        public_id.clone(),
                        persona.tags[random.usize(..persona.tags.len())].to_owned(),
                    ));
                }
                (
                    public_id,
                    format!("{adjective} {noun}"),
                    format!("A {adjective} study of {noun} by {}.", persona.name),
                    id_of(&contributor_ids, persona.slug),
                    id_of(&category_ids, persona.category),
                    width,
                    height,
                    colour,
                    random.i64(0..500),
                    random.i64(0..100),
                    FIRST_ROW_DATE + n as i64,
                )
            })
            .collect();
        // Numbered `$n` placeholders: the `Any` driver passes SQL through to PostgreSQL,
        // which does not understand `?` (what `QueryBuilder<Any>` would write).
        let images_sql = format!(
            "INSERT INTO images (public_id, title, description, alt_text, prompt, contributor_id, category_id, width, \
             height, orientation, dominant_color, color_family, blurhash, view_count, download_count, created_at, \
             updated_at) VALUES {}",
            placeholders(count, 17)
        );
        let mut images = sqlx::query(&images_sql);
        for (public_id, title, description, contributor, category, width, height, colour, views, downloads, created) in
            planned
        {
            let family = color_family(&colour);
            images = images
                .bind(public_id)
                .bind(title.clone())
                .bind(description)
                .bind(title)
                .bind("")
                .bind(contributor.unwrap_or(1))
                .bind(category)
                .bind(width as i64)
                .bind(height as i64)
                .bind(app::features::library::ingest::orientation(width, height))
                .bind(colour)
                .bind(family)
                .bind("LEHV6nWB2yk8pyo0adR*.7kCMdnj")
                .bind(views)
                .bind(downloads)
                .bind(created)
                .bind(created);
        }
        let mut tx = db.pool().begin().await?;
        images.execute(&mut *tx).await?;
        // Tags join on the public ids just written: VALUES columns are column1, column2 on
        // both backends.
        let tags_sql = format!(
            "INSERT INTO image_tags (image_id, tag) SELECT DISTINCT i.id, v.column2 FROM images i \
             JOIN (VALUES {}) v ON i.public_id = v.column1",
            placeholders(tags.len(), 2)
        );
        let mut tag_rows = sqlx::query(&tags_sql);
        for (public_id, tag) in tags {
            tag_rows = tag_rows.bind(public_id).bind(tag);
        }
        tag_rows.execute(&mut *tx).await?;
        tx.commit().await?;
        next += count as u64;
        if next.is_multiple_of(50_000) || next == rows {
            eprintln!("bench-search: {next}/{rows} rows");
        }
    }
    let loaded = started.elapsed();
    let started = Instant::now();
    let indexed = search::catch_up(db).await?;
    let analysed = Instant::now();
    sqlx::query("ANALYZE").execute(db.pool()).await?;
    println!(
        "loaded {} rows in {:.1} s; indexed {indexed} in {:.1} s; ANALYZE {:.1} s",
        rows.saturating_sub(existing.max(0) as u64),
        loaded.as_secs_f64(),
        (analysed - started).as_secs_f64(),
        analysed.elapsed().as_secs_f64()
    );
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// Runs `samples` searches built by `make` and prints p50, p95 and the slowest, in ms.
async fn measure(
    db: &Database,
    label: &str,
    samples: u32,
    mut make: impl FnMut(u32) -> SearchRequest,
) -> anyhow::Result<()> {
    let mut times = Vec::with_capacity(samples as usize);
    let mut hits = 0;
    for i in 0..samples {
        let query = Query::parse(&make(i)).map_err(|r| anyhow::anyhow!("{}: {}", r.field, r.message))?;
        let started = Instant::now();
        let results = search::search(db, &query).await?;
        times.push(started.elapsed());
        hits += results.images.images.len();
    }
    times.sort();
    println!(
        "{label:<44} p50 {:>7.2} ms   p95 {:>7.2} ms   max {:>7.2} ms   ({:.1} results/page)",
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        percentile(&times, 1.0),
        hits as f64 / f64::from(samples)
    );
    Ok(())
}

/// Loads the rows, then times searches of the kinds people make.
pub async fn search_latency(db: &Database, rows: u64, samples: u32) -> anyhow::Result<()> {
    load_rows(db, rows).await?;
    let total: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM images")
        .fetch_one(db.pool())
        .await?;
    println!(
        "search over {total} images ({:?}), {samples} samples each",
        db.backend()
    );
    let words: Vec<&str> = PERSONAS
        .iter()
        .flat_map(|p| p.nouns.iter().chain(p.tags.iter()).copied())
        .collect();
    let word = |i: u32| words[(i as usize * 7919) % words.len()].to_lowercase();
    let request = |q: String| SearchRequest {
        q,
        page: 1,
        ..SearchRequest::default()
    };
    measure(db, "one word, relevance", samples, |i| request(word(i))).await?;
    measure(db, "one word, relevance, colour filter", samples, |i| SearchRequest {
        color: COLOR_FAMILIES[i as usize % COLOR_FAMILIES.len()].0.to_owned(),
        ..request(word(i))
    })
    .await?;
    measure(db, "one word, orientation + category filters", samples, |i| {
        SearchRequest {
            orientation: ORIENTATIONS[i as usize % 3].0.to_owned(),
            category: CATEGORIES[i as usize % CATEGORIES.len()].slug.to_owned(),
            ..request(word(i))
        }
    })
    .await?;
    measure(db, "two words, relevance", samples, |i| {
        request(format!("{} {}", word(i), word(i + 1)))
    })
    .await?;
    measure(db, "word prefix (first 3 letters)", samples, |i| {
        request(word(i).chars().take(3).collect())
    })
    .await?;
    measure(db, "one word, newest first", samples, |i| SearchRequest {
        sort: "newest".into(),
        ..request(word(i))
    })
    .await?;
    measure(db, "no words, colour filter, newest", samples, |i| SearchRequest {
        color: COLOR_FAMILIES[i as usize % COLOR_FAMILIES.len()].0.to_owned(),
        ..request(String::new())
    })
    .await?;
    measure(db, "typo (corrected)", samples.min(50), |i| {
        let mut typo: Vec<char> = word(i).chars().collect();
        if typo.len() > 4 {
            typo.swap(2, 3);
        }
        request(typo.into_iter().collect())
    })
    .await?;
    Ok(())
}

/// Variant pipeline throughput against a plain `image`-crate baseline on the same originals.
pub fn pipeline_throughput(count: u32) -> anyhow::Result<()> {
    let rendered: Vec<(Vec<u8>, u32, u32)> = (0..count)
        .map(render_original_for_bench)
        .collect::<anyhow::Result<_>>()?;
    let megapixels: f64 = rendered.iter().map(|(_, w, h)| f64::from(w * h) / 1e6).sum();
    let originals: Vec<Vec<u8>> = rendered.into_iter().map(|(bytes, _, _)| bytes).collect();
    let started = Instant::now();
    for original in &originals {
        pipeline::process(original)?;
    }
    let ours = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for original in &originals {
        image_crate_baseline(original)?;
    }
    let baseline = started.elapsed().as_secs_f64();
    println!(
        "pipeline (fast_image_resize + libwebp q80, 3 sizes + stripped original, BlurHash, colour): {:.2} images/s",
        f64::from(count) / ours
    );
    println!(
        "baseline (image crate: decode, Lanczos3 resize to 3 sizes, lossless WebP):           {:.2} images/s",
        f64::from(count) / baseline
    );
    println!(
        "{count} JPEG originals of {:.2} MP on average, one image at a time",
        megapixels / f64::from(count)
    );
    Ok(())
}

/// What a straightforward `image`-only implementation would do with an original.
fn image_crate_baseline(original: &[u8]) -> anyhow::Result<()> {
    let decoded = image::load_from_memory(original)?;
    for width in [2000_u32, 800, 400] {
        let width = width.min(decoded.width());
        let height = (u64::from(decoded.height()) * u64::from(width) / u64::from(decoded.width())).max(1) as u32;
        let resized = decoded.resize_exact(width, height, image::imageops::FilterType::Lanczos3);
        let mut out = std::io::Cursor::new(Vec::new());
        resized.to_rgb8().write_to(&mut out, image::ImageFormat::WebP)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(super::placeholders(2, 2), "($1, $2), ($3, $4)");
    }
}
