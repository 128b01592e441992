//! Builds the application — state, router, middleware, job workers — the same way for
//! `main` and for the black-box tests, and runs it until a shutdown signal.

use crate::{
    middleware::{
        client_address::{client_address, AddressPolicy},
        form_errors::signed_form_errors,
        page_views::count_page_views,
        same_origin::{same_origin_guard, OriginPolicy},
        security_headers::{security_headers, CspNonce, CspSources, HeaderPolicy},
        server_fn_status::server_fn_error_status,
    },
    routes::{
        avatar, chat, exports, health, images, oidc as oidc_routes, static_files, stored, stripe_webhook, usage,
        well_known,
    },
};
use app::{
    features::{
        billing::events::StripeEventJob, collections::export::CollectionExportJob, library::ingest::IngestJob,
        privacy::export::ExportJob,
    },
    platform::{
        config::Config,
        db::Database,
        jobs::{run_worker, JobQueue, JobRegistry},
        mail::{MailDelivery, Mailer},
        media::MediaStore,
        rate_limit::AuthRateLimits,
        state::AppState,
    },
    shell, App,
};
use axum::{
    http::{HeaderName, Request as HttpRequest},
    middleware::from_fn,
    middleware::from_fn_with_state,
    routing::get,
    Router,
};
use leptos::prelude::*;
use leptos_axum::{file_and_error_handler_with_context, generate_route_list, AxumRouteListing, LeptosRoutes};
use std::{
    future::Future,
    net::SocketAddr,
    sync::{Arc, LazyLock},
    time::Duration,
};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::CompressionLayer,
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Whether cargo-leptos wrote content-hashed asset names (it leaves `hash.txt` beside the
/// server binary); tests and unbundled runs use plain names.
fn assets_are_hashed() -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt")))
        .is_some_and(|path| path.exists())
}

fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("atelier")
        .site_root(config.site_root.to_string_lossy().as_ref())
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        .hash_files(assets_are_hashed())
        .env(leptos::config::Env::PROD)
        .build()
}

/// Connects to the database, applies migrations and assembles the shared state.
pub async fn build_state(config: Config) -> anyhow::Result<AppState> {
    let db = Database::connect(&config.database_url, config.db_max_connections).await?;
    db.migrate().await?;
    let indexed = app::features::library::search::catch_up(&db).await?;
    if indexed > 0 {
        tracing::info!(images = indexed, "search index caught up");
    }
    let media = MediaStore::from_config(&config).map_err(|e| match &config.s3 {
        Some(s3) => anyhow::anyhow!("could not set up S3 storage for bucket {}: {e}", s3.bucket),
        None => anyhow::anyhow!(
            "could not create the media directory {}: {e}",
            config.media_dir.display()
        ),
    })?;
    let mailer = Mailer::from_config(&config, &db)?;
    let oidc = config
        .oidc
        .as_ref()
        .map(|settings| app::features::accounts::oidc::Oidc::new(settings, &config.public_url).map(Arc::new))
        .transpose()?;
    let secret_key = match &config.secret_key {
        Some(key) => key.clone(),
        None => app::platform::signing::SecretKey::load_or_create(None, &config.data_dir)?,
    };
    let payments = config
        .stripe
        .clone()
        .map(|settings| app::features::billing::stripe::Payments::new(settings).map(Arc::new))
        .transpose()?;
    let chat = config
        .chat
        .clone()
        .map(|settings| app::features::chat::provider::ChatProvider::new(settings).map(Arc::new))
        .transpose()
        .map_err(|error| anyhow::anyhow!("could not set up the chat provider's HTTP client: {error}"))?;
    Ok(AppState {
        chat,
        usage: app::platform::usage::UsageRecorder::start(db.clone()),
        secret_key,
        payments,
        oidc,
        mailer,
        leptos_options: leptos_options(&config),
        jobs: JobQueue::new(db.clone()),
        media,
        auth_limits: AuthRateLimits::default(),
        config: Arc::new(config),
        db,
    })
}

/// Makes the request's CSP nonce the one Leptos puts on its inline scripts.
fn provide_request_context() {
    if let Some(parts) = use_context::<axum::http::request::Parts>() {
        if let Some(CspNonce(nonce)) = parts.extensions.get::<CspNonce>() {
            provide_context(leptos::nonce::Nonce::from_value(nonce.as_str()));
        }
    }
}

/// The app's pages, listed once per process. Listing renders the app with resource loading
/// suppressed by a process-wide flag (leptos_router's `RouteList::generate`), so a page
/// rendered by another router in this process at that moment would wait forever for its
/// data (leptos issue #4773); tests start many routers in one process.
static ROUTES: LazyLock<Vec<AxumRouteListing>> = LazyLock::new(|| generate_route_list(App));

pub use app::ui::page_view_beacon::PAGE_VIEW_BEACON;

/// Every page's route pattern (axum syntax), as page views record them.
pub fn page_patterns() -> impl Iterator<Item = &'static str> {
    ROUTES.iter().map(|route| route.path())
}

/// The page pattern the router matched, if the request was for a page.
pub fn page_pattern(matched: &str) -> Option<&'static str> {
    page_patterns().find(|pattern| *pattern == matched)
}

/// The complete router with every layer applied.
pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let routes = ROUTES.clone();
    let leptos_options = state.leptos_options.clone();
    let origin_policy = Arc::new(OriginPolicy {
        public_origin: config.public_url.clone(),
    });
    let header_policy = Arc::new(HeaderPolicy {
        sources: CspSources {
            analytics_origin: config.posthog.as_ref().map(|posthog| posthog.host.clone()),
            payment_origins: config
                .stripe
                .as_ref()
                .map(|stripe| stripe.hosted_origins())
                .unwrap_or_default(),
        },
        policy_version: config.policy_version,
        strict_transport: config.public_url.starts_with("https://"),
    });
    let address_policy = Arc::new(AddressPolicy {
        trusted_proxies: config.trusted_proxies.clone(),
        country_header: config.country_header.clone(),
    });

    // No client address or user agent in logs: the privacy policy and docs/DATA.md say where IPs may be stored.
    let request_span = |request: &HttpRequest<axum::body::Body>| {
        let request_id = request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!("request", id = %request_id, method = %request.method(), path = %request.uri().path())
    };

    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/.well-known/gpc.json", get(well_known::gpc))
        .merge(avatar::router())
        .merge(exports::router())
        .merge(oidc_routes::router())
        .merge(images::router())
        .merge(stripe_webhook::router())
        .merge(usage::router())
        .merge(chat::router())
        .route("/media/{*key}", get(stored::media))
        .nest(
            "/pkg",
            static_files::pkg(&config.site_root, state.leptos_options.hash_files),
        )
        .leptos_routes_with_context(&state, routes, provide_request_context, move || {
            shell(leptos_options.clone())
        })
        .fallback(file_and_error_handler_with_context::<AppState, _>(
            provide_request_context,
            shell,
        ))
        // Innermost first. Router::layer boxes each body type, so axum and tower-http
        // middleware compose freely.
        // Sees the route the router matched (`MatchedPath`), so it counts pages only.
        .layer(from_fn_with_state(state.usage.clone(), count_page_views))
        .layer(from_fn(server_fn_error_status))
        // Outside the status fix above, so it signs the redirect that one tidied.
        .layer(from_fn_with_state(state.secret_key.clone(), signed_form_errors))
        // The default compression predicate skips images, gRPC and event streams.
        .layer(CompressionLayer::new())
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        .layer(from_fn_with_state(origin_policy, same_origin_guard))
        .layer(from_fn_with_state(header_policy, security_headers))
        .layer(CatchPanicLayer::new())
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(from_fn_with_state(address_policy, client_address))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// A bound, not yet running application.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    registry: JobRegistry,
}

impl Application {
    /// Binds the listener (port 0 picks a free port) and prepares everything to serve.
    pub async fn build(config: Config, registry: JobRegistry) -> anyhow::Result<Self> {
        let listen = config.listen;
        let state = build_state(config).await?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("could not listen on {listen}: {e}"))?;
        let router = router(state.clone());
        // Platform jobs every server runs, beside the features' own handlers.
        let registry = registry
            .register(MailDelivery::new(state.mailer.clone()))
            .register(IngestJob {
                db: state.db.clone(),
                media: state.media.clone(),
            })
            .register(ExportJob {
                db: state.db.clone(),
                media: state.media.clone(),
                jobs: state.jobs.clone(),
                config: state.config.clone(),
            })
            .register(CollectionExportJob {
                db: state.db.clone(),
                media: state.media.clone(),
                config: state.config.clone(),
            })
            .register(StripeEventJob {
                db: state.db.clone(),
                jobs: state.jobs.clone(),
                payments: state.payments.as_deref().cloned(),
                config: state.config.clone(),
            });
        Ok(Application {
            listener,
            router,
            state,
            registry,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then drains requests and stops the job workers.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (stop_workers, workers_stopped) = watch::channel(false);
        let mut workers = self.spawn_workers(workers_stopped.clone());
        workers.push(tokio::spawn(maintenance(self.state.clone(), workers_stopped)));
        tracing::info!(address = %self.local_addr(), "serving");
        axum::serve(
            self.listener,
            self.router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await?;
        let _ = stop_workers.send(true);
        for mut worker in workers {
            // A job in hand gets a bounded grace period; an unfinished one is requeued later.
            // A worker still busy after it is stopped, so it lets go of its connection.
            if tokio::time::timeout(Duration::from_secs(30), &mut worker)
                .await
                .is_err()
            {
                worker.abort();
            }
        }
        // Closing waits for every borrowed connection to come back; a stop must end even
        // if one never does (the database sees the socket close with the process).
        if tokio::time::timeout(Duration::from_secs(10), self.state.db.close())
            .await
            .is_err()
        {
            tracing::warn!("database connections still in use 10 s after stopping; closing without them");
        }
        tracing::info!("stopped");
        Ok(())
    }

    fn spawn_workers(&self, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        if self.registry.is_empty() {
            return Vec::new();
        }
        (0..self.state.config.job_workers)
            .map(|n| {
                let name = format!("{}-{}-{n}", hostname(), std::process::id());
                tokio::spawn(run_worker(
                    self.state.jobs.clone(),
                    self.registry.clone(),
                    name,
                    Duration::from_millis(500),
                    stop.clone(),
                ))
            })
            .collect()
    }
}

/// Housekeeping every minute: forget idle rate-limit keys, remove expired sessions, used
/// or expired account links and outbox mail past its retention, apply the privacy
/// retention rules (old downloads to daily totals, old session addresses cleared, lapsed
/// cookie decisions deleted), delete
/// collections deleted longer ago than their undo window, data exports past their 7 days,
/// collection exports past their day, and accounts whose deletion grace period ended.
async fn maintenance(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = stop.changed() => return,
        }
        state.auth_limits.forget_idle();
        state.usage.forget_idle();
        if let Some(oidc) = &state.oidc {
            oidc.forget_idle();
        }
        let db = &state.db;
        report_purge(
            "expired sessions",
            app::features::accounts::session::purge_expired(db).await,
        );
        report_purge("spent account links", app::features::accounts::tokens::purge(db).await);
        report_purge("old outbox mail", app::platform::mail::outbox::purge_old(db).await);
        report_purge("finished jobs", state.jobs.purge_finished().await);
        report_purge(
            "yesterday's view and download de-duplication",
            app::features::library::service::purge_old_views(db, app::platform::clock::now_unix()).await,
        );
        report_purge(
            "unfinished single sign-ons",
            app::features::accounts::oidc::purge_expired_logins(db).await,
        );
        report_purge(
            "unfinished single sign-on sign-ups",
            app::features::accounts::oidc::purge_expired_sign_ups(db).await,
        );
        let now = app::platform::clock::now_unix();
        match app::features::privacy::retention::run(db, now, state.config.session_ip_days).await {
            Ok(report) if report.changed_anything() => tracing::info!(
                downloads_rolled_up = report.downloads_rolled_up,
                usage_events_rolled_up = report.usage_events_rolled_up,
                session_addresses_cleared = report.session_addresses_cleared,
                consent_records_deleted = report.consent_records_deleted,
                "retention applied"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not apply retention"),
        }
        report_purge(
            "deleted collections past their undo window",
            app::features::collections::service::purge_deleted(db, now).await,
        );
        report_purge(
            "expired data exports",
            app::features::privacy::export::purge_expired(db, &state.media, now).await,
        );
        report_purge(
            "expired collection exports",
            app::features::collections::export::purge_expired(db, &state.media, now).await,
        );
        report_purge(
            "chat replies abandoned by a stopped process (failed, charges given back)",
            app::features::chat::service::fail_abandoned(db, now).await,
        );
        report_purge(
            "conversations past their member's chat retention",
            app::features::chat::service::purge_by_retention(db, now).await,
        );
        if let Err(error) =
            app::features::privacy::deletion::run_due(db, &state.media, state.payments.as_deref(), now).await
        {
            tracing::warn!(%error, "could not delete accounts whose grace period ended");
        }
    }
}

fn report_purge<E: std::fmt::Display>(what: &str, outcome: Result<u64, E>) {
    match outcome {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, "removed {what}"),
        Err(error) => tracing::warn!(%error, "could not remove {what}"),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "atelier".into())
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}
