//! Signed form errors. A form posted without JavaScript that fails is sent back to its page
//! with the error in the address (`?__path=…&__err=…`, server_fn's progressive enhancement),
//! and the page shows whatever that error says. Unsigned, anyone could link to one of our
//! pages with text of their choosing shown as our own message ("your account is locked,
//! call…"). So the error is signed with the server's key on the way out, and a page address
//! carrying an error without a valid signature is sent to the same address without it.

use app::platform::signing::SecretKey;
use axum::{
    extract::{Request, State},
    http::{header::LOCATION, HeaderValue, Method, Uri},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use url::Url;

const PATH: &str = "__path";
const ERROR: &str = "__err";
const SIGNATURE: &str = "__sig";
/// What the signature is for, so it can never stand for another signed value.
const PURPOSE: &str = "form-error";

pub async fn signed_form_errors(State(key): State<SecretKey>, request: Request, next: Next) -> Response {
    let reads_a_page = matches!(*request.method(), Method::GET | Method::HEAD);
    if reads_a_page {
        if let Some(clean) = without_unsigned_error(&key, request.uri()) {
            return Redirect::to(&clean).into_response();
        }
    }
    let mut response = next.run(request).await;
    if response.status().is_redirection() {
        sign_redirect(&key, &mut response);
    }
    response
}

/// The query's pairs, decoded.
fn pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

fn value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn is_error_pair(name: &str) -> bool {
    matches!(name, PATH | ERROR | SIGNATURE)
}

/// For an address carrying error parameters that are not one signed set: the same address
/// without them. `None` when there is nothing to remove.
fn without_unsigned_error(key: &SecretKey, uri: &Uri) -> Option<String> {
    // Every page request passes here: decode only a query that can hold one of the names,
    // plainly or with its underscores percent-encoded (`%5F`), which decoding would reveal.
    let query = uri
        .query()
        .filter(|query| ["__", "%5F", "%5f"].iter().any(|mark| query.contains(mark)))?;
    let pairs = pairs(query);
    if !pairs.iter().any(|(name, _)| is_error_pair(name)) {
        return None;
    }
    let signed = match (value(&pairs, PATH), value(&pairs, ERROR), value(&pairs, SIGNATURE)) {
        (Some(path), Some(error), Some(signature)) => key.verify(PURPOSE, &[path, error], signature),
        _ => false,
    };
    if signed {
        return None;
    }
    let kept: Vec<_> = pairs.into_iter().filter(|(name, _)| !is_error_pair(name)).collect();
    let mut clean = uri.path().to_owned();
    if !kept.is_empty() {
        clean.push('?');
        clean.push_str(
            &url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(kept)
                .finish(),
        );
    }
    Some(clean)
}

/// Adds the signature to a redirect that carries an error back to its page, and drops a
/// stale one from a redirect that no longer does (server_fn removes only its own two).
fn sign_redirect(key: &SecretKey, response: &mut Response) {
    let Some(location) = response.headers().get(LOCATION).and_then(|value| value.to_str().ok()) else {
        return;
    };
    if !location.contains(ERROR) && !location.contains(SIGNATURE) {
        return;
    }
    let Some(signed) = signed_location(key, location) else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&signed) {
        response.headers_mut().insert(LOCATION, value);
    }
}

fn signed_location(key: &SecretKey, location: &str) -> Option<String> {
    // server_fn redirects to the absolute Referer; our own redirects are paths.
    const BASE: &str = "http://relative.invalid";
    let relative = Url::parse(location).is_err();
    let mut url = if relative {
        Url::parse(BASE).ok()?.join(location).ok()?
    } else {
        Url::parse(location).ok()?
    };
    let mut kept: Vec<_> = pairs(url.query().unwrap_or_default())
        .into_iter()
        .filter(|(name, _)| name != SIGNATURE)
        .collect();
    if let (Some(path), Some(error)) = (value(&kept, PATH), value(&kept, ERROR)) {
        let signature = key.sign(PURPOSE, &[path, error]);
        kept.push((SIGNATURE.to_owned(), signature));
    }
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    Some(if relative {
        url.as_str().strip_prefix(BASE)?.to_owned()
    } else {
        url.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_hex(&"cd".repeat(32)).unwrap()
    }

    #[test]
    fn a_signed_error_survives_and_an_unsigned_or_altered_one_is_removed() {
        let key = key();
        let signed = signed_location(&key, "http://a.test/signin?next=%2Fx&__path=%2Fapi%2Fsign_in&__err=abc").unwrap();
        let uri: Uri = signed.strip_prefix("http://a.test").unwrap().parse().unwrap();
        assert_eq!(without_unsigned_error(&key, &uri), None, "{signed}");

        let altered: Uri = uri.to_string().replace("__err=abc", "__err=abd").parse().unwrap();
        assert_eq!(
            without_unsigned_error(&key, &altered).as_deref(),
            Some("/signin?next=%2Fx")
        );
        let unsigned: Uri = "/signin?__path=%2Fapi%2Fsign_in&__err=abc".parse().unwrap();
        assert_eq!(without_unsigned_error(&key, &unsigned).as_deref(), Some("/signin"));
        let plain: Uri = "/signin?next=%2Fx".parse().unwrap();
        assert_eq!(without_unsigned_error(&key, &plain), None);
        let encoded: Uri = "/signin?%5F%5Fpath=%2Fapi&%5f_err=abc".parse().unwrap();
        assert_eq!(without_unsigned_error(&key, &encoded).as_deref(), Some("/signin"));
    }

    #[test]
    fn a_stale_signature_leaves_with_the_error_it_signed() {
        let key = key();
        assert_eq!(
            signed_location(&key, "/account/privacy?__sig=00").as_deref(),
            Some("/account/privacy")
        );
    }
}
