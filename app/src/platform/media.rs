//! Local-disk media storage with content-addressed keys: the same bytes always land at the
//! same key, so URLs built from keys can be cached forever.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

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
}
