//! Security headers on every response, and a Content-Security-Policy with a fresh nonce on
//! every HTML response. The nonce reaches Leptos through request extensions, so the
//! hydration script carries the same value the header allows.

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

/// Scripts: only ours and those carrying the nonce; `wasm-unsafe-eval` lets the browser
/// compile our wasm. Style attributes are allowed (per-image aspect ratios and colours);
/// style elements and scripts are not. Requests go to our origin, and to the analytics
/// host only when one is configured.
pub fn content_security_policy(nonce: &str, sources: &CspSources) -> String {
    let connect = match &sources.analytics_origin {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_owned(),
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

pub async fn security_headers(State(sources): State<Arc<CspSources>>, mut request: Request, next: Next) -> Response {
    let nonce = leptos::nonce::Nonce::new().to_string();
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        if let Ok(value) = HeaderValue::from_str(&content_security_policy(&nonce, &sources)) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
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
    fn requests_go_to_the_analytics_host_only_when_one_is_configured() {
        let directive = |csp: &str| {
            csp.split(';')
                .map(str::trim)
                .find(|d| d.starts_with("connect-src "))
                .unwrap()
                .to_owned()
        };
        assert_eq!(
            directive(&content_security_policy("n", &CspSources::default())),
            "connect-src 'self'"
        );
        let sources = CspSources {
            analytics_origin: Some("https://eu.i.posthog.com".into()),
            ..CspSources::default()
        };
        assert_eq!(
            directive(&content_security_policy("n", &sources)),
            "connect-src 'self' https://eu.i.posthog.com"
        );
    }

    #[test]
    fn forms_may_lead_to_stripe_only_when_payments_are_on() {
        let directive = |sources: &CspSources| {
            content_security_policy("n", sources)
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
        let csp = content_security_policy("abc123", &CspSources::default());
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
