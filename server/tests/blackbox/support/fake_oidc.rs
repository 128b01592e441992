//! A fake OpenID Connect provider on 127.0.0.1 that speaks the real wire protocol, for the
//! single sign-on tests: discovery, a JWKS with one RSA key, an authorization endpoint that
//! “logs in” a configurable person at once and redirects back with a code, and a token
//! endpoint that checks client authentication, the code, the redirect URI and the PKCE
//! verifier before it returns an RS256-signed ID token.
//!
//! It can be told to misbehave (wrong nonce, audience, issuer, signature, key, expiry or
//! at_hash; or to report that the person declined) so the tests can prove the app refuses.
//!
//! The signing key is a fixed 2048-bit test key (generating one at test time is slow); it
//! protects nothing. ID tokens are assembled and signed here by hand (base64url JSON and
//! RSASSA-PKCS1-v1_5 with SHA-256 from the `rsa` crate), independently of the
//! `openidconnect` crate the app uses to check them.

#![allow(dead_code)]

use axum::{
    extract::{Form, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use base64::{
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
    Engine as _,
};
use rsa::{
    pkcs1v15::SigningKey,
    pkcs8::DecodePrivateKey,
    sha2::{Digest, Sha256},
    signature::{SignatureEncoding, Signer},
    traits::PublicKeyParts,
    RsaPrivateKey,
};
use serde_json::{json, Value};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
    time::{SystemTime, UNIX_EPOCH},
};
use tokio::{net::TcpListener, task::JoinHandle};

/// The client the app is registered as.
pub const CLIENT_ID: &str = "atelier-test";
/// Spaces and symbols on purpose: client_secret_basic must form-encode them (RFC 6749 §2.3.1).
pub const CLIENT_SECRET: &str = "fake secret: with spaces & symbols";
/// What the sign-in button should say: “Continue with Fake SSO”.
pub const DISPLAY_NAME: &str = "Fake SSO";
pub const KEY_ID: &str = "fake-key-1";

/// A throwaway 2048-bit RSA key (`openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`),
/// PKCS#8 PEM. For tests only.
const PRIVATE_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQDEFQckgePRoNwx
vNY4Me+iq1oK1xNLf3+cog+0kNsZsmFJrpplSktlJULfKRWdioXnZcnKCCIIRsfX
4qNPfsJ+Aq1uduDp4XjfeCwaK5e1Z9xwgLpUw05OEnIfJh8fwEsXepFxghBDR4+3
C4atU5usnVkqm79NbU6UaMjuyG9+/P5VzTS/Y7/B7kUc6l0slCoXwVQIwBE0GRsk
yStmIhyKr+Q6Rvktx5Np31+Zxylgvrb5jml+g6I9lMO5hxkaV4f2xz+uGbfjs2W1
23eGsq2vYSomCLoR6d5La8S8jgEtwye+DmHlOVPUUKfXkaYJb3qaGRpk46HGQqzO
ztEa2Ke9AgMBAAECggEAAfWv15aQv1SbPsgDYBZnrbmGsdsKb1O748Xe4FAeUHhu
7nyXQHHopP8lVvOjKqrqwbBLvwArzudeMfMq7K14pifCsfrwLoY5XgpmbnCHGKIM
Gve+ZQB6tN8MUvFfmEKkvXxVHcxN+04oyoyL8QmH4cbE0F80H0L7aRJPB8vrCVrb
eE1mmtZiAvjLFUQkFdwaW5IDaLO1rkNCjm6yGKafndirJsebcaYHrPmj4NQbrn5a
4xZg4kzyJ5RlIdcss4OwYxEXt5ngZ2Ea2xoB0ReEZ4KOeGvEHAxD15YeR4AGRHFC
98uDP2JERl8bXyrxBFRIHaUkXINCCwG9o/gnbLimoQKBgQDqCNbCJIoU+TSGSrTC
UQHg3NQbW0jdR5qdiYa1pNFf4yq10QfW3bB2JhK1C9yLQt15gQ6fXyBXpYZbHwGU
HvwQsE5yxW+cwMT/66BuSA+SQ6ItaHGYZ53PZsi6Zr21fRICLNuV6LnV8N+dXS4x
fHdD9+Ws/T6EZYkLJ6kkXX7ZhQKBgQDWfE4INBBxlTYCzdKVxsiHHEvQCziE1qFY
mNDo6tqZS4+8HFhzge67KX1iENpk0abbMm9irPA05HIvcu1FZYNev3HZiRFJJ9A2
Bt1EOQjsHmAFWQ1ZPLcw9EkzIbaXVKNOlU9PvV8veJfVm3zJpd3abI4Zgl7v79th
qyLI7ckO2QKBgB2xb2YEcsyEbciYE+UPmBhqjDLIWy9QFWrldwT222W6EcItujvl
tqzW2crErX+xxR3UZQGNdTIJm0lWXsHnSH3pkJp5OFcAEj6SK7GyTN922029kaQP
iXM2DEOyI2Gyc6V5AYc8ls9xFz4FA4Zdz1f9TNOs8dCkfUXAC3LEtgJtAoGAJtI8
9XMm/sf5DKzgTse6B+pxNmixhCms7nJKbb4EbvakP3IJ+G4uHaY20YcnYFQqFUad
roiKuagXmsr8czEahA22t579h/Yy03SOnAiOut4Mlys1JU++AJhWn3CcsetZ26Fe
x5oJHnh/UuRfw8fHzf8UAT39nQQW+yiUlTWkzJECgYAXFWjjSnk9Ly1T4lXVJunD
ZTLPbifStpPE9iFTav+UZbHYM4EVN2zqbDAArdgjSFlbCFJYngn/9L3wOzTF0Lfm
dswcZsNfxUHSsNJUdrFvpO8GO4Af3iXzzap6xVWIk7Jde8+dp3s6CuvawZyOTn/S
vt7E11OFzJHxw/6rkDr2Yg==
-----END PRIVATE KEY-----
";

/// The person the fake signs in at `/authorize`.
#[derive(Clone, Debug)]
pub struct FakeIdentity {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
}

impl FakeIdentity {
    /// Someone whose email the provider has verified.
    pub fn verified(subject: &str, email: &str, name: &str) -> Self {
        FakeIdentity {
            subject: subject.to_owned(),
            email: Some(email.to_owned()),
            email_verified: Some(true),
            name: Some(name.to_owned()),
        }
    }
}

/// How the fake departs from the protocol on the next token responses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Misbehaviour {
    #[default]
    None,
    /// The ID token carries another nonce than the one in the authorization request.
    WrongNonce,
    /// The ID token carries no nonce.
    NoNonce,
    /// The ID token is for another client.
    WrongAudience,
    /// The ID token names another issuer.
    WrongIssuer,
    /// The ID token expired two minutes ago.
    Expired,
    /// The signature does not verify.
    BadSignature,
    /// Signed with the right key but naming a `kid` the JWKS does not list (key rotation).
    UnknownKey,
    /// The at_hash does not match the access token.
    WrongAtHash,
    /// `/authorize` answers `error=access_denied` (the person declined).
    DenyConsent,
}

/// Which client authentication discovery advertises and `/token` accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientAuth {
    #[default]
    Basic,
    Post,
}

/// One request the token endpoint accepted the client authentication of.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    /// `client_secret_basic` or `client_secret_post`.
    pub client_auth: &'static str,
    pub form: HashMap<String, String>,
}

struct Grant {
    client_id: String,
    redirect_uri: String,
    nonce: Option<String>,
    code_challenge: String,
    identity: FakeIdentity,
}

struct Shared {
    identity: FakeIdentity,
    misbehaviour: Misbehaviour,
    client_auth: ClientAuth,
    grants: HashMap<String, Grant>,
    authorize_requests: Vec<HashMap<String, String>>,
    token_requests: Vec<TokenRequest>,
    discovery_requests: u32,
}

#[derive(Clone)]
struct Provider {
    issuer: String,
    shared: Arc<Mutex<Shared>>,
}

/// A running fake provider; stops when dropped.
pub struct FakeOidc {
    /// `http://127.0.0.1:<port>` — no trailing slash, exactly what discovery and tokens say.
    pub issuer: String,
    shared: Arc<Mutex<Shared>>,
    server: JoinHandle<()>,
}

impl Drop for FakeOidc {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeOidc {
    /// A provider on a free port, advertising client_secret_basic.
    pub async fn start() -> Self {
        Self::start_on(0, ClientAuth::Basic).await
    }

    pub async fn start_with(client_auth: ClientAuth) -> Self {
        Self::start_on(0, client_auth).await
    }

    /// On a given port (0 for any), e.g. to bring a provider “back up” where the app expects it.
    pub async fn start_on(port: u16, client_auth: ClientAuth) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("the fake provider binds");
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Mutex::new(Shared {
            identity: FakeIdentity::verified("subject-1", "ada@example.org", "Ada Lovelace"),
            misbehaviour: Misbehaviour::None,
            client_auth,
            grants: HashMap::new(),
            authorize_requests: Vec::new(),
            token_requests: Vec::new(),
            discovery_requests: 0,
        }));
        let provider = Provider {
            issuer: issuer.clone(),
            shared: shared.clone(),
        };
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(provider);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeOidc { issuer, shared, server }
    }

    /// The settings that point the app at this provider.
    pub fn configure(&self, values: &mut HashMap<String, String>) {
        values.insert("ATELIER_OIDC_ISSUER".into(), self.issuer.clone());
        values.insert("ATELIER_OIDC_CLIENT_ID".into(), CLIENT_ID.into());
        values.insert("ATELIER_OIDC_CLIENT_SECRET".into(), CLIENT_SECRET.into());
        values.insert("ATELIER_OIDC_NAME".into(), DISPLAY_NAME.into());
    }

    /// Who signs in at the next `/authorize`.
    pub fn set_identity(&self, identity: FakeIdentity) {
        self.shared.lock().unwrap().identity = identity;
    }

    pub fn misbehave(&self, misbehaviour: Misbehaviour) {
        self.shared.lock().unwrap().misbehaviour = misbehaviour;
    }

    /// The query of every `/authorize` request, oldest first.
    pub fn authorize_requests(&self) -> Vec<HashMap<String, String>> {
        self.shared.lock().unwrap().authorize_requests.clone()
    }

    /// Every `/token` request whose client authentication passed, oldest first.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.shared.lock().unwrap().token_requests.clone()
    }

    /// How often the discovery document was fetched (the app caches it).
    pub fn discovery_requests(&self) -> u32 {
        self.shared.lock().unwrap().discovery_requests
    }
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn random_token() -> String {
    std::iter::repeat_with(fastrand::alphanumeric).take(40).collect()
}

fn signing_key() -> &'static SigningKey<Sha256> {
    static KEY: OnceLock<SigningKey<Sha256>> = OnceLock::new();
    KEY.get_or_init(|| {
        let key = RsaPrivateKey::from_pkcs8_pem(PRIVATE_KEY_PEM).expect("the test key parses");
        SigningKey::<Sha256>::new(key)
    })
}

/// `base64url(header).base64url(claims).base64url(RS256 signature)`.
fn sign_jwt(claims: &Value, kid: &str, corrupt_signature: bool) -> String {
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": kid });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = signing_key().sign(signing_input.as_bytes()).to_bytes().into_vec();
    if corrupt_signature {
        signature[10] ^= 0x55;
    }
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space), as RFC 6749 §2.3.1 asks
/// of the Basic credentials.
fn form_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |byte: u8| (byte as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(high), Some(low)) => {
                        out.push((high * 16 + low) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

async fn discovery(State(provider): State<Provider>) -> Json<Value> {
    let client_auth = {
        let mut shared = provider.shared.lock().unwrap();
        shared.discovery_requests += 1;
        shared.client_auth
    };
    let methods = match client_auth {
        ClientAuth::Basic => ["client_secret_basic"],
        ClientAuth::Post => ["client_secret_post"],
    };
    let issuer = &provider.issuer;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": methods,
        "grant_types_supported": ["authorization_code"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "email", "email_verified", "name"]
    }))
}

async fn jwks() -> Json<Value> {
    let key: &RsaPrivateKey = signing_key().as_ref();
    Json(json!({
        "keys": [{
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": KEY_ID,
            "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        }]
    }))
}

/// Checks the request as a provider would, “logs in” the configured person at once and
/// sends the browser back to `redirect_uri` with a code and the same `state`.
async fn authorize(State(provider): State<Provider>, Query(query): Query<HashMap<String, String>>) -> Response {
    let mut shared = provider.shared.lock().unwrap();
    shared.authorize_requests.push(query.clone());
    let field = |name: &str| query.get(name).map(String::as_str).unwrap_or_default();
    let scopes: Vec<&str> = field("scope").split(' ').collect();
    let problem = if field("response_type") != "code" {
        Some("response_type must be code")
    } else if field("client_id") != CLIENT_ID {
        Some("unknown client_id")
    } else if field("redirect_uri").is_empty() {
        Some("redirect_uri is required")
    } else if !scopes.contains(&"openid") {
        Some("the openid scope is required")
    } else if field("state").is_empty() {
        Some("state is required by this provider")
    } else if field("code_challenge_method") != "S256" || field("code_challenge").len() < 43 {
        Some("PKCE with S256 is required by this provider")
    } else {
        None
    };
    if let Some(problem) = problem {
        // A real provider shows an error page and does not redirect to an unchecked URI.
        return (StatusCode::BAD_REQUEST, problem).into_response();
    }
    let redirect_uri = field("redirect_uri").to_owned();
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let state = encode(field("state"));
    if shared.misbehaviour == Misbehaviour::DenyConsent {
        let location = format!(
            "{redirect_uri}{separator}error=access_denied&error_description={}&state={state}",
            encode("The user declined")
        );
        return (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
    }
    let code = random_token();
    let grant = Grant {
        client_id: field("client_id").to_owned(),
        redirect_uri: redirect_uri.clone(),
        nonce: query.get("nonce").cloned(),
        code_challenge: field("code_challenge").to_owned(),
        identity: shared.identity.clone(),
    };
    shared.grants.insert(code.clone(), grant);
    let location = format!("{redirect_uri}{separator}code={}&state={state}", encode(&code));
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// The code exchange: client authentication as advertised, then grant type, code (single
/// use), redirect URI and PKCE verifier; then tokens.
async fn token(
    State(provider): State<Provider>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut shared = provider.shared.lock().unwrap();
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| STANDARD.decode(encoded.trim()).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(id, secret)| (form_decode(id), form_decode(secret)))
        });
    let posted = form
        .get("client_secret")
        .map(|secret| (form.get("client_id").cloned().unwrap_or_default(), secret.clone()));
    let (client_auth, (client_id, client_secret)) = match (shared.client_auth, basic, posted) {
        (ClientAuth::Basic, Some(credentials), None) => ("client_secret_basic", credentials),
        (ClientAuth::Post, None, Some(credentials)) => ("client_secret_post", credentials),
        _ => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "use the advertised client authentication method",
            )
        }
    };
    if client_id != CLIENT_ID || client_secret != CLIENT_SECRET {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        );
    }
    shared.token_requests.push(TokenRequest {
        client_auth,
        form: form.clone(),
    });
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only authorization_code",
        );
    }
    // A code works once, whatever happens next.
    let Some(grant) = form.get("code").and_then(|code| shared.grants.remove(code)) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "unknown or used code");
    };
    if grant.client_id != client_id {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "code issued to another client",
        );
    }
    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "redirect_uri differs");
    }
    let verifier = form.get("code_verifier").map(String::as_str).unwrap_or_default();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if verifier.len() < 43 || challenge != grant.code_challenge {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "PKCE verification failed");
    }

    let misbehaviour = shared.misbehaviour;
    drop(shared);
    let access_token = random_token();
    let at_hash = |token: &str| URL_SAFE_NO_PAD.encode(&Sha256::digest(token.as_bytes())[..16]);
    let issued_at = now();
    let mut claims = json!({
        "iss": provider.issuer,
        "sub": grant.identity.subject,
        "aud": CLIENT_ID,
        "exp": issued_at + 300,
        "iat": issued_at,
        "auth_time": issued_at,
        "at_hash": at_hash(&access_token),
    });
    let object = claims.as_object_mut().unwrap();
    if let Some(nonce) = &grant.nonce {
        object.insert("nonce".into(), json!(nonce));
    }
    if let Some(email) = &grant.identity.email {
        object.insert("email".into(), json!(email));
    }
    if let Some(verified) = grant.identity.email_verified {
        object.insert("email_verified".into(), json!(verified));
    }
    if let Some(name) = &grant.identity.name {
        object.insert("name".into(), json!(name));
    }
    match misbehaviour {
        Misbehaviour::WrongNonce => {
            object.insert("nonce".into(), json!("not-the-nonce-that-was-sent"));
        }
        Misbehaviour::NoNonce => {
            object.remove("nonce");
        }
        Misbehaviour::WrongAudience => {
            object.insert("aud".into(), json!("another-client"));
        }
        Misbehaviour::WrongIssuer => {
            object.insert("iss".into(), json!("http://127.0.0.1:9/another-issuer"));
        }
        Misbehaviour::Expired => {
            object.insert("exp".into(), json!(issued_at - 120));
            object.insert("iat".into(), json!(issued_at - 900));
        }
        Misbehaviour::WrongAtHash => {
            object.insert("at_hash".into(), json!(at_hash("another access token")));
        }
        Misbehaviour::None | Misbehaviour::BadSignature | Misbehaviour::UnknownKey | Misbehaviour::DenyConsent => {}
    }
    let kid = if misbehaviour == Misbehaviour::UnknownKey {
        "rotated-key"
    } else {
        KEY_ID
    };
    let id_token = sign_jwt(&claims, kid, misbehaviour == Misbehaviour::BadSignature);
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding_undoes_basic_credential_encoding() {
        assert_eq!(form_decode("fake+secret%3A+with+spaces+%26+symbols"), CLIENT_SECRET);
        assert_eq!(form_decode("100%"), "100%");
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
    }
}
