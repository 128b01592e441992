//! Refuses state-changing requests that a browser marks as coming from another site
//! (cross-site request forgery). Server-to-server endpoints with their own authentication
//! (webhooks, the API with keys) are exempt by path prefix.

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::sync::Arc;

/// Paths whose callers are not browsers and authenticate themselves.
const EXEMPT_PREFIXES: &[&str] = &["/webhooks/", "/api/v1/"];

#[derive(Clone, Debug)]
pub struct OriginPolicy {
    /// The configured public origin, e.g. `https://atelier.example`.
    pub public_origin: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Refused(&'static str),
}

/// Decides from the browser's own headers. Requests without `Sec-Fetch-Site` or `Origin`
/// do not come from a browser page, so forgery does not apply to them.
pub fn judge(method: &Method, path: &str, headers: &HeaderMap, policy: &OriginPolicy) -> Verdict {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
        || EXEMPT_PREFIXES.iter().any(|prefix| path.starts_with(prefix))
    {
        return Verdict::Allowed;
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"none" => Verdict::Allowed,
            _ => Verdict::Refused("cross-site requests may not change anything here"),
        };
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Verdict::Allowed;
    };
    let origin = origin.to_ascii_lowercase();
    if origin == policy.public_origin {
        return Verdict::Allowed;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    match (origin_host, host) {
        (Some(origin_host), Some(host)) if origin_host == host => Verdict::Allowed,
        _ => Verdict::Refused("requests from another origin may not change anything here"),
    }
}

pub async fn same_origin_guard(State(policy): State<Arc<OriginPolicy>>, request: Request, next: Next) -> Response {
    match judge(request.method(), request.uri().path(), request.headers(), &policy) {
        Verdict::Allowed => next.run(request).await,
        Verdict::Refused(reason) => {
            tracing::warn!(path = %request.uri().path(), reason, "refused a cross-origin state change");
            (StatusCode::FORBIDDEN, reason).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn policy() -> OriginPolicy {
        OriginPolicy {
            public_origin: "https://atelier.example".into(),
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn safe_methods_and_exempt_paths_pass() {
        let cross = headers(&[("sec-fetch-site", "cross-site")]);
        assert_eq!(judge(&Method::GET, "/", &cross, &policy()), Verdict::Allowed);
        assert_eq!(
            judge(&Method::POST, "/webhooks/stripe", &cross, &policy()),
            Verdict::Allowed
        );
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        for site in ["cross-site", "same-site"] {
            let h = headers(&[("sec-fetch-site", site), ("origin", "https://atelier.example")]);
            assert!(
                matches!(judge(&Method::POST, "/api/x", &h, &policy()), Verdict::Refused(_)),
                "{site}"
            );
        }
        let h = headers(&[("sec-fetch-site", "same-origin")]);
        assert_eq!(judge(&Method::POST, "/api/x", &h, &policy()), Verdict::Allowed);
    }

    #[test]
    fn origin_must_match_host_or_public_origin() {
        let same = headers(&[("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")]);
        assert_eq!(judge(&Method::POST, "/api/x", &same, &policy()), Verdict::Allowed);
        let public = headers(&[("origin", "https://atelier.example"), ("host", "10.0.0.1:3000")]);
        assert_eq!(judge(&Method::DELETE, "/x", &public, &policy()), Verdict::Allowed);
        let evil = headers(&[("origin", "https://evil.example"), ("host", "127.0.0.1:3000")]);
        assert!(matches!(
            judge(&Method::POST, "/api/x", &evil, &policy()),
            Verdict::Refused(_)
        ));
        let null = headers(&[("origin", "null"), ("host", "127.0.0.1:3000")]);
        assert!(matches!(
            judge(&Method::PUT, "/x", &null, &policy()),
            Verdict::Refused(_)
        ));
    }
}
