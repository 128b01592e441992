//! Media storage behind one interface — local disk (the embedded default) or S3-compatible
//! object storage (the path to many instances) — with content-addressed keys: the same bytes
//! always land at the same key, so URLs built from keys can be cached forever.

use super::config::ConfigError;
use bytes::Bytes;
use futures::{stream::BoxStream, StreamExt, TryStreamExt};
use object_store::{
    aws::AmazonS3Builder, local::LocalFileSystem, path::Path as ObjectPath, BackoffConfig, ClientOptions, GetOptions,
    GetRange, ObjectStore, PutPayload, RetryConfig,
};
use sha2::{Digest, Sha256};
use std::{
    fmt, io,
    ops::Range,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

/// Where uploads wait for the variant pipeline.
const STAGING: &str = "staging";
/// Where members' data exports wait to be downloaded. Never served under `/media`.
const EXPORTS: &str = "exports";

const BUCKET_VAR: &str = "ATELIER_S3_BUCKET";
const REGION_VAR: &str = "ATELIER_S3_REGION";
const ENDPOINT_VAR: &str = "ATELIER_S3_ENDPOINT";
const ACCESS_KEY_VAR: &str = "ATELIER_S3_ACCESS_KEY_ID";
const SECRET_KEY_VAR: &str = "ATELIER_S3_SECRET_ACCESS_KEY";

/// Connection settings for S3-compatible storage (`ATELIER_S3_*`).
#[derive(Clone, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    pub region: String,
    /// Set for anything but AWS itself (MinIO, R2, Ceph, a test fake); path-style requests.
    pub endpoint: Option<String>,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

impl S3Settings {
    /// `None` when no bucket is named (media stays on local disk). A bucket without both
    /// keys is refused rather than left to guess credentials from the machine.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let error = |variable, problem: &str| ConfigError {
            variable,
            problem: problem.to_owned(),
        };
        let Some(bucket) = get(BUCKET_VAR) else {
            for variable in [REGION_VAR, ENDPOINT_VAR, ACCESS_KEY_VAR, SECRET_KEY_VAR] {
                if get(variable).is_some() {
                    return Err(error(
                        variable,
                        "has no effect on its own: S3 storage is chosen by ATELIER_S3_BUCKET",
                    ));
                }
            }
            return Ok(None);
        };
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid_bucket {
            return Err(error(
                BUCKET_VAR,
                "must be 3 to 63 lowercase letters, digits, dots or hyphens",
            ));
        }
        let endpoint = get(ENDPOINT_VAR);
        if let Some(endpoint) = &endpoint {
            let parsed = url::Url::parse(endpoint).map_err(|e| error(ENDPOINT_VAR, &format!("is not a URL: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(error(ENDPOINT_VAR, "must be an http:// or https:// URL with a host"));
            }
        }
        let (Some(access_key_id), Some(secret_access_key)) = (get(ACCESS_KEY_VAR), get(SECRET_KEY_VAR)) else {
            let missing = if get(ACCESS_KEY_VAR).is_none() {
                ACCESS_KEY_VAR
            } else {
                SECRET_KEY_VAR
            };
            return Err(error(
                missing,
                "is required with ATELIER_S3_BUCKET (set both ATELIER_S3_ACCESS_KEY_ID and \
                 ATELIER_S3_SECRET_ACCESS_KEY)",
            ));
        };
        Ok(Some(S3Settings {
            bucket,
            region: get(REGION_VAR).unwrap_or_else(|| "us-east-1".to_owned()),
            endpoint,
            access_key_id,
            secret_access_key,
        }))
    }
}

/// Bytes of a stored object as they arrive.
pub type ByteStream = BoxStream<'static, io::Result<Bytes>>;

#[derive(Clone)]
pub struct MediaStore {
    objects: Arc<dyn ObjectStore>,
    /// Set for local disk, where tower-http serves files straight from it.
    local_root: Option<PathBuf>,
}

impl fmt::Debug for MediaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MediaStore({})", self.objects)
    }
}

impl MediaStore {
    /// Files under `root`, which is created if missing.
    pub fn local(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        let objects = LocalFileSystem::new_with_prefix(&root).map_err(io::Error::other)?;
        Ok(MediaStore {
            objects: Arc::new(objects),
            local_root: Some(root),
        })
    }

    /// Objects in an S3-compatible bucket. Nothing is contacted until the first request.
    pub fn s3(settings: &S3Settings) -> io::Result<Self> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_access_key_id(&settings.access_key_id)
            .with_secret_access_key(&settings.secret_access_key)
            // A visitor waits on these requests: a few quick retries, then a clear error,
            // rather than the client's default of ten retries over three minutes.
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 3,
                retry_timeout: Duration::from_secs(10),
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(3))
                    .with_timeout(Duration::from_secs(60)),
            );
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let objects = builder.build().map_err(io::Error::other)?;
        Ok(MediaStore {
            objects: Arc::new(objects),
            local_root: None,
        })
    }

    /// S3 when configured, else the local media directory.
    pub fn from_config(config: &super::config::Config) -> io::Result<Self> {
        match &config.s3 {
            Some(settings) => Self::s3(settings),
            None => Self::local(&config.media_dir),
        }
    }

    /// The directory files live in, when they are on local disk.
    pub fn local_root(&self) -> Option<&Path> {
        self.local_root.as_deref()
    }

    /// Stores `bytes` under `ab/cd/<sha256>.<extension>` and returns that key. Bytes already
    /// stored are not sent again. Both backends write whole objects only (a temporary file
    /// and a rename on disk, a single PUT on S3), so no reader ever sees half a file.
    pub async fn put(&self, bytes: Bytes, extension: &str) -> io::Result<String> {
        let digest = hex::encode(Sha256::digest(&bytes));
        let key = format!("{}/{}/{}.{}", &digest[0..2], &digest[2..4], digest, extension);
        let location = object_path(&key)?;
        match self.objects.head(&location).await {
            Ok(_) => return Ok(key),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(error) => return Err(io_error(error)),
        }
        self.objects
            .put(&location, PutPayload::from_bytes(bytes))
            .await
            .map_err(io_error)?;
        Ok(key)
    }

    /// Keeps an upload as it came (metadata and all) under `staging/` until the pipeline
    /// has made the stored forms; returns its key. Never served: `/media` only reaches
    /// content-addressed keys and `/img` only keys recorded in `image_files`.
    pub async fn stage(&self, bytes: Bytes) -> io::Result<String> {
        let key = format!("{STAGING}/{}", hex::encode(Sha256::digest(&bytes)));
        self.objects
            .put(&object_path(&key)?, PutPayload::from_bytes(bytes))
            .await
            .map_err(io_error)?;
        Ok(key)
    }

    pub async fn read_staged(&self, key: &str) -> io::Result<Bytes> {
        let location = staged_path(key)?;
        let found = self.objects.get(&location).await.map_err(io_error)?;
        found.bytes().await.map_err(io_error)
    }

    pub async fn remove_staged(&self, key: &str) -> io::Result<()> {
        match self.objects.delete(&staged_path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(io_error(error)),
        }
    }

    /// Stores a member's data export under `exports/<random>.zip` and returns that key. The
    /// name is random, not a content address: an export is private to one member, and only
    /// the export route (which checks who is asking) ever reads it.
    pub async fn put_export(&self, bytes: Bytes) -> io::Result<String> {
        let key = format!("{EXPORTS}/{}.zip", super::secrets::random_hex(32));
        self.objects
            .put(&object_path(&key)?, PutPayload::from_bytes(bytes))
            .await
            .map_err(io_error)?;
        Ok(key)
    }

    /// Stores a finished export file (a collection's zip, which can run to gigabytes) under
    /// `exports/<random>.zip` without holding it in memory: it is sent in 8 MiB parts, a
    /// multipart upload on S3 and a temporary file renamed into place on disk.
    pub async fn put_export_file(&self, file: std::fs::File) -> io::Result<String> {
        const PART: usize = 8 * 1024 * 1024;
        let key = format!("{EXPORTS}/{}.zip", super::secrets::random_hex(32));
        let upload = self
            .objects
            .put_multipart(&object_path(&key)?)
            .await
            .map_err(io_error)?;
        let mut writer = object_store::WriteMultipart::new_with_chunk_size(upload, PART);
        // The file is a plain one on local disk: a blocking thread reads it part by part,
        // one part ahead of the upload.
        let (sender, mut parts) = tokio::sync::mpsc::channel::<io::Result<Vec<u8>>>(1);
        tokio::task::spawn_blocking(move || {
            use std::io::Read;
            let mut file = file;
            loop {
                let mut part = Vec::with_capacity(PART);
                match (&mut file).take(PART as u64).read_to_end(&mut part) {
                    Ok(0) => return,
                    Ok(_) => {
                        if sender.blocking_send(Ok(part)).is_err() {
                            return;
                        }
                    }
                    Err(error) => {
                        let _ = sender.blocking_send(Err(error));
                        return;
                    }
                }
            }
        });
        let sent = async {
            while let Some(part) = parts.recv().await {
                let part = part?;
                // At most two parts in flight: memory stays near two parts whatever the size.
                writer.wait_for_capacity(2).await.map_err(io_error)?;
                writer.write(&part);
            }
            Ok::<_, io::Error>(())
        }
        .await;
        match sent {
            Ok(()) => {
                writer.finish().await.map_err(io_error)?;
                Ok(key)
            }
            Err(error) => {
                let _ = writer.abort().await;
                Err(error)
            }
        }
    }

    /// Removes the object under `key`; one already gone is not an error.
    pub async fn delete(&self, key: &str) -> io::Result<()> {
        match self.objects.delete(&object_path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(io_error(error)),
        }
    }

    /// The whole object under `key`.
    pub async fn read(&self, key: &str) -> io::Result<Bytes> {
        let found = self.objects.get(&object_path(key)?).await.map_err(io_error)?;
        found.bytes().await.map_err(io_error)
    }

    /// Size in bytes of the object under `key`.
    pub async fn size(&self, key: &str) -> io::Result<u64> {
        let meta = self.objects.head(&object_path(key)?).await.map_err(io_error)?;
        Ok(meta.size)
    }

    /// The object under `key`, or the half-open byte `range` of it, as a stream.
    pub async fn open(&self, key: &str, range: Option<Range<u64>>) -> io::Result<ByteStream> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let found = self
            .objects
            .get_opts(&object_path(key)?, options)
            .await
            .map_err(io_error)?;
        Ok(found.into_stream().map_err(io_error).boxed())
    }

    /// Public URL path for a stored key.
    pub fn url_for(key: &str) -> String {
        format!("/media/{key}")
    }

    /// Whether `key` has the shape [`MediaStore::put`] gives keys: `ab/cd/<64 hex>.<ext>`.
    /// Only such keys are served under `/media`; staged uploads never are.
    pub fn is_public_key(key: &str) -> bool {
        let mut parts = key.splitn(3, '/');
        let (Some(first), Some(second), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
            return false;
        };
        let Some((digest, extension)) = name.split_once('.') else {
            return false;
        };
        let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        first.len() == 2
            && second.len() == 2
            && digest.len() == 64
            && hex(digest)
            && digest.starts_with(first)
            && digest[2..].starts_with(second)
            && (1..=5).contains(&extension.len())
            && extension.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }
}

fn object_path(key: &str) -> io::Result<ObjectPath> {
    ObjectPath::parse(key).map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))
}

/// Only `staging/<64 hex>` is a staged key; anything else (`..`, other folders) is refused.
fn staged_path(key: &str) -> io::Result<ObjectPath> {
    let valid = key
        .strip_prefix(STAGING)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|name| name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()));
    if !valid {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a staged key: {key}"),
        ));
    }
    object_path(key)
}

/// Keeps "not found" recognisable to callers; everything else is just an I/O failure.
fn io_error(error: object_store::Error) -> io::Error {
    match error {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, error),
        other => io::Error::other(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temporary_root(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("atelier-{name}-{}", std::process::id()))
    }

    #[tokio::test]
    async fn same_bytes_get_the_same_key_and_file() {
        let root = temporary_root("media");
        let store = MediaStore::local(&root).unwrap();
        let first = store.put(Bytes::from_static(b"hello"), "txt").await.unwrap();
        let second = store.put(Bytes::from_static(b"hello"), "txt").await.unwrap();
        assert_eq!(first, second);
        assert!(first.ends_with(".txt"));
        assert!(MediaStore::is_public_key(&first));
        assert_eq!(std::fs::read(root.join(&first)).unwrap(), b"hello");
        assert_eq!(store.size(&first).await.unwrap(), 5);
        assert_ne!(store.put(Bytes::from_static(b"other"), "txt").await.unwrap(), first);
        std::fs::remove_dir_all(root).ok();
    }

    #[tokio::test]
    async fn exports_get_private_random_keys_and_can_be_deleted_twice() {
        let root = temporary_root("exports");
        let store = MediaStore::local(&root).unwrap();
        let first = store.put_export(Bytes::from_static(b"PK zip")).await.unwrap();
        let second = store.put_export(Bytes::from_static(b"PK zip")).await.unwrap();
        assert!(first.starts_with("exports/") && first.ends_with(".zip"), "{first}");
        assert_ne!(first, second, "the same bytes still get a new, unguessable name");
        assert!(
            !MediaStore::is_public_key(&first),
            "exports are never served under /media"
        );
        assert_eq!(store.read(&first).await.unwrap(), Bytes::from_static(b"PK zip"));
        store.delete(&first).await.unwrap();
        assert_eq!(store.read(&first).await.unwrap_err().kind(), io::ErrorKind::NotFound);
        store
            .delete(&first)
            .await
            .expect("deleting what is gone is not an error");
        std::fs::remove_dir_all(root).ok();
    }

    #[tokio::test]
    async fn export_files_larger_than_a_part_arrive_whole() {
        use std::io::{Seek, Write};
        let root = temporary_root("export-files");
        let store = MediaStore::local(&root).unwrap();
        // Two full 8 MiB parts and a short third one.
        let bytes: Vec<u8> = (0..(16 * 1024 * 1024 + 3)).map(|i: u32| (i % 251) as u8).collect();
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&bytes).unwrap();
        file.rewind().unwrap();
        let key = store.put_export_file(file).await.unwrap();
        assert!(key.starts_with("exports/") && key.ends_with(".zip"), "{key}");
        assert!(store.read(&key).await.unwrap() == bytes, "the stored file differs");
        std::fs::remove_dir_all(root).ok();
    }

    #[tokio::test]
    async fn staged_uploads_round_trip_and_foreign_keys_are_refused() {
        let root = temporary_root("staging");
        let store = MediaStore::local(&root).unwrap();
        let key = store.stage(Bytes::from_static(b"raw upload")).await.unwrap();
        assert!(key.starts_with("staging/"));
        assert!(!MediaStore::is_public_key(&key), "staged uploads are never public");
        assert_eq!(
            store.read_staged(&key).await.unwrap(),
            Bytes::from_static(b"raw upload")
        );
        store.remove_staged(&key).await.unwrap();
        store.remove_staged(&key).await.unwrap();
        assert_eq!(
            store.read_staged(&key).await.unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        for hostile in ["../secret.key", "staging/../../etc/passwd", "ab/cd/file.jpg"] {
            assert_eq!(
                store.read_staged(hostile).await.unwrap_err().kind(),
                io::ErrorKind::InvalidInput
            );
        }
        std::fs::remove_dir_all(root).ok();
    }

    #[test]
    fn only_content_addressed_keys_are_public() {
        let digest = hex::encode(Sha256::digest(b"x"));
        let good = format!("{}/{}/{digest}.webp", &digest[0..2], &digest[2..4]);
        assert!(MediaStore::is_public_key(&good));
        for bad in [
            format!("staging/{digest}"),
            format!("00/00/{digest}.webp"),
            format!("{}/{}/{digest}", &digest[0..2], &digest[2..4]),
            format!("{}/{}/{digest}.we/bp", &digest[0..2], &digest[2..4]),
            format!("{}/{}/../{digest}.webp", &digest[0..2], &digest[2..4]),
            "secret.key".to_owned(),
        ] {
            assert!(!MediaStore::is_public_key(&bad), "{bad}");
        }
    }

    fn settings(pairs: &[(&str, &str)]) -> Result<Option<S3Settings>, ConfigError> {
        let map: std::collections::HashMap<String, String> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        S3Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn s3_is_chosen_by_the_bucket_and_needs_both_keys() {
        assert_eq!(settings(&[]).unwrap(), None);
        let full = settings(&[
            (BUCKET_VAR, "atelier-media"),
            (ENDPOINT_VAR, "http://127.0.0.1:9000"),
            (ACCESS_KEY_VAR, "key"),
            (SECRET_KEY_VAR, "very-secret"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(full.region, "us-east-1");
        assert!(!format!("{full:?}").contains("very-secret"), "the secret is redacted");
        let missing = settings(&[(BUCKET_VAR, "atelier-media"), (ACCESS_KEY_VAR, "key")]).unwrap_err();
        assert_eq!(missing.variable, SECRET_KEY_VAR);
        let stray = settings(&[(ENDPOINT_VAR, "http://127.0.0.1:9000")]).unwrap_err();
        assert_eq!(stray.variable, ENDPOINT_VAR);
        let bucket = settings(&[(BUCKET_VAR, "Not_Valid"), (ACCESS_KEY_VAR, "k"), (SECRET_KEY_VAR, "s")]).unwrap_err();
        assert_eq!(bucket.variable, BUCKET_VAR);
        let endpoint = settings(&[
            (BUCKET_VAR, "media"),
            (ENDPOINT_VAR, "ftp://example.com"),
            (ACCESS_KEY_VAR, "k"),
            (SECRET_KEY_VAR, "s"),
        ])
        .unwrap_err();
        assert_eq!(endpoint.variable, ENDPOINT_VAR);
    }
}
