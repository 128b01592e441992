//! `server import DIR`: adds a folder of images described by a JSON or CSV sidecar. Every
//! row is checked before anything is stored, so a bad sidecar imports nothing and names
//! each problem; then each original is staged and queued for the variant pipeline, and
//! this process works the queue beside any running server, printing progress.

use anyhow::{bail, Context};
use app::{
    features::library::{
        ingest::{ImageMeta, IngestJob, IngestPayload, INGEST_JOB},
        pipeline::ORIGINAL_BUDGET,
    },
    platform::{
        db::Database,
        jobs::{run_worker, JobQueue, JobRegistry, JobStatus},
        media::MediaStore,
    },
};
use serde::Deserialize;
use std::{
    collections::HashSet,
    path::{Component, Path, PathBuf},
    time::{Duration, Instant},
};
use tokio::sync::watch;

/// Attempts per image: a storage hiccup is retried; a bad file fails at once.
const MAX_ATTEMPTS: i64 = 3;

/// One sidecar row: the image file (relative to the folder) and what to say about it.
#[derive(Debug, Deserialize)]
pub struct JsonRow {
    pub file: String,
    #[serde(flatten)]
    pub meta: ImageMeta,
}

/// A CSV row: the same columns, with tags in one cell separated by `;` or `|`.
#[derive(Debug, Deserialize)]
struct CsvRow {
    file: String,
    title: String,
    #[serde(default)]
    description: String,
    alt_text: String,
    #[serde(default)]
    prompt: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    category: String,
    contributor: String,
}

impl From<CsvRow> for JsonRow {
    fn from(row: CsvRow) -> Self {
        JsonRow {
            file: row.file,
            meta: ImageMeta {
                title: row.title,
                description: row.description,
                alt_text: row.alt_text,
                prompt: row.prompt,
                tags: row.tags.split([';', '|']).map(str::to_owned).collect(),
                category: Some(row.category),
                contributor: row.contributor,
                ..ImageMeta::default()
            },
        }
    }
}

/// A row that passed every check.
struct Checked {
    path: PathBuf,
    meta: ImageMeta,
}

pub struct ImportReport {
    pub added: usize,
    pub failed: Vec<(String, String)>,
    pub seconds: f64,
}

fn find_sidecar(dir: &Path) -> anyhow::Result<PathBuf> {
    for name in ["images.json", "images.csv"] {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "no sidecar in {}: add images.json or images.csv, or name one with --sidecar",
        dir.display()
    )
}

fn read_rows(sidecar: &Path) -> anyhow::Result<Vec<JsonRow>> {
    let text =
        std::fs::read_to_string(sidecar).with_context(|| format!("reading the sidecar {}", sidecar.display()))?;
    let extension = sidecar.extension().and_then(|e| e.to_str()).unwrap_or_default();
    parse_rows(extension, &text, &sidecar.display().to_string())
}

/// The rows of a sidecar's text, read as JSON or CSV by its file `extension`; `label` names
/// the sidecar in errors. Separate from reading the file so the parser can be fuzzed.
pub fn parse_rows(extension: &str, text: &str, label: &str) -> anyhow::Result<Vec<JsonRow>> {
    match extension {
        "json" => serde_json::from_str(text).with_context(|| {
            format!("{label} is not a JSON array of {{file, title, alt_text, contributor, …}} objects")
        }),
        "csv" => csv::Reader::from_reader(text.as_bytes())
            .deserialize::<CsvRow>()
            .enumerate()
            .map(|(index, row)| {
                row.map(JsonRow::from)
                    .with_context(|| format!("{label} row {}", index + 2))
            })
            .collect(),
        _ => bail!("the sidecar must end in .json or .csv: {label}"),
    }
}

/// A file name from the sidecar, as a path inside `dir` (no absolute paths, no `..`).
pub fn inside(dir: &Path, file: &str) -> Result<PathBuf, String> {
    let relative = Path::new(file);
    if file.trim().is_empty() {
        return Err("the file name is empty".into());
    }
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err("the file must be a path inside the folder (no “..”, no absolute path)".into());
    }
    Ok(dir.join(relative))
}

async fn slugs(db: &Database, table: &str) -> anyhow::Result<HashSet<String>> {
    let sql = format!("SELECT slug FROM {table}");
    Ok(sqlx::query_scalar(&sql)
        .fetch_all(db.pool())
        .await?
        .into_iter()
        .collect())
}

/// Checks every row; returns them all or every problem found.
async fn check(db: &Database, dir: &Path, rows: Vec<JsonRow>) -> anyhow::Result<Result<Vec<Checked>, Vec<String>>> {
    let contributors = slugs(db, "contributors").await?;
    let categories = slugs(db, "categories").await?;
    let mut checked = Vec::with_capacity(rows.len());
    let mut problems = Vec::new();
    for (index, row) in rows.into_iter().enumerate() {
        let label = format!("row {} ({})", index + 1, row.file);
        let outcome = (|| {
            let path = inside(dir, &row.file)?;
            let size = std::fs::metadata(&path)
                .map_err(|_| format!("{} does not exist", path.display()))?
                .len();
            if size > ORIGINAL_BUDGET.max_bytes as u64 {
                return Err(format!(
                    "the file is larger than {} MB",
                    ORIGINAL_BUDGET.max_bytes / (1024 * 1024)
                ));
            }
            let meta = row.meta.normalised()?;
            if !contributors.contains(&meta.contributor) {
                return Err(format!("no contributor “{}”", meta.contributor));
            }
            if let Some(category) = meta.category.as_ref().filter(|c| !categories.contains(*c)) {
                return Err(format!("no category “{category}”"));
            }
            Ok(Checked { path, meta })
        })();
        match outcome {
            Ok(row) => checked.push(row),
            Err(problem) => problems.push(format!("{label}: {problem}")),
        }
    }
    Ok(if problems.is_empty() {
        Ok(checked)
    } else {
        Err(problems)
    })
}

/// Imports the folder; prints progress to stderr.
pub async fn import(
    db: &Database,
    media: &MediaStore,
    dir: &Path,
    sidecar: Option<&Path>,
) -> anyhow::Result<ImportReport> {
    let started = Instant::now();
    let sidecar = match sidecar {
        Some(path) => path.to_owned(),
        None => find_sidecar(dir)?,
    };
    let rows = read_rows(&sidecar)?;
    if rows.is_empty() {
        bail!("{} lists no images", sidecar.display());
    }
    let rows = match check(db, dir, rows).await? {
        Ok(rows) => rows,
        Err(problems) => {
            for problem in &problems {
                eprintln!("import: {problem}");
            }
            bail!(
                "nothing was imported: {} of the sidecar's rows need fixing",
                problems.len()
            );
        }
    };

    let queue = JobQueue::new(db.clone());
    let mut jobs = Vec::with_capacity(rows.len());
    for row in rows {
        let bytes = std::fs::read(&row.path).with_context(|| format!("reading {}", row.path.display()))?;
        let staged_key = media.stage(bytes.into()).await?;
        let payload = IngestPayload {
            staged_key,
            meta: row.meta,
        };
        let id = queue
            .enqueue_at(INGEST_JOB, &payload, app::platform::clock::now_unix(), MAX_ATTEMPTS)
            .await?;
        jobs.push((id, row.path.display().to_string()));
    }
    eprintln!("import: {} images queued", jobs.len());

    // Work the queue here too; a running server's workers share it safely.
    let registry = JobRegistry::new().register(IngestJob {
        db: db.clone(),
        media: media.clone(),
    });
    let (stop, stopped) = watch::channel(false);
    let workers: Vec<_> = (0..std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2))
        .map(|n| {
            tokio::spawn(run_worker(
                queue.clone(),
                registry.clone(),
                format!("import-{}-{n}", std::process::id()),
                Duration::from_millis(100),
                stopped.clone(),
            ))
        })
        .collect();

    let ids: Vec<i64> = jobs.iter().map(|(id, _)| *id).collect();
    let mut last_printed = (usize::MAX, Instant::now());
    let outcomes = loop {
        let outcomes = queue.outcomes(&ids).await?;
        let finished = outcomes
            .iter()
            .filter(|(_, status, _)| matches!(status, JobStatus::Done | JobStatus::Failed))
            .count();
        if finished != last_printed.0 && (last_printed.1.elapsed() >= Duration::from_secs(1) || finished == ids.len()) {
            let rate = finished as f64 / started.elapsed().as_secs_f64().max(0.001);
            eprintln!("import: {finished}/{} processed ({rate:.1} images/s)", ids.len());
            last_printed = (finished, Instant::now());
        }
        if finished == ids.len() {
            break outcomes;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = stop.send(true);
    for worker in workers {
        let _ = worker.await;
    }

    let failed: Vec<(String, String)> = outcomes
        .iter()
        .filter(|(_, status, _)| *status == JobStatus::Failed)
        .map(|(id, _, error)| {
            let file = jobs
                .iter()
                .find(|(job, _)| job == id)
                .map(|(_, file)| file.clone())
                .unwrap_or_default();
            (file, error.clone().unwrap_or_default())
        })
        .collect();
    Ok(ImportReport {
        added: ids.len() - failed.len(),
        failed,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecar_paths_stay_inside_the_folder() {
        let dir = Path::new("/data/import");
        assert_eq!(inside(dir, "a/b.png").unwrap(), dir.join("a/b.png"));
        for hostile in ["../secret.png", "/etc/passwd", "a/../../b.png", ""] {
            assert!(inside(dir, hostile).is_err(), "{hostile}");
        }
    }

    #[test]
    fn csv_tags_split_on_semicolons_or_bars() {
        let csv = "file,title,alt_text,contributor,tags,category\nx.png,Dunes,Orange dunes,mira,desert; dusk|sand,\n";
        let row: CsvRow = csv::Reader::from_reader(csv.as_bytes())
            .deserialize()
            .next()
            .unwrap()
            .unwrap();
        let row = JsonRow::from(row);
        let meta = row.meta.normalised().unwrap();
        assert_eq!(meta.tags, vec!["desert", "dusk", "sand"]);
        assert_eq!(meta.category, None);
    }
}
