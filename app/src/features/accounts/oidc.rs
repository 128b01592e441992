//! Optional sign-in through one OpenID Connect provider (`ATELIER_OIDC_*`), with the
//! `openidconnect` crate doing the protocol: discovery, the authorization URL with PKCE
//! (S256), state and nonce, the code exchange, and the ID token's checks (signature against
//! the provider's JWKS, issuer, audience, nonce, expiry).
//!
//! Accounts link by verified email:
//! - (a) an identity already in `oidc_identities` (issuer, subject) signs its member in;
//! - (b) otherwise a verified email that belongs to a member links this identity to them and
//!   signs them in; if that member had never confirmed the address, the provider's word now
//!   confirms it, and the password, sessions and mail links the account had are revoked,
//!   because whoever set them never proved they own the mailbox (account pre-hijacking);
//! - (c) otherwise a verified email starts a new member's sign-up: the verified identity
//!   waits server-side (`oidc_signups`, 10 minutes, bound to the browser by a cookie) while
//!   `/signup/provider` asks for the date of birth the minimum age needs and a display name;
//!   below the minimum age the waiting row is deleted and nothing is stored. The member gets
//!   no usable password (a hash of 256 random bits nobody keeps; “Forgot password?” can set
//!   a real one later);
//! - (d) a missing or unverified email is refused and nothing is stored.
//!
//! A sign-in in progress is kept on the server, in `oidc_logins`, and bound to the browser
//! that started it by a short-lived cookie (`Path=/auth/oidc; HttpOnly; SameSite=Lax`,
//! 10 minutes) holding a random value whose SHA-256 keys the row:
//! - the PKCE verifier and the nonce never leave the server, and no signing key is needed
//!   (a cookie-only design would have to encrypt or sign them, and the app has no such key);
//! - single use is enforced where it can be: the row is deleted before the provider is
//!   contacted, so a replayed callback finds nothing;
//! - the 10-minute expiry is checked against the row, not against the cookie's `Max-Age`;
//! - a callback URL (code + state) taken from one browser fails in another, which has no
//!   matching cookie (login CSRF); `SameSite=Lax` still lets the provider's top-level
//!   redirect carry it.
//!   Starting a second sign-in in another tab replaces the cookie, so only the latest one can
//!   finish.
//!
//! Error codes on `/signin?oidc_error=…` are [`OidcFailure::code`]; the sign-in page maps
//! them to fixed sentences and never prints text from the URL.

use super::{
    service::{self, AccountError, NewUser},
    session, Role,
};
use crate::platform::{
    clock::now_unix,
    config::{Config, ConfigError},
    db::Database,
    rate_limit::PairLimit,
    request,
};
use argon2::password_hash::rand_core::{OsRng, RngCore};
use openidconnect::{
    core::{CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreProviderMetadata},
    AccessTokenHash, AuthType, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, SignatureVerificationError, TokenResponse,
};
use sqlx::Row;
use std::{
    fmt,
    time::{Duration, Instant},
};
use tokio::sync::Mutex;

pub const ISSUER_VAR: &str = "ATELIER_OIDC_ISSUER";
pub const CLIENT_ID_VAR: &str = "ATELIER_OIDC_CLIENT_ID";
pub const CLIENT_SECRET_VAR: &str = "ATELIER_OIDC_CLIENT_SECRET";
pub const NAME_VAR: &str = "ATELIER_OIDC_NAME";
/// What the button says when `ATELIER_OIDC_NAME` is not set: “Continue with …”.
pub const DEFAULT_DISPLAY_NAME: &str = "your single sign-on provider";

/// Where the provider sends the browser back; registered with the provider as
/// `{ATELIER_PUBLIC_URL}/auth/oidc/callback`.
pub const CALLBACK_PATH: &str = "/auth/oidc/callback";
pub const START_PATH: &str = "/auth/oidc/start";
/// The binding cookie is only ever sent to these routes.
pub const COOKIE_PATH: &str = "/auth/oidc";
// The cookies' names come from the site's one cookie list, which the cookie page shows.
const SECURE_BINDING_COOKIE: &str = crate::features::privacy::cookies::OIDC_BINDING.secure;
const PLAIN_BINDING_COOKIE: &str = crate::features::privacy::cookies::OIDC_BINDING.plain;
const SECURE_SIGN_UP_COOKIE: &str = crate::features::privacy::cookies::OIDC_SIGN_UP.secure;
const PLAIN_SIGN_UP_COOKIE: &str = crate::features::privacy::cookies::OIDC_SIGN_UP.plain;
/// Where a new member finishes signing up after the provider vouched for their email.
pub const SIGN_UP_PATH: &str = "/signup/provider";
/// A sign-in must come back from the provider within 10 minutes.
pub const LOGIN_TTL_SECONDS: i64 = 10 * 60;
/// Provider metadata and keys are fetched again after an hour (key rotation), or at once
/// when an ID token names a key we do not have.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// While a refresh keeps failing, stale metadata is served and the refresh retried at most
/// this often. Without any metadata, every request retries.
const RETRY_STALE_AFTER: Duration = Duration::from_secs(30);
/// How far in the future an ID token's `iat` may be (clock skew between us and the provider).
const MAX_FUTURE_IAT_SECONDS: i64 = 5 * 60;

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

/// The provider, from `ATELIER_OIDC_ISSUER`, `ATELIER_OIDC_CLIENT_ID`,
/// `ATELIER_OIDC_CLIENT_SECRET` and `ATELIER_OIDC_NAME`.
#[derive(Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// Exactly the provider's `issuer` (its discovery document and ID tokens must repeat it
    /// character for character, trailing slash included).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Shown as “Continue with {display_name}”.
    pub display_name: String,
}

/// The secret never reaches a log line through `{:?}` of the configuration.
impl fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("display_name", &self.display_name)
            .finish()
    }
}

fn config_error(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

impl OidcConfig {
    /// `Ok(None)` when none of the three required variables is set (single sign-on hidden);
    /// all three, or a configuration error naming the missing one.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let name = get(NAME_VAR);
        let (issuer, client_id, client_secret) = match (get(ISSUER_VAR), get(CLIENT_ID_VAR), get(CLIENT_SECRET_VAR)) {
            (None, None, None) => {
                if name.is_some() {
                    return Err(config_error(
                        NAME_VAR,
                        "has no effect on its own: single sign-on also needs ATELIER_OIDC_ISSUER, \
                         ATELIER_OIDC_CLIENT_ID and ATELIER_OIDC_CLIENT_SECRET",
                    ));
                }
                return Ok(None);
            }
            (Some(issuer), Some(client_id), Some(client_secret)) => (issuer, client_id, client_secret),
            (issuer, client_id, _) => {
                let missing = if issuer.is_none() {
                    ISSUER_VAR
                } else if client_id.is_none() {
                    CLIENT_ID_VAR
                } else {
                    CLIENT_SECRET_VAR
                };
                return Err(config_error(
                    missing,
                    "is required for single sign-on: set all three of ATELIER_OIDC_ISSUER, \
                     ATELIER_OIDC_CLIENT_ID and ATELIER_OIDC_CLIENT_SECRET, or none of them",
                ));
            }
        };
        check_issuer(&issuer).map_err(|problem| config_error(ISSUER_VAR, problem))?;
        if client_id.chars().count() > 255 || client_id.chars().any(char::is_control) {
            return Err(config_error(CLIENT_ID_VAR, "must be at most 255 printable characters"));
        }
        if client_secret.chars().any(char::is_control) {
            return Err(config_error(CLIENT_SECRET_VAR, "contains control characters"));
        }
        let display_name = name.unwrap_or_else(|| DEFAULT_DISPLAY_NAME.to_owned());
        if display_name.chars().count() > 60 || display_name.chars().any(char::is_control) {
            return Err(config_error(NAME_VAR, "must be at most 60 printable characters"));
        }
        Ok(Some(OidcConfig {
            issuer,
            client_id,
            client_secret,
            display_name,
        }))
    }
}

/// An `https://` URL without query or fragment; `http://` only for a provider on this
/// machine (local development and the tests' fake provider).
fn check_issuer(raw: &str) -> Result<(), String> {
    let example = "such as https://sso.example.com/realms/atelier";
    let issuer = IssuerUrl::new(raw.to_owned()).map_err(|_| format!("expected a URL {example}, got “{raw}”"))?;
    let url = issuer.url();
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "must be the provider's issuer URL {example}, without query, fragment or credentials; got “{raw}”"
        ));
    }
    let loopback = match url.host() {
        Some(openidconnect::url::Host::Domain(host)) => host.eq_ignore_ascii_case("localhost"),
        Some(openidconnect::url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(openidconnect::url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(format!(
            "must use https:// (plain http:// is accepted only for a provider on this machine); got “{raw}”"
        )),
        _ => Err(format!("expected an https:// URL {example}, got “{raw}”")),
    }
}

// ---------------------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------------------

/// Why a single sign-on attempt ended without a session. The code travels in
/// `/signin?oidc_error=<code>`; the sign-in page has a fixed sentence for each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OidcFailure {
    /// The person declined at the provider (`error=access_denied`).
    Cancelled,
    /// The provider answered the authorization request with another error.
    ProviderError,
    /// No sign-in in progress for this browser: expired, used already, or the `state` does
    /// not match (tampered, or a callback started in another browser).
    Expired,
    /// The provider could not be reached (discovery, keys or token endpoint).
    Unavailable,
    /// The provider's answer failed a check: the code exchange was refused, or the ID token's
    /// signature, issuer, audience, nonce, expiry or access-token hash is wrong.
    Rejected,
    /// The ID token carries no email, or one the provider has not verified.
    EmailUnverified,
    /// The member with this email is already linked to another account at this provider.
    Conflict,
    /// Our side failed (database, hashing); logged.
    Internal,
}

impl OidcFailure {
    pub const ALL: [OidcFailure; 8] = [
        OidcFailure::Cancelled,
        OidcFailure::ProviderError,
        OidcFailure::Expired,
        OidcFailure::Unavailable,
        OidcFailure::Rejected,
        OidcFailure::EmailUnverified,
        OidcFailure::Conflict,
        OidcFailure::Internal,
    ];

    pub fn code(self) -> &'static str {
        match self {
            OidcFailure::Cancelled => "cancelled",
            OidcFailure::ProviderError => "provider",
            OidcFailure::Expired => "expired",
            OidcFailure::Unavailable => "unavailable",
            OidcFailure::Rejected => "rejected",
            OidcFailure::EmailUnverified => "email",
            OidcFailure::Conflict => "conflict",
            OidcFailure::Internal => "failed",
        }
    }
}

impl From<sqlx::Error> for OidcFailure {
    fn from(error: sqlx::Error) -> Self {
        tracing::error!(%error, "database error during single sign-on");
        OidcFailure::Internal
    }
}

impl From<AccountError> for OidcFailure {
    fn from(error: AccountError) -> Self {
        tracing::error!(%error, "account error during single sign-on");
        OidcFailure::Internal
    }
}

/// How the identity found its member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkOutcome {
    /// (a) The identity was linked before.
    Existing,
    /// (b) Linked now to the member with the same verified email.
    Linked,
}

/// Where an identity leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// An existing member, found by (a) or (b).
    Member(i64, LinkOutcome),
    /// (c) Nobody has this verified email yet: the person may create an account.
    NewMember { email: String },
}

/// The end of a callback.
#[derive(Debug)]
pub enum Finished {
    /// Start a session for this member.
    SignedIn(SignedIn),
    /// Send the browser to [`SIGN_UP_PATH`] with this value in the sign-up cookie.
    NeedsSignUp { binding: String },
}

/// A started sign-in: where to send the browser and the cookie value that binds it.
pub struct StartedLogin {
    pub authorize_url: String,
    /// Goes into the binding cookie; only its SHA-256 is stored.
    pub binding: String,
}

impl fmt::Debug for StartedLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StartedLogin(…)")
    }
}

/// The callback's query, as received.
#[derive(Clone, Copy, Debug, Default)]
pub struct CallbackParams<'a> {
    pub code: Option<&'a str>,
    pub state: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// A finished sign-in: the member to start a session for and where to send them.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub user_id: i64,
    pub next: String,
    pub outcome: LinkOutcome,
}

/// What the verified ID token says about the person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

// ---------------------------------------------------------------------------------------
// The relying party
// ---------------------------------------------------------------------------------------

/// The client as `from_provider_metadata` builds it: authorization endpoint set, token and
/// userinfo endpoints “maybe set” (discovery may omit them).
type ProviderClient =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

#[derive(Default)]
struct ProviderCache {
    metadata: Option<(CoreProviderMetadata, Instant)>,
    last_failure: Option<Instant>,
}

/// Single sign-on, when configured: one per process, shared through `AppState`.
pub struct Oidc {
    config: OidcConfig,
    redirect_url: RedirectUrl,
    http: reqwest::Client,
    provider: Mutex<ProviderCache>,
    /// Starts per client IP: each start writes a row, so a loop of them is slowed down.
    start_limit: PairLimit,
}

impl Oidc {
    /// Prepares the client; contacts nobody (discovery happens at the first sign-in, so a
    /// provider that is down does not stop the server from starting).
    pub fn new(config: &OidcConfig, public_url: &str) -> anyhow::Result<Self> {
        let redirect_url = RedirectUrl::new(format!("{}{CALLBACK_PATH}", public_url.trim_end_matches('/')))?;
        let http = reqwest::Client::builder()
            // Following redirects would open the client to SSRF (the crate's own advice).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(Oidc {
            config: config.clone(),
            redirect_url,
            http,
            provider: Mutex::new(ProviderCache::default()),
            // 20 starts per IP in a burst, then one every 3 s (the pair's second key is the IP too).
            start_limit: PairLimit::new(20, Duration::from_secs(3), 20, Duration::from_secs(3)),
        })
    }

    pub fn display_name(&self) -> &str {
        &self.config.display_name
    }

    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// Counts one start for this client; `Err(seconds)` says how long to wait.
    pub fn check_start(&self, client_key: &str) -> Result<(), u64> {
        self.start_limit.check(client_key, client_key)
    }

    /// Forgets idle rate-limit keys (called by the maintenance loop).
    pub fn forget_idle(&self) {
        self.start_limit.forget_idle();
    }

    /// The provider's metadata and keys: cached after the first success, refreshed after
    /// [`METADATA_TTL`]; a failure is never cached, so the next sign-in tries again.
    async fn provider(&self) -> Result<CoreProviderMetadata, OidcFailure> {
        let mut cache = self.provider.lock().await;
        let stale = match &cache.metadata {
            Some((metadata, fetched_at)) if fetched_at.elapsed() < METADATA_TTL => return Ok(metadata.clone()),
            Some((metadata, _)) => Some(metadata.clone()),
            None => None,
        };
        if let (Some(metadata), Some(failed_at)) = (&stale, cache.last_failure) {
            if failed_at.elapsed() < RETRY_STALE_AFTER {
                return Ok(metadata.clone());
            }
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone()).map_err(|error| {
            tracing::error!(%error, "the configured issuer is not a URL");
            OidcFailure::Internal
        })?;
        match CoreProviderMetadata::discover_async(issuer, &self.http).await {
            Ok(metadata) => {
                cache.metadata = Some((metadata.clone(), Instant::now()));
                cache.last_failure = None;
                Ok(metadata)
            }
            Err(error) => {
                cache.last_failure = Some(Instant::now());
                tracing::warn!(
                    issuer = %self.config.issuer,
                    error = %describe(&error),
                    "OpenID Connect discovery failed"
                );
                stale.ok_or(OidcFailure::Unavailable)
            }
        }
    }

    /// Drops the cached metadata, e.g. when the provider signed with a key we do not know.
    async fn forget_provider(&self) {
        self.provider.lock().await.metadata = None;
    }

    fn client(&self, metadata: CoreProviderMetadata) -> ProviderClient {
        // client_secret_basic is the default (RFC 6749, OIDC Discovery); a provider that
        // lists client_secret_post but not basic gets the secret in the form body instead.
        let auth_type = match metadata.token_endpoint_auth_methods_supported() {
            Some(methods)
                if !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
                    && methods.contains(&CoreClientAuthMethod::ClientSecretPost) =>
            {
                AuthType::RequestBody
            }
            _ => AuthType::BasicAuth,
        };
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(self.config.client_secret.clone())),
        )
        .set_redirect_uri(self.redirect_url.clone())
        .set_auth_type(auth_type)
    }

    /// Starts a sign-in: stores the state, nonce, PKCE verifier and `next` for 10 minutes
    /// and returns the provider's authorization URL and the binding cookie's value.
    pub async fn begin(&self, db: &Database, next: Option<&str>) -> Result<StartedLogin, OidcFailure> {
        let client = self.client(self.provider().await?);
        let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
        // `openid` is added by the crate; email and profile give email, email_verified, name.
        let (authorize_url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".to_owned()))
            .add_scope(Scope::new("profile".to_owned()))
            .set_pkce_challenge(pkce_challenge)
            .url();
        let binding = random_hex(32);
        let now = now_unix();
        sqlx::query(
            "INSERT INTO oidc_logins (binding_hash, state_hash, nonce, pkce_verifier, next_path, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(session::hash_token(&binding))
        .bind(session::hash_token(state.secret()))
        .bind(nonce.secret().clone())
        .bind(pkce_verifier.secret().clone())
        .bind(local_next(next))
        .bind(now)
        .bind(now + LOGIN_TTL_SECONDS)
        .execute(db.pool())
        .await?;
        Ok(StartedLogin {
            authorize_url: authorize_url.to_string(),
            binding,
        })
    }

    /// Finishes a sign-in from the provider's redirect: consumes the pending sign-in (once),
    /// checks the state, exchanges the code, verifies the ID token and finds or creates the
    /// member. Starting the session is the caller's job (it holds the request).
    pub async fn finish(
        &self,
        db: &Database,
        binding: Option<&str>,
        params: CallbackParams<'_>,
    ) -> Result<Finished, OidcFailure> {
        let pending = match binding {
            Some(binding) => take_pending(db, binding).await?,
            None => None,
        };
        let Some(pending) = pending else {
            return Err(OidcFailure::Expired);
        };
        if pending.expires_at <= now_unix() {
            return Err(OidcFailure::Expired);
        }
        let state_matches = params
            .state
            .is_some_and(|state| session::hash_token(state) == pending.state_hash);
        if !state_matches {
            return Err(OidcFailure::Expired);
        }
        if let Some(error) = params.error {
            if error == "access_denied" {
                return Err(OidcFailure::Cancelled);
            }
            // Debug formatting escapes whatever the provider (or a forger) put there.
            tracing::info!(error = ?error.chars().take(64).collect::<String>(), "the provider answered with an error");
            return Err(OidcFailure::ProviderError);
        }
        let Some(code) = params.code.filter(|code| !code.is_empty()) else {
            return Err(OidcFailure::Rejected);
        };
        let identity = self.exchange(code, pending.pkce_verifier, pending.nonce).await?;
        match resolve(db, &identity).await? {
            Resolution::Member(user_id, outcome) => {
                tracing::info!(user_id, outcome = ?outcome, "signed in through OpenID Connect");
                Ok(Finished::SignedIn(SignedIn {
                    user_id,
                    next: pending.next_path,
                    outcome,
                }))
            }
            Resolution::NewMember { email } => {
                let binding = stash_sign_up(db, &identity, &email, &pending.next_path).await?;
                Ok(Finished::NeedsSignUp { binding })
            }
        }
    }

    /// Code → tokens → verified ID token → [`Identity`].
    async fn exchange(&self, code: &str, pkce_verifier: String, nonce: String) -> Result<Identity, OidcFailure> {
        let client = self.client(self.provider().await?);
        let request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|error| {
                tracing::error!(%error, "the provider's discovery document names no token endpoint");
                OidcFailure::Unavailable
            })?;
        let response = request
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(|error| match error {
                RequestTokenError::Request(error) => {
                    tracing::warn!(error = %describe(&error), "the provider's token endpoint could not be reached");
                    OidcFailure::Unavailable
                }
                other => {
                    tracing::warn!(error = %describe(&other), "the provider refused the code exchange");
                    OidcFailure::Rejected
                }
            })?;
        let Some(id_token) = response.id_token() else {
            tracing::warn!("the provider's token response has no id_token");
            return Err(OidcFailure::Rejected);
        };

        let now = now_unix();
        // Signature (keys from discovery), issuer, audience and expiry are the crate's checks;
        // the nonce is checked by `claims`; this adds a bound on `iat` for clock skew.
        let verifier = client.id_token_verifier().set_issue_time_verifier_fn(move |issued_at| {
            if issued_at.timestamp() > now + MAX_FUTURE_IAT_SECONDS {
                Err("the ID token was issued in the future".to_owned())
            } else {
                Ok(())
            }
        });
        let nonce = Nonce::new(nonce);
        let claims = match id_token.claims(&verifier, &nonce) {
            Ok(claims) => claims,
            Err(error) => {
                let unknown_key = matches!(
                    error,
                    ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)
                );
                tracing::warn!(%error, "the provider's ID token was refused");
                if unknown_key {
                    // Perhaps the provider rotated its keys: fetch them again next time.
                    self.forget_provider().await;
                }
                return Err(OidcFailure::Rejected);
            }
        };

        // at_hash is optional in the code flow; when present it must match the access token.
        if let Some(expected) = claims.access_token_hash() {
            let actual = id_token
                .signing_alg()
                .and_then(|alg| id_token.signing_key(&verifier).map(|key| (alg, key)))
                .map_err(|error| error.to_string())
                .and_then(|(alg, key)| {
                    AccessTokenHash::from_token(response.access_token(), alg, key).map_err(|error| error.to_string())
                });
            match actual {
                Ok(actual) if actual == *expected => {}
                Ok(_) => {
                    tracing::warn!("the ID token's at_hash does not match the access token");
                    return Err(OidcFailure::Rejected);
                }
                Err(error) => {
                    tracing::warn!(%error, "the ID token's at_hash could not be checked");
                    return Err(OidcFailure::Rejected);
                }
            }
        }

        let name = claims.name().and_then(|name| {
            name.get(None)
                .or_else(|| name.iter().map(|(_, value)| value).next())
                .map(|value| value.as_str().to_owned())
        });
        Ok(Identity {
            issuer: self.config.issuer.clone(),
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|email| email.as_str().to_owned()),
            email_verified: claims.email_verified() == Some(true),
            name,
        })
    }
}

/// An error and its sources on one line, for logs.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// A password nobody knows: 256 random bits, hashed like any other and then forgotten. The
/// stored hash is a normal argon2id PHC string, so password sign-in attempts for the
/// account take the usual time and fail the usual way.
fn unusable_password() -> String {
    format!("oidc-{}", random_hex(32))
}

/// `next` as a redirect target: a path on this site (the one rule,
/// [`crate::platform::redirect::safe_next`]) and never back into these routes.
pub fn local_next(next: Option<&str>) -> String {
    let candidate = crate::platform::redirect::safe_next(next);
    if candidate.starts_with(COOKIE_PATH) {
        "/".to_owned()
    } else {
        candidate
    }
}

// ---------------------------------------------------------------------------------------
// Cookies
// ---------------------------------------------------------------------------------------

/// `__Secure-` over HTTPS (`__Host-` would require `Path=/`).
pub fn binding_cookie_name(config: &Config) -> &'static str {
    if config.secure_cookies {
        SECURE_BINDING_COOKIE
    } else {
        PLAIN_BINDING_COOKIE
    }
}

/// `Set-Cookie` binding a started sign-in to this browser for 10 minutes.
pub fn binding_cookie(config: &Config, binding: &str) -> String {
    let name = binding_cookie_name(config);
    request::set_cookie(
        name,
        binding,
        COOKIE_PATH,
        Some(LOGIN_TTL_SECONDS),
        config.secure_cookies,
    )
}

/// `Set-Cookie` removing the binding cookie (every callback answer carries it).
pub fn clear_binding_cookie(config: &Config) -> String {
    request::set_cookie(
        binding_cookie_name(config),
        "",
        COOKIE_PATH,
        Some(0),
        config.secure_cookies,
    )
}

/// `__Host-` over HTTPS: the sign-up cookie must reach the page and its server function,
/// so its path is `/`.
pub fn sign_up_cookie_name(config: &Config) -> &'static str {
    if config.secure_cookies {
        SECURE_SIGN_UP_COOKIE
    } else {
        PLAIN_SIGN_UP_COOKIE
    }
}

/// `Set-Cookie` binding a waiting sign-up to this browser for 10 minutes.
pub fn sign_up_cookie(config: &Config, binding: &str) -> String {
    let name = sign_up_cookie_name(config);
    request::set_cookie(name, binding, "/", Some(LOGIN_TTL_SECONDS), config.secure_cookies)
}

/// `Set-Cookie` removing the sign-up cookie.
pub fn clear_sign_up_cookie(config: &Config) -> String {
    request::set_cookie(sign_up_cookie_name(config), "", "/", Some(0), config.secure_cookies)
}

// ---------------------------------------------------------------------------------------
// Storage
// ---------------------------------------------------------------------------------------

struct PendingLogin {
    state_hash: String,
    nonce: String,
    pkce_verifier: String,
    next_path: String,
    expires_at: i64,
}

/// Reads and deletes the sign-in bound to this cookie value. Only the caller whose DELETE
/// removed the row gets it, so two racing callbacks cannot both use it.
async fn take_pending(db: &Database, binding: &str) -> Result<Option<PendingLogin>, sqlx::Error> {
    if binding.len() != 64 || !binding.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let binding_hash = session::hash_token(binding);
    let row = sqlx::query(
        "SELECT state_hash, nonce, pkce_verifier, next_path, expires_at FROM oidc_logins WHERE binding_hash = $1",
    )
    .bind(&binding_hash)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let deleted = sqlx::query("DELETE FROM oidc_logins WHERE binding_hash = $1")
        .bind(&binding_hash)
        .execute(db.pool())
        .await?;
    if deleted.rows_affected() != 1 {
        return Ok(None);
    }
    Ok(Some(PendingLogin {
        state_hash: row.try_get("state_hash")?,
        nonce: row.try_get("nonce")?,
        pkce_verifier: row.try_get("pkce_verifier")?,
        next_path: row.try_get("next_path")?,
        expires_at: row.try_get("expires_at")?,
    }))
}

/// Removes sign-ins that were never finished (run periodically).
pub async fn purge_expired_logins(db: &Database) -> Result<u64, sqlx::Error> {
    let result = sqlx::query("DELETE FROM oidc_logins WHERE expires_at <= $1")
        .bind(now_unix())
        .execute(db.pool())
        .await?;
    Ok(result.rows_affected())
}

/// The member for an identity, by rules (a)–(d) of the module documentation. Races (two
/// callbacks for the same person at once) end in a unique violation and are resolved by
/// looking again.
pub async fn resolve(db: &Database, identity: &Identity) -> Result<Resolution, OidcFailure> {
    for _ in 0..3 {
        if let Some(found) = try_resolve(db, identity).await? {
            return Ok(found);
        }
    }
    tracing::error!("single sign-on kept racing with itself");
    Err(OidcFailure::Internal)
}

/// `Ok(None)`: lost a race; look again.
async fn try_resolve(db: &Database, identity: &Identity) -> Result<Option<Resolution>, OidcFailure> {
    // (a) A known identity.
    let linked: Option<i64> =
        sqlx::query_scalar("SELECT user_id FROM oidc_identities WHERE issuer = $1 AND subject = $2")
            .bind(&identity.issuer)
            .bind(&identity.subject)
            .fetch_optional(db.pool())
            .await?;
    if let Some(user_id) = linked {
        return Ok(Some(Resolution::Member(user_id, LinkOutcome::Existing)));
    }

    // (d) Nothing is stored without an email the provider has verified.
    let email = match (&identity.email, identity.email_verified) {
        (Some(email), true) => service::normalise_email(email).map_err(|_| OidcFailure::EmailUnverified)?,
        _ => return Err(OidcFailure::EmailUnverified),
    };

    // (b) A member with this email.
    let member = sqlx::query("SELECT id, email_verified_at FROM users WHERE email = $1")
        .bind(&email)
        .fetch_optional(db.pool())
        .await?;
    let Some(row) = member else {
        // (c) Nobody yet: the person finishes signing up first.
        return Ok(Some(Resolution::NewMember { email }));
    };
    let user_id: i64 = row.try_get("id")?;
    let verified = row.try_get::<Option<i64>, _>("email_verified_at")?.is_some();
    let other: Option<String> =
        sqlx::query_scalar("SELECT subject FROM oidc_identities WHERE user_id = $1 AND issuer = $2")
            .bind(user_id)
            .bind(&identity.issuer)
            .fetch_optional(db.pool())
            .await?;
    if other.is_some() {
        tracing::warn!(
            user_id,
            "a second identity at the same provider claims a linked member's email"
        );
        return Err(OidcFailure::Conflict);
    }
    if !verified {
        claim_unverified_account(db, user_id, &email).await?;
    }
    if !insert_identity(db, identity, user_id, &email).await? {
        return Ok(None);
    }
    Ok(Some(Resolution::Member(user_id, LinkOutcome::Linked)))
}

// ---------------------------------------------------------------------------------------
// Sign-up of a new member through the provider
// ---------------------------------------------------------------------------------------

/// Keeps a verified identity for 10 minutes while its owner completes the sign-up form;
/// returns the cookie value that binds it to this browser (only its SHA-256 is stored).
async fn stash_sign_up(db: &Database, identity: &Identity, email: &str, next: &str) -> Result<String, sqlx::Error> {
    let binding = random_hex(32);
    let now = now_unix();
    sqlx::query(
        "INSERT INTO oidc_signups (binding_hash, issuer, subject, email, name, next_path, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(session::hash_token(&binding))
    .bind(&identity.issuer)
    .bind(&identity.subject)
    .bind(email)
    .bind(display_name_for(identity.name.as_deref(), email))
    .bind(next)
    .bind(now)
    .bind(now + LOGIN_TTL_SECONDS)
    .execute(db.pool())
    .await?;
    Ok(binding)
}

/// A verified identity waiting for its owner to finish signing up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingSignUp {
    pub issuer: String,
    pub subject: String,
    pub email: String,
    /// Suggested display name (from the `name` claim or the email).
    pub display_name: String,
    pub next: String,
}

/// The waiting sign-up bound to this cookie value, if it has not expired.
pub async fn pending_sign_up(db: &Database, binding: &str) -> Result<Option<PendingSignUp>, sqlx::Error> {
    if binding.len() != 64 || !binding.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT issuer, subject, email, name, next_path FROM oidc_signups WHERE binding_hash = $1 AND expires_at > $2",
    )
    .bind(session::hash_token(binding))
    .bind(now_unix())
    .fetch_optional(db.pool())
    .await?;
    row.map(|row| {
        Ok(PendingSignUp {
            issuer: row.try_get("issuer")?,
            subject: row.try_get("subject")?,
            email: row.try_get("email")?,
            display_name: row.try_get("name")?,
            next: row.try_get("next_path")?,
        })
    })
    .transpose()
}

/// Forgets a waiting sign-up (used up, refused for age, or abandoned).
pub async fn discard_sign_up(db: &Database, binding: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM oidc_signups WHERE binding_hash = $1")
        .bind(session::hash_token(binding))
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Creates the member for a waiting sign-up whose form passed every check, links the
/// identity and forgets the waiting row. `Ok(None)`: someone took the email or identity in
/// the meantime (the caller asks the person to sign in again).
pub async fn create_member(
    db: &Database,
    binding: &str,
    pending: &PendingSignUp,
    display_name: &str,
) -> Result<Option<i64>, OidcFailure> {
    discard_sign_up(db, binding).await?;
    let password = unusable_password();
    let created = service::create_user(
        db,
        NewUser {
            email: &pending.email,
            display_name,
            password: &password,
            role: Role::Member,
            email_verified: true,
        },
    )
    .await;
    let user_id = match created {
        Ok(user_id) => user_id,
        Err(AccountError::EmailTaken) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let identity = Identity {
        issuer: pending.issuer.clone(),
        subject: pending.subject.clone(),
        email: Some(pending.email.clone()),
        email_verified: true,
        name: None,
    };
    if !insert_identity(db, &identity, user_id, &pending.email).await? {
        // The identity was linked to someone else a moment ago: undo the new account.
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user_id)
            .execute(db.pool())
            .await?;
        return Ok(None);
    }
    tracing::info!(user_id, "member created through OpenID Connect");
    Ok(Some(user_id))
}

/// Removes sign-ups that were never finished (run periodically).
pub async fn purge_expired_sign_ups(db: &Database) -> Result<u64, sqlx::Error> {
    let result = sqlx::query("DELETE FROM oidc_signups WHERE expires_at <= $1")
        .bind(now_unix())
        .execute(db.pool())
        .await?;
    Ok(result.rows_affected())
}

/// `Ok(false)` when (issuer, subject) or (user, issuer) is taken already.
async fn insert_identity(db: &Database, identity: &Identity, user_id: i64, email: &str) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO oidc_identities (issuer, subject, user_id, email, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&identity.issuer)
    .bind(&identity.subject)
    .bind(user_id)
    .bind(email)
    .bind(now_unix())
    .execute(db.pool())
    .await;
    match inserted {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => Ok(false),
        Err(error) => Err(error),
    }
}

/// The provider has verified an address that this account never confirmed. Whoever set the
/// account's password, opened its sessions or asked for its mail links did not prove they
/// own the mailbox, so all of that is revoked before the identity is linked.
async fn claim_unverified_account(db: &Database, user_id: i64, email: &str) -> Result<(), OidcFailure> {
    let fresh = service::hash_password(unusable_password()).await?;
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(fresh)
        .bind(now_unix())
        .bind(user_id)
        .execute(db.pool())
        .await?;
    sqlx::query("DELETE FROM account_tokens WHERE user_id = $1")
        .bind(user_id)
        .execute(db.pool())
        .await?;
    session::end_all(db, user_id).await?;
    service::mark_email_verified(db, user_id, email).await?;
    tracing::info!(
        user_id,
        "unconfirmed account claimed through single sign-on: password, sessions and links revoked"
    );
    Ok(())
}

/// The `name` claim, else the email's local part, cut to what a display name allows.
pub fn display_name_for(name: Option<&str>, email: &str) -> String {
    let clean = |raw: &str| -> String {
        let printable: String = raw.chars().filter(|c| !c.is_control()).collect();
        printable
            .trim()
            .chars()
            .take(80)
            .collect::<String>()
            .trim_end()
            .to_owned()
    };
    name.map(clean)
        .filter(|name| !name.is_empty())
        .or_else(|| Some(clean(email.split('@').next().unwrap_or_default())).filter(|name| !name.is_empty()))
        .unwrap_or_else(|| "Member".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> Result<Option<OidcConfig>, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        OidcConfig::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn nothing_set_means_hidden_and_all_three_mean_configured() {
        assert_eq!(lookup(&[]).unwrap(), None);
        let config = lookup(&[
            (ISSUER_VAR, "https://sso.example.com/realms/atelier"),
            (CLIENT_ID_VAR, "atelier"),
            (CLIENT_SECRET_VAR, "s3cret"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(config.display_name, DEFAULT_DISPLAY_NAME);
        assert!(!format!("{config:?}").contains("s3cret"), "the secret is redacted");
    }

    #[test]
    fn a_partial_configuration_names_what_is_missing() {
        let only_issuer = lookup(&[(ISSUER_VAR, "https://sso.example.com")]).unwrap_err();
        assert_eq!(only_issuer.variable, CLIENT_ID_VAR);
        let no_secret = lookup(&[(ISSUER_VAR, "https://sso.example.com"), (CLIENT_ID_VAR, "atelier")]).unwrap_err();
        assert_eq!(no_secret.variable, CLIENT_SECRET_VAR);
        let no_issuer = lookup(&[(CLIENT_ID_VAR, "atelier"), (CLIENT_SECRET_VAR, "x")]).unwrap_err();
        assert_eq!(no_issuer.variable, ISSUER_VAR);
        assert_eq!(lookup(&[(NAME_VAR, "Acme SSO")]).unwrap_err().variable, NAME_VAR);
    }

    #[test]
    fn issuers_must_be_https_except_on_this_machine() {
        let with = |issuer: &str| lookup(&[(ISSUER_VAR, issuer), (CLIENT_ID_VAR, "a"), (CLIENT_SECRET_VAR, "b")]);
        assert!(with("http://127.0.0.1:8080").is_ok());
        assert!(with("http://localhost:8080/realms/dev").is_ok());
        assert_eq!(with("http://sso.example.com").unwrap_err().variable, ISSUER_VAR);
        assert_eq!(with("ftp://sso.example.com").unwrap_err().variable, ISSUER_VAR);
        assert_eq!(
            with("https://sso.example.com/?tenant=1").unwrap_err().variable,
            ISSUER_VAR
        );
        assert_eq!(with("not a url").unwrap_err().variable, ISSUER_VAR);
    }

    #[test]
    fn next_stays_on_this_site_and_out_of_these_routes() {
        assert_eq!(local_next(Some("/account/sessions?x=1")), "/account/sessions?x=1");
        for hostile in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "/auth/oidc/start",
            "/with space",
            "/caf\u{e9}",
            "/line\nbreak",
        ] {
            assert_eq!(local_next(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(local_next(None), "/");
    }

    #[test]
    fn display_names_come_from_the_name_claim_or_the_email() {
        assert_eq!(
            display_name_for(Some("  Ada Lovelace "), "ada@example.org"),
            "Ada Lovelace"
        );
        assert_eq!(display_name_for(Some("\u{7}"), "ada@example.org"), "ada");
        assert_eq!(display_name_for(None, "grace.hopper@example.org"), "grace.hopper");
        assert_eq!(
            display_name_for(Some("x".repeat(200).as_str()), "a@b.c")
                .chars()
                .count(),
            80
        );
    }

    #[test]
    fn every_failure_has_a_distinct_code() {
        let codes: std::collections::HashSet<_> = OidcFailure::ALL.iter().map(|f| f.code()).collect();
        assert_eq!(codes.len(), OidcFailure::ALL.len());
    }
}
