//! The server's secret key and the HMAC-signed links made with it (downloads today).
//!
//! The key comes from `ATELIER_SECRET_KEY` (64 hex characters) when set — every instance
//! behind one site must share it — or else from `<data dir>/secret.key`, created with 32
//! random bytes on first start, so the embedded default needs no setup and links survive
//! restarts.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::{fmt, io::Write, path::Path};

type HmacSha256 = Hmac<Sha256>;

/// How long a signed download link works, in seconds.
pub const DOWNLOAD_LINK_SECONDS: i64 = 10 * 60;
/// Bytes of the MAC kept in a link (128 bits: plenty against guessing, short in a URL).
const TAG_BYTES: usize = 16;

#[derive(Clone)]
pub struct SecretKey([u8; 32]);

/// Never printed.
impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl SecretKey {
    pub fn from_hex(raw: &str) -> Option<Self> {
        let bytes = hex::decode(raw.trim()).ok()?;
        Some(SecretKey(bytes.try_into().ok()?))
    }

    /// `configured` (from `ATELIER_SECRET_KEY`) or the key file in `data_dir`, created when
    /// missing (readable by this user only).
    pub fn load_or_create(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(raw) = configured {
            return Self::from_hex(raw)
                .ok_or_else(|| anyhow::anyhow!("ATELIER_SECRET_KEY must be 64 hexadecimal characters (32 bytes)"));
        }
        let path = data_dir.join("secret.key");
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_hex(&text)
                .ok_or_else(|| anyhow::anyhow!("{} does not hold 64 hexadecimal characters", path.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir)?;
                let mut bytes = [0u8; 32];
                OsRng.fill_bytes(&mut bytes);
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                match options.open(&path) {
                    Ok(mut file) => {
                        file.write_all(hex::encode(bytes).as_bytes())?;
                        Ok(SecretKey(bytes))
                    }
                    // Another process created it first: use theirs.
                    Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::load_or_create(None, data_dir)
                    }
                    Err(error) => Err(anyhow::anyhow!("could not create {}: {error}", path.display())),
                }
            }
            Err(error) => Err(anyhow::anyhow!("could not read {}: {error}", path.display())),
        }
    }

    fn mac(&self, purpose: &str, parts: &[&str]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        for part in parts {
            // Length-prefixed, so ("ab", "c") and ("a", "bc") sign differently.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    /// A hex tag over `parts` for one purpose.
    pub fn sign(&self, purpose: &str, parts: &[&str]) -> String {
        let tag = self.mac(purpose, parts).finalize().into_bytes();
        hex::encode(&tag[..TAG_BYTES])
    }

    /// Whether `tag` is [`sign`](Self::sign)'s answer for `parts`, compared in constant time.
    pub fn verify(&self, purpose: &str, parts: &[&str], tag: &str) -> bool {
        let Ok(bytes) = hex::decode(tag) else { return false };
        bytes.len() == TAG_BYTES && self.mac(purpose, parts).verify_truncated_left(&bytes).is_ok()
    }

    /// A keyed hash for values that must be recognisable but not reversible (a visitor's
    /// address for de-duplicating views). Hex, 32 characters.
    pub fn pseudonym(&self, purpose: &str, parts: &[&str]) -> String {
        self.sign(purpose, parts)
    }
}

/// The parts of a signed download link: `/dl/{id}?size=…&expires=…&token=…`.
pub fn download_path(key: &SecretKey, public_id: &str, size: &str, expires: i64) -> String {
    let token = key.sign("download", &[public_id, size, &expires.to_string()]);
    format!("/dl/{public_id}?size={size}&expires={expires}&token={token}")
}

/// Whether a download link's token is genuine and it has not expired (nor claims to live
/// longer than any link we make).
pub fn download_link_valid(key: &SecretKey, public_id: &str, size: &str, expires: i64, token: &str, now: i64) -> bool {
    expires >= now
        && expires <= now + DOWNLOAD_LINK_SECONDS + 60
        && key.verify("download", &[public_id, size, &expires.to_string()], token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_hex(&"ab".repeat(32)).unwrap()
    }

    #[test]
    fn signed_links_verify_and_any_change_breaks_them() {
        let key = key();
        let now = 1_800_000_000;
        let expires = now + DOWNLOAD_LINK_SECONDS;
        let token = key.sign("download", &["abc", "full", &expires.to_string()]);
        assert!(download_link_valid(&key, "abc", "full", expires, &token, now));
        assert!(
            !download_link_valid(&key, "abc", "original", expires, &token, now),
            "another size"
        );
        assert!(
            !download_link_valid(&key, "abd", "full", expires, &token, now),
            "another image"
        );
        assert!(
            !download_link_valid(&key, "abc", "full", expires + 1, &token, now),
            "a later expiry"
        );
        assert!(
            !download_link_valid(&key, "abc", "full", expires, &token, expires + 1),
            "expired"
        );
        let mut flipped = token.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        assert!(!download_link_valid(
            &key,
            "abc",
            "full",
            expires,
            &String::from_utf8(flipped).unwrap(),
            now
        ));
        assert!(!download_link_valid(&key, "abc", "full", expires, "not hex", now));
        let other = SecretKey::from_hex(&"cd".repeat(32)).unwrap();
        assert!(
            !download_link_valid(&other, "abc", "full", expires, &token, now),
            "another key"
        );
    }

    #[test]
    fn links_that_claim_to_live_too_long_are_refused() {
        let key = key();
        let now = 1_800_000_000;
        let far = now + 86_400;
        let token = key.sign("download", &["abc", "full", &far.to_string()]);
        assert!(!download_link_valid(&key, "abc", "full", far, &token, now));
    }

    #[test]
    fn the_key_file_is_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("atelier-key-{}-{}", std::process::id(), fastrand::u64(..)));
        let first = SecretKey::load_or_create(None, &dir).unwrap();
        let second = SecretKey::load_or_create(None, &dir).unwrap();
        assert_eq!(first.0, second.0);
        assert!(SecretKey::load_or_create(Some("too short"), &dir).is_err());
        std::fs::remove_dir_all(dir).ok();
    }
}
