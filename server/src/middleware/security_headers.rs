//! Security headers on every response, and a Content-Security-Policy with a fresh nonce on
//! every HTML response. The nonce reaches Leptos through request extensions, so the
//! hydration script carries the same value the header allows. Over HTTPS every response
//! also tells the browser to use nothing else (HSTS).

use app::features::privacy::consent::{self, Category};
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
};
use std::sync::Arc;

/// The nonce for this response's inline scripts.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// Origins the policy allows beyond our own.
#[derive(Clone, Debug, Default)]
pub struct CspSources {
    /// The configured PostHog host: analytics events may be sent there, and nowhere else.
    pub analytics_origin: Option<String>,
    /// Stripe's hosted Checkout and portal: a form that starts either is answered with a
    /// redirect there, which `form-action` must allow.
    pub payment_origins: Vec<String>,
}

/// What the headers depend on, fixed at start from the configuration.
#[derive(Clone, Debug, Default)]
pub struct HeaderPolicy {
    pub sources: CspSources,
    /// The privacy policy version: only a choice saved under it allows analytics.
    pub policy_version: u32,
    /// `ATELIER_PUBLIC_URL` is HTTPS, so browsers are told to come back over HTTPS only.
    pub strict_transport: bool,
}

/// A year, and every subdomain: the value browsers' preload lists ask for, short of `preload`
/// (which is the operator's decision to make).
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000; includeSubDomains";

/// Scripts: only ours and those carrying the nonce; `wasm-unsafe-eval` lets the browser
/// compile our wasm. Style attributes are allowed (per-image aspect ratios and colours);
/// style elements and scripts are not. Requests go to our origin, and to the analytics
/// host only when one is configured and this visitor allowed analytics: before that the
/// browser itself refuses to send anything there, whatever script runs.
pub fn content_security_policy(nonce: &str, sources: &CspSources, analytics_allowed: bool) -> String {
    let connect = match &sources.analytics_origin {
        Some(origin) if analytics_allowed => format!("'self' {origin}"),
        _ => "'self'".to_owned(),
    };
    let form_action = std::iter::once("'self'")
        .chain(sources.payment_origins.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'nonce-{nonce}'; style-src-attr 'unsafe-inline'; img-src 'self' data: blob:; \
         font-src 'self'; connect-src {connect}; object-src 'none'; base-uri 'none'; form-action {form_action}; \
         frame-ancestors 'none'"
    )
}

pub async fn security_headers(State(policy): State<Arc<HeaderPolicy>>, request: Request, next: Next) -> Response {
    let nonce = leptos::nonce::Nonce::new().to_string();
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(CspNonce(nonce.clone()));
    // The consent the page is rendered with is the request's (its consent cookie), the
    // same one `Analytics` reads to decide whether the loader is in the page.
    let analytics_allowed = consent::allows(&parts, policy.policy_version, Category::Analytics);
    let mut response = next.run(Request::from_parts(parts, body)).await;
    let headers = response.headers_mut();
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        let csp = content_security_policy(&nonce, &policy.sources, analytics_allowed);
        if let Ok(value) = HeaderValue::from_str(&csp) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    if policy.strict_transport {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        );
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::{content_security_policy, CspSources};

    #[test]
    fn requests_go_to_the_analytics_host_only_when_configured_and_allowed() {
        let directive = |csp: &str| {
            csp.split(';')
                .map(str::trim)
                .find(|d| d.starts_with("connect-src "))
                .unwrap()
                .to_owned()
        };
        assert_eq!(
            directive(&content_security_policy("n", &CspSources::default(), true)),
            "connect-src 'self'"
        );
        let sources = CspSources {
            analytics_origin: Some("https://eu.i.posthog.com".into()),
            ..CspSources::default()
        };
        assert_eq!(
            directive(&content_security_policy("n", &sources, false)),
            "connect-src 'self'",
            "not before the visitor allowed analytics"
        );
        assert_eq!(
            directive(&content_security_policy("n", &sources, true)),
            "connect-src 'self' https://eu.i.posthog.com"
        );
    }

    #[test]
    fn forms_may_lead_to_stripe_only_when_payments_are_on() {
        let directive = |sources: &CspSources| {
            content_security_policy("n", sources, false)
                .split(';')
                .map(str::trim)
                .find(|d| d.starts_with("form-action "))
                .unwrap()
                .to_owned()
        };
        assert_eq!(directive(&CspSources::default()), "form-action 'self'");
        let sources = CspSources {
            payment_origins: vec![
                "https://checkout.stripe.com".into(),
                "https://billing.stripe.com".into(),
            ],
            ..CspSources::default()
        };
        assert_eq!(
            directive(&sources),
            "form-action 'self' https://checkout.stripe.com https://billing.stripe.com"
        );
    }

    #[test]
    fn policy_allows_only_nonced_scripts() {
        let csp = content_security_policy("abc123", &CspSources::default(), false);
        let script_src = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src "))
            .unwrap();
        assert_eq!(script_src, "script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval'");
        assert!(!script_src.contains("unsafe-inline"));
        assert!(csp.contains("frame-ancestors 'none'"));
    }
}
