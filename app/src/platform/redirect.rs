//! The one rule for where a form may send the browser afterwards (`?next=` after sign-in,
//! single sign-on, collections): a path on this site, nothing a browser could read as
//! another host.

/// Longest `next` kept; a longer one is not a link anyone followed.
const MAX_NEXT_BYTES: usize = 2048;

/// `next` when it is a same-site path, else `/`.
///
/// Only printable ASCII is allowed: browsers drop tabs and newlines from URLs
/// (`/\t/evil.example` is followed as `//evil.example`) and read `\` as `/`, and the value
/// goes into a `Location` header. The rule is checked again on the percent-decoded form,
/// so an encoded `//` or `\` cannot turn into a host at a later decode either.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if is_printable_path(path.as_bytes()) && stays_on_site(&percent_decoded(path)) => path.to_owned(),
        _ => "/".to_owned(),
    }
}

/// A path of printable ASCII that no browser reads as a host.
fn is_printable_path(path: &[u8]) -> bool {
    path.len() <= MAX_NEXT_BYTES && path.iter().all(|byte| (0x21..=0x7e).contains(byte)) && stays_on_site(path)
}

/// Starts with one `/`, and holds no `\` and no control character (non-ASCII is fine
/// once decoded: `/caf%C3%A9` is a path like any other).
fn stays_on_site(path: &[u8]) -> bool {
    path.first() == Some(&b'/')
        && !matches!(path.get(1), Some(b'/'))
        && path.iter().all(|byte| *byte != b'\\' && *byte >= 0x20 && *byte != 0x7f)
}

/// `%XX` sequences decoded once; malformed ones are kept as they are.
fn percent_decoded(path: &str) -> Vec<u8> {
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes
            .get(index + 1..index + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok());
        match (bytes[index], hex.and_then(|pair| u8::from_str_radix(pair, 16).ok())) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                index += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    decoded
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn same_site_paths_pass_unchanged() {
        for path in [
            "/",
            "/account/sessions",
            "/search?q=red+fox&page=2",
            "/collections/a-b#exports",
            "/caf%C3%A9",
        ] {
            assert_eq!(safe_next(Some(path)), path);
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn anything_a_browser_could_read_as_another_host_is_refused() {
        for hostile in [
            "//evil.example",
            "///evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
            "/\\evil.example",
            "\\/evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/ /evil.example",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "%2F%2Fevil.example",
            "/%5Cevil.example",
            "/%09/evil.example",
            "/caf\u{e9}",
            "/\u{0}",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(safe_next(Some(&format!("/{}", "a".repeat(2048)))), "/");
    }
}
