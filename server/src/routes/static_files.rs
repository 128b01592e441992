//! Static files: the compiled front end under `/pkg` (precompressed; immutable when its
//! names carry content hashes). Media under `/media` is served by `stored`.

use axum::{http::HeaderValue, Router};
use std::path::Path;
use tower::ServiceBuilder;
use tower_http::{services::ServeDir, set_header::SetResponseHeaderLayer};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

fn cached_dir<S: Clone + Send + Sync + 'static>(dir: &Path, cache_control: &'static str) -> Router<S> {
    let service = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            axum::http::header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        ))
        .service(ServeDir::new(dir).precompressed_br().precompressed_gzip());
    Router::new().fallback_service(service)
}

/// `/pkg/*`: JS, wasm and CSS built by cargo-leptos.
pub fn pkg<S: Clone + Send + Sync + 'static>(site_root: &Path, hashed_names: bool) -> Router<S> {
    cached_dir(
        &site_root.join("pkg"),
        if hashed_names { IMMUTABLE } else { REVALIDATE },
    )
}
