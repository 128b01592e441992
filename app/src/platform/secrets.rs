//! Unguessable values (session tokens, emailed links, consent ids, private file names) and
//! the one-way hash under which the database keeps them.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// `bytes` bytes from the operating system's generator, as lower-case hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// SHA-256 of a secret, as stored in place of the secret itself.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `value` has the shape of a 32-byte [`random_hex`] secret.
pub fn is_secret_shape(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_hex_of_the_asked_length() {
        let first = random_hex(32);
        assert!(is_secret_shape(&first));
        assert_ne!(first, random_hex(32));
        assert_eq!(random_hex(16).len(), 32);
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
