//! Local-disk media storage with content-addressed keys: the same bytes always land at the
//! same key, so URLs built from keys can be cached forever.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Where uploads wait for the variant pipeline.
const STAGING: &str = "staging";

#[derive(Clone, Debug)]
pub struct MediaStore {
    root: PathBuf,
}

impl MediaStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        MediaStore { root: root.into() }
    }

    /// Stores `bytes` under `ab/cd/<sha256>.<extension>` and returns that key. Writing goes
    /// through a temporary file and a rename, so a crash never leaves a half-written file
    /// under a final key.
    pub fn put(&self, bytes: &[u8], extension: &str) -> std::io::Result<String> {
        let digest = hex::encode(Sha256::digest(bytes));
        let key = format!("{}/{}/{}.{}", &digest[0..2], &digest[2..4], digest, extension);
        let path = self.root.join(&key);
        if path.exists() {
            return Ok(key);
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let temporary = path.with_extension(format!("{extension}.tmp-{}", std::process::id()));
        std::fs::write(&temporary, bytes)?;
        std::fs::rename(&temporary, &path)?;
        Ok(key)
    }

    /// Keeps an upload as it came (metadata and all) under `staging/` until the pipeline
    /// has made the stored forms; returns its key. Never served: `/media` and `/img` only
    /// reach keys recorded in `image_files` or avatars.
    pub fn stage(&self, bytes: &[u8]) -> std::io::Result<String> {
        let digest = hex::encode(Sha256::digest(bytes));
        let key = format!("{STAGING}/{digest}");
        let path = self.root.join(&key);
        std::fs::create_dir_all(self.root.join(STAGING))?;
        let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
        std::fs::write(&temporary, bytes)?;
        std::fs::rename(&temporary, &path)?;
        Ok(key)
    }

    pub fn read_staged(&self, key: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.staged_path(key)?)
    }

    pub fn remove_staged(&self, key: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.staged_path(key)?) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }

    /// Only `staging/<64 hex>` is a staged key; anything else (`..`, other folders) is refused.
    fn staged_path(&self, key: &str) -> std::io::Result<PathBuf> {
        let valid = key
            .strip_prefix(STAGING)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|name| name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()));
        if !valid {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("not a staged key: {key}"),
            ));
        }
        Ok(self.root.join(key))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Public URL path for a stored key.
    pub fn url_for(key: &str) -> String {
        format!("/media/{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_get_the_same_key_and_file() {
        let root = std::env::temp_dir().join(format!("atelier-media-{}", std::process::id()));
        let store = MediaStore::new(&root);
        let first = store.put(b"hello", "txt").unwrap();
        let second = store.put(b"hello", "txt").unwrap();
        assert_eq!(first, second);
        assert!(first.ends_with(".txt"));
        assert_eq!(std::fs::read(root.join(&first)).unwrap(), b"hello");
        assert_ne!(store.put(b"other", "txt").unwrap(), first);
        std::fs::remove_dir_all(root).ok();
    }

    #[test]
    fn staged_uploads_round_trip_and_foreign_keys_are_refused() {
        let root = std::env::temp_dir().join(format!("atelier-staging-{}", std::process::id()));
        let store = MediaStore::new(&root);
        let key = store.stage(b"raw upload").unwrap();
        assert!(key.starts_with("staging/"));
        assert_eq!(store.read_staged(&key).unwrap(), b"raw upload");
        store.remove_staged(&key).unwrap();
        store.remove_staged(&key).unwrap();
        assert!(store.read_staged(&key).is_err());
        for hostile in ["../secret.key", "staging/../../etc/passwd", "ab/cd/file.jpg"] {
            assert_eq!(
                store.read_staged(hostile).unwrap_err().kind(),
                std::io::ErrorKind::InvalidInput
            );
        }
        std::fs::remove_dir_all(root).ok();
    }
}
