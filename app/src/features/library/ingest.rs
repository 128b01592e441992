//! Adding images to the library: checks what a sidecar says about an image, runs the
//! variant pipeline and stores the files and rows in one transaction. The `import` CLI
//! queues [`IngestJob`]s; the demo seed calls [`ingest`] directly — the same pipeline.

use super::pipeline::{self, PipelineError};
use crate::platform::{
    clock::now_unix,
    db::Database,
    jobs::{ClaimedJob, JobError, JobFuture, JobHandler},
    media::MediaStore,
};
use serde::{Deserialize, Serialize};

/// The job kind that turns a staged original into a library image.
pub const INGEST_JOB: &str = "library.ingest";
pub const MAX_TITLE_CHARS: usize = 120;
pub const MAX_TEXT_CHARS: usize = 2_000;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 40;

/// What the library records about an image beside its pixels.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageMeta {
    /// Given by the demo seed (deterministic ids); imports get a random one.
    #[serde(default)]
    pub public_id: Option<String>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub alt_text: String,
    #[serde(default)]
    pub prompt: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Category slug.
    #[serde(default)]
    pub category: Option<String>,
    /// Contributor slug.
    pub contributor: String,
}

impl ImageMeta {
    /// Trims every field, lower-cases and de-duplicates tags, and says what is wrong.
    pub fn normalised(mut self) -> Result<Self, String> {
        self.title = self.title.trim().to_owned();
        self.description = self.description.trim().to_owned();
        self.alt_text = self.alt_text.trim().to_owned();
        self.prompt = self.prompt.trim().to_owned();
        self.contributor = self.contributor.trim().to_owned();
        self.category = self.category.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        let mut tags: Vec<String> = self
            .tags
            .iter()
            .map(|tag| tag.trim().to_lowercase())
            .filter(|tag| !tag.is_empty())
            .collect();
        tags.sort();
        tags.dedup();
        self.tags = tags;
        if self.title.is_empty() {
            return Err("a title is required".into());
        }
        if self.title.chars().count() > MAX_TITLE_CHARS {
            return Err(format!("the title is longer than {MAX_TITLE_CHARS} characters"));
        }
        if self.alt_text.is_empty() {
            return Err("alt text is required: describe the image for people who cannot see it".into());
        }
        for (name, value) in [
            ("description", &self.description),
            ("alt text", &self.alt_text),
            ("prompt", &self.prompt),
        ] {
            if value.chars().count() > MAX_TEXT_CHARS {
                return Err(format!("the {name} is longer than {MAX_TEXT_CHARS} characters"));
            }
        }
        if self.contributor.is_empty() {
            return Err("a contributor (slug) is required".into());
        }
        if self.tags.len() > MAX_TAGS {
            return Err(format!("at most {MAX_TAGS} tags"));
        }
        if let Some(tag) = self.tags.iter().find(|tag| tag.chars().count() > MAX_TAG_CHARS) {
            return Err(format!("the tag “{tag}” is longer than {MAX_TAG_CHARS} characters"));
        }
        if let Some(id) = &self.public_id {
            if !super::service::is_public_id(id) {
                return Err("a public id is 1–32 letters and digits".into());
            }
        }
        Ok(self)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The sidecar or the file is wrong; trying again will not help.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Pipeline(#[from] PipelineError),
    #[error("storage: {0}")]
    Storage(#[from] std::io::Error),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl IngestError {
    /// Bad input stays bad; storage and database trouble may pass.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            IngestError::Invalid(_) | IngestError::Pipeline(PipelineError::Refused(_))
        )
    }
}

impl From<IngestError> for JobError {
    fn from(error: IngestError) -> Self {
        if error.is_permanent() {
            JobError::Permanent(error.to_string())
        } else {
            JobError::Retry(error.to_string())
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Ingested {
    Added {
        public_id: String,
    },
    /// An image with that public id exists already (a re-run of the same import or seed).
    AlreadyPresent {
        public_id: String,
    },
}

fn random_public_id() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..11)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

/// `landscape`, `portrait` or `square`, as the images table and search filters name it.
pub fn orientation(width: u32, height: u32) -> &'static str {
    match width.cmp(&height) {
        std::cmp::Ordering::Greater => "landscape",
        std::cmp::Ordering::Less => "portrait",
        std::cmp::Ordering::Equal => "square",
    }
}

/// Runs the pipeline on `original` and adds the image. Idempotent by public id.
pub async fn ingest(
    db: &Database,
    media: &MediaStore,
    original: Vec<u8>,
    meta: ImageMeta,
) -> Result<Ingested, IngestError> {
    let meta = meta.normalised().map_err(IngestError::Invalid)?;
    if let Some(public_id) = &meta.public_id {
        let known: Option<i64> = sqlx::query_scalar("SELECT id FROM images WHERE public_id = $1")
            .bind(public_id)
            .fetch_optional(db.pool())
            .await?;
        if known.is_some() {
            return Ok(Ingested::AlreadyPresent {
                public_id: public_id.clone(),
            });
        }
    }
    let contributor_id: Option<i64> = sqlx::query_scalar("SELECT id FROM contributors WHERE slug = $1")
        .bind(&meta.contributor)
        .fetch_optional(db.pool())
        .await?;
    let contributor_id =
        contributor_id.ok_or_else(|| IngestError::Invalid(format!("no contributor “{}”", meta.contributor)))?;
    let category_id: Option<i64> = match &meta.category {
        Some(slug) => Some(
            sqlx::query_scalar("SELECT id FROM categories WHERE slug = $1")
                .bind(slug)
                .fetch_optional(db.pool())
                .await?
                .ok_or_else(|| IngestError::Invalid(format!("no category “{slug}”")))?,
        ),
        None => None,
    };

    let processed = tokio::task::spawn_blocking(move || pipeline::process(&original))
        .await
        .map_err(|error| IngestError::Storage(std::io::Error::other(error)))??;
    let mut stored = Vec::with_capacity(processed.files.len());
    for file in &processed.files {
        let key = media
            .put(bytes::Bytes::from(file.bytes.clone()), file.extension)
            .await?;
        stored.push((file, key));
    }

    let public_id = meta.public_id.clone().unwrap_or_else(random_public_id);
    // Dated now, never earlier: ids then follow publication order, which newest-first
    // search relies on (see `Sort::Newest`).
    let now = now_unix();
    let created_at = now;
    let mut tx = db.pool().begin().await?;
    let image_id: i64 = sqlx::query_scalar(
        "INSERT INTO images (public_id, title, description, alt_text, prompt, contributor_id, category_id, width, height, \
         orientation, dominant_color, color_family, blurhash, visibility, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'public', $14, $15) RETURNING id",
    )
    .bind(&public_id)
    .bind(&meta.title)
    .bind(&meta.description)
    .bind(&meta.alt_text)
    .bind(&meta.prompt)
    .bind(contributor_id)
    .bind(category_id)
    .bind(i64::from(processed.width))
    .bind(i64::from(processed.height))
    .bind(orientation(processed.width, processed.height))
    .bind(&processed.dominant_color)
    .bind(super::search::color_family(&processed.dominant_color))
    .bind(&processed.blurhash)
    .bind(created_at)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    for (file, key) in stored {
        sqlx::query(
            "INSERT INTO image_files (image_id, variant, storage_key, content_type, width, height, byte_size) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(image_id)
        .bind(file.variant.as_str())
        .bind(key)
        .bind(file.content_type)
        .bind(i64::from(file.width))
        .bind(i64::from(file.height))
        .bind(file.bytes.len() as i64)
        .execute(&mut *tx)
        .await?;
    }
    for tag in &meta.tags {
        sqlx::query("INSERT INTO image_tags (image_id, tag) VALUES ($1, $2)")
            .bind(image_id)
            .bind(tag)
            .execute(&mut *tx)
            .await?;
    }
    super::search::index_image(&mut tx, db.backend(), image_id).await?;
    tx.commit().await?;
    Ok(Ingested::Added { public_id })
}

/// Payload of an [`INGEST_JOB`]: a staged original and what the sidecar said about it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IngestPayload {
    /// Key of the untouched upload under the media store's staging area.
    pub staged_key: String,
    pub meta: ImageMeta,
}

/// Runs [`ingest`] for queued imports and removes the staged upload (which still carries
/// its metadata) once the image is in the library or refused for good.
pub struct IngestJob {
    pub db: Database,
    pub media: MediaStore,
}

impl JobHandler for IngestJob {
    fn kind(&self) -> &'static str {
        INGEST_JOB
    }

    fn run<'a>(&'a self, job: &'a ClaimedJob) -> JobFuture<'a> {
        Box::pin(async move {
            let payload: IngestPayload = job.payload()?;
            let bytes = match self.media.read_staged(&payload.staged_key).await {
                Ok(bytes) => Vec::from(bytes),
                // Already ingested by an earlier attempt that stopped before finishing up.
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    return Err(JobError::Permanent(format!(
                        "the staged file {} is gone",
                        payload.staged_key
                    )))
                }
                Err(error) => return Err(JobError::Retry(error.to_string())),
            };
            let outcome = ingest(&self.db, &self.media, bytes, payload.meta).await;
            if outcome.as_ref().map_or_else(IngestError::is_permanent, |_| true) {
                if let Err(error) = self.media.remove_staged(&payload.staged_key).await {
                    tracing::warn!(%error, key = %payload.staged_key, "could not remove a staged upload");
                }
            }
            outcome.map(|_| ()).map_err(JobError::from)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> ImageMeta {
        ImageMeta {
            title: "  Dunes at dusk ".into(),
            alt_text: "Orange dunes under a violet sky".into(),
            contributor: "mira-solen".into(),
            tags: vec!["Desert".into(), "desert ".into(), "".into(), "dusk".into()],
            ..ImageMeta::default()
        }
    }

    #[test]
    fn metadata_is_trimmed_and_tags_deduplicated() {
        let meta = meta().normalised().unwrap();
        assert_eq!(meta.title, "Dunes at dusk");
        assert_eq!(meta.tags, vec!["desert", "dusk"]);
    }

    #[test]
    fn missing_or_oversized_fields_are_named() {
        let no_alt = ImageMeta {
            alt_text: " ".into(),
            ..meta()
        };
        assert!(no_alt.normalised().unwrap_err().contains("alt text"));
        let long_title = ImageMeta {
            title: "x".repeat(MAX_TITLE_CHARS + 1),
            ..meta()
        };
        assert!(long_title.normalised().unwrap_err().contains("title"));
        let bad_id = ImageMeta {
            public_id: Some("../etc".into()),
            ..meta()
        };
        assert!(bad_id.normalised().unwrap_err().contains("public id"));
    }
}
