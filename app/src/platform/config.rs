//! Typed configuration, read once from the environment (and an optional `.env`) and checked
//! before anything starts. A bad value stops the process with a message naming the variable.

use super::mail::MailTransportConfig;
use ipnet::IpNet;
use std::{collections::HashMap, fmt, net::SocketAddr, path::PathBuf};

/// Every setting the server reads. `.env.example` and the README table document each one.
#[derive(Clone, Debug)]
pub struct Config {
    /// Name shown in titles, the header and emails.
    pub site_name: String,
    /// Address the HTTP server binds to.
    pub listen: SocketAddr,
    /// Origin that browsers use to reach the site (scheme, host, optional port; no path).
    pub public_url: String,
    /// Directory for the embedded defaults: the SQLite file and local media.
    pub data_dir: PathBuf,
    /// `sqlite://…` (default, a file under the data directory) or `postgres://…`.
    pub database_url: String,
    /// Maximum pooled database connections per instance.
    pub db_max_connections: u32,
    /// Where media files (originals and variants) are stored on local disk.
    pub media_dir: PathBuf,
    /// S3-compatible storage (`ATELIER_S3_*`) used instead of `media_dir` when set.
    pub s3: Option<super::media::S3Settings>,
    /// Where cargo-leptos wrote the compiled site (`pkg/`, public assets).
    pub site_root: PathBuf,
    /// Peers whose `X-Forwarded-For` is believed; everyone else's is ignored.
    pub trusted_proxies: Vec<IpNet>,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Background job workers in this process (0 disables the worker).
    pub job_workers: u32,
    /// Session cookie as `__Host-…; Secure` (HTTPS). Plain-HTTP local development turns it off.
    pub secure_cookies: bool,
    /// Header carrying the visitor's country from a trusted proxy (e.g. `CF-IPCountry`).
    pub country_header: Option<String>,
    /// Youngest age allowed to create an account (13 by default; 16 where required).
    pub min_age: u32,
    /// How mail leaves: the local outbox table, SMTP, or an HTTP provider.
    pub mail_transport: MailTransportConfig,
    /// The sender of every message, e.g. `Atelier <hello@atelier.example>`.
    pub mail_from: String,
    /// Optional OpenID Connect sign-in (`ATELIER_OIDC_*`); `None` hides it.
    pub oidc: Option<crate::features::accounts::oidc::OidcConfig>,
    /// `ATELIER_SECRET_KEY`; `None` uses (or creates) `<data dir>/secret.key`.
    pub secret_key: Option<super::signing::SecretKey>,
    /// The privacy policy version; raising it asks every visitor for their cookie choice again.
    pub policy_version: u32,
    /// Where the privacy policy tells people to send data requests (an email address).
    pub privacy_contact: String,
    /// Days a session keeps the IP address it signed in from (`ATELIER_SESSION_IP_DAYS`).
    pub session_ip_days: u32,
    /// Days between asking to delete an account and its deletion, during which the member
    /// can cancel (`ATELIER_DELETION_GRACE_DAYS`).
    pub deletion_grace_days: u32,
    /// How many collections, and images in each, a member may keep
    /// (`ATELIER_COLLECTIONS_PER_MEMBER`, `ATELIER_ITEMS_PER_COLLECTION`) on the Free plan;
    /// paid plans multiply both (`billing::plans`).
    pub collection_limits: crate::features::collections::Limits,
    /// PostHog product analytics (`ATELIER_POSTHOG_KEY`, `ATELIER_POSTHOG_HOST`), started in
    /// the browser only after analytics consent; `None` loads no analytics script at all.
    pub posthog: Option<crate::features::privacy::analytics::PostHogSettings>,
    /// Payments through Stripe (`ATELIER_STRIPE_*`); `None` (the embedded default) sells
    /// nothing, and the pricing page says so.
    pub stripe: Option<crate::features::billing::stripe::StripeSettings>,
    /// The model chat personas answer with (`ATELIER_CHAT_*`); `None` (the embedded
    /// default) and the chat pages say how to configure one.
    pub chat: Option<crate::features::chat::provider::ChatSettings>,
}

/// A configuration problem, always naming the variable at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration error in {}: {}", self.variable, self.problem)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads `.env` (when present, without overriding real environment variables) and then
    /// the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(error) if error.not_found() => {}
            Err(error) => {
                return Err(ConfigError {
                    variable: ".env",
                    problem: format!("the file could not be read: {error}"),
                })
            }
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from explicit values (tests use this).
    pub fn from_map(values: &HashMap<String, String>) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| values.get(name).cloned())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());

        let site_name = get("ATELIER_SITE_NAME").unwrap_or_else(|| "Atelier".to_owned());
        if site_name.chars().count() > 60 {
            return Err(invalid("ATELIER_SITE_NAME", "must be at most 60 characters"));
        }

        let listen = match get("ATELIER_LISTEN") {
            Some(raw) => raw.parse::<SocketAddr>().map_err(|_| {
                invalid(
                    "ATELIER_LISTEN",
                    format!("expected host:port such as 127.0.0.1:3000, got “{raw}”"),
                )
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
        };

        let public_url = match get("ATELIER_PUBLIC_URL") {
            Some(raw) => parse_origin(&raw).map_err(|problem| invalid("ATELIER_PUBLIC_URL", problem))?,
            None => format!("http://{listen}"),
        };

        let data_dir = PathBuf::from(get("ATELIER_DATA_DIR").unwrap_or_else(|| "data".to_owned()));

        let database_url =
            get("DATABASE_URL").unwrap_or_else(|| format!("sqlite://{}", data_dir.join("atelier.db").display()));
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "DATABASE_URL",
                "must start with sqlite: (embedded default) or postgres:// — other databases are not supported",
            ));
        }

        let db_max_connections = parse_number(
            "ATELIER_DB_MAX_CONNECTIONS",
            get("ATELIER_DB_MAX_CONNECTIONS"),
            10,
            1..=500,
        )? as u32;

        let media_dir = get("ATELIER_MEDIA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("media"));

        let site_root = PathBuf::from(
            get("ATELIER_SITE_ROOT")
                .or_else(|| get("LEPTOS_SITE_ROOT"))
                .unwrap_or_else(|| "target/site".to_owned()),
        );

        let trusted_proxies = match get("ATELIER_TRUSTED_PROXIES") {
            Some(raw) => parse_proxies(&raw).map_err(|problem| invalid("ATELIER_TRUSTED_PROXIES", problem))?,
            None => Vec::new(),
        };

        let max_body_bytes = parse_number(
            "ATELIER_MAX_BODY_BYTES",
            get("ATELIER_MAX_BODY_BYTES"),
            10 * 1024 * 1024,
            1024..=1024 * 1024 * 1024,
        )? as usize;

        let job_workers = parse_number("ATELIER_JOB_WORKERS", get("ATELIER_JOB_WORKERS"), 2, 0..=64)? as u32;

        let secure_cookies = match get("ATELIER_SECURE_COOKIES").as_deref() {
            None => public_url.starts_with("https://"),
            Some("true" | "1" | "yes") => true,
            Some("false" | "0" | "no") => false,
            Some(other) => {
                return Err(invalid(
                    "ATELIER_SECURE_COOKIES",
                    format!("expected true or false, got “{other}”"),
                ))
            }
        };

        let country_header = match get("ATELIER_COUNTRY_HEADER") {
            Some(name) if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() => {
                return Err(invalid(
                    "ATELIER_COUNTRY_HEADER",
                    format!("“{name}” is not a valid header name"),
                ))
            }
            other => other.map(|name| name.to_ascii_lowercase()),
        };

        let min_age = parse_number("ATELIER_MIN_AGE", get("ATELIER_MIN_AGE"), 13, 13..=21)? as u32;

        let mail_transport = match get("ATELIER_MAIL_TRANSPORT").as_deref().unwrap_or("outbox") {
            "outbox" => MailTransportConfig::Outbox,
            "smtp" => MailTransportConfig::Smtp {
                url: get("ATELIER_SMTP_URL").ok_or_else(|| {
                    invalid(
                        "ATELIER_SMTP_URL",
                        "is required when ATELIER_MAIL_TRANSPORT=smtp (e.g. smtp://user:pass@mail.example:587?tls=required)",
                    )
                })?,
            },
            "http" => MailTransportConfig::Http {
                api_url: match get("ATELIER_MAIL_API_URL") {
                    Some(raw) => parse_base_url(&raw).map_err(|problem| invalid("ATELIER_MAIL_API_URL", problem))?,
                    None => "https://api.resend.com".to_owned(),
                },
                api_key: get("ATELIER_MAIL_API_KEY")
                    .ok_or_else(|| invalid("ATELIER_MAIL_API_KEY", "is required when ATELIER_MAIL_TRANSPORT=http"))?,
            },
            other => {
                return Err(invalid(
                    "ATELIER_MAIL_TRANSPORT",
                    format!("expected outbox, smtp or http, got “{other}”"),
                ))
            }
        };

        let mail_from = get("ATELIER_MAIL_FROM").unwrap_or_else(|| format!("{site_name} <no-reply@localhost>"));
        if mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                "ATELIER_MAIL_FROM",
                format!("expected an address such as “Atelier <hello@atelier.example>”, got “{mail_from}”"),
            ));
        }

        let oidc = crate::features::accounts::oidc::OidcConfig::from_lookup(get)?;
        let s3 = super::media::S3Settings::from_lookup(get)?;

        let secret_key = match get("ATELIER_SECRET_KEY") {
            Some(raw) => Some(super::signing::SecretKey::from_hex(&raw).ok_or_else(|| {
                invalid(
                    "ATELIER_SECRET_KEY",
                    "expected 64 hexadecimal characters (32 random bytes, e.g. from `openssl rand -hex 32`)",
                )
            })?),
            None => None,
        };

        let policy_version = parse_number(
            "ATELIER_PRIVACY_POLICY_VERSION",
            get("ATELIER_PRIVACY_POLICY_VERSION"),
            1,
            1..=1_000_000,
        )? as u32;

        // Defaults to the sender's address; an operator whose sender is a no-reply address
        // sets a reachable one here, because the privacy policy shows it.
        let privacy_contact = match get("ATELIER_PRIVACY_CONTACT") {
            Some(contact) if contact.parse::<lettre::Address>().is_ok() => contact,
            Some(contact) => {
                return Err(invalid(
                    "ATELIER_PRIVACY_CONTACT",
                    format!("expected an email address such as “privacy@atelier.example”, got “{contact}”"),
                ))
            }
            None => mail_from
                .parse::<lettre::message::Mailbox>()
                .map(|mailbox| mailbox.email.to_string())
                .unwrap_or_default(),
        };

        let session_ip_days =
            parse_number("ATELIER_SESSION_IP_DAYS", get("ATELIER_SESSION_IP_DAYS"), 7, 1..=30)? as u32;
        let deletion_grace_days = parse_number(
            "ATELIER_DELETION_GRACE_DAYS",
            get("ATELIER_DELETION_GRACE_DAYS"),
            30,
            1..=90,
        )? as u32;

        let collection_limits = crate::features::collections::Limits {
            collections: parse_number(
                "ATELIER_COLLECTIONS_PER_MEMBER",
                get("ATELIER_COLLECTIONS_PER_MEMBER"),
                100,
                1..=10_000,
            )? as u32,
            items_per_collection: parse_number(
                "ATELIER_ITEMS_PER_COLLECTION",
                get("ATELIER_ITEMS_PER_COLLECTION"),
                1_000,
                1..=100_000,
            )? as u32,
        };

        let posthog = parse_posthog(get("ATELIER_POSTHOG_KEY"), get("ATELIER_POSTHOG_HOST"))?;
        let stripe = crate::features::billing::stripe::StripeSettings::from_lookup(get)?;
        let chat = crate::features::chat::provider::ChatSettings::from_lookup(get)?;

        Ok(Config {
            chat,
            stripe,
            posthog,
            policy_version,
            privacy_contact,
            session_ip_days,
            deletion_grace_days,
            collection_limits,
            secret_key,
            oidc,
            min_age,
            mail_transport,
            mail_from,
            site_name,
            listen,
            public_url,
            data_dir,
            database_url,
            db_max_connections,
            media_dir,
            s3,
            site_root,
            trusted_proxies,
            max_body_bytes,
            job_workers,
            secure_cookies,
            country_header,
        })
    }
}

/// PostHog is on when a project key is given; its host defaults to PostHog's EU cloud.
fn parse_posthog(
    key: Option<String>,
    host: Option<String>,
) -> Result<Option<crate::features::privacy::analytics::PostHogSettings>, ConfigError> {
    let Some(key) = key else {
        return match host {
            Some(_) => Err(invalid(
                "ATELIER_POSTHOG_HOST",
                "is set, but ATELIER_POSTHOG_KEY is not: set both to turn PostHog on",
            )),
            None => Ok(None),
        };
    };
    // A project key is public (it ships to browsers) but lands in an HTML attribute and a
    // script: only the characters PostHog's keys use are accepted.
    if key.len() > 100 || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(invalid(
            "ATELIER_POSTHOG_KEY",
            "expected a PostHog project API key such as phc_AbC123",
        ));
    }
    let host = parse_origin(host.as_deref().unwrap_or("https://eu.i.posthog.com"))
        .map_err(|problem| invalid("ATELIER_POSTHOG_HOST", problem))?;
    Ok(Some(crate::features::privacy::analytics::PostHogSettings { key, host }))
}

pub(crate) fn invalid(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

pub(crate) fn parse_number(
    variable: &'static str,
    raw: Option<String>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let Some(raw) = raw else { return Ok(default) };
    let value = raw
        .parse::<u64>()
        .map_err(|_| invalid(variable, format!("expected a whole number, got “{raw}”")))?;
    if !range.contains(&value) {
        return Err(invalid(
            variable,
            format!("must be between {} and {}, got {value}", range.start(), range.end()),
        ));
    }
    Ok(value)
}

/// Accepts `http(s)://host[:port]` with no path, query or fragment; returns it without a
/// trailing slash so it compares equal to a browser's `Origin` header.
fn parse_origin(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| format!("must start with http:// or https://, got “{raw}”"))?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return Err(format!(
            "must be an origin such as https://atelier.example (no path), got “{raw}”"
        ));
    }
    Ok(trimmed.to_ascii_lowercase())
}

/// An `http(s)://` base URL without query or fragment, returned without a trailing slash.
pub(crate) fn parse_base_url(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim_end_matches('/');
    let valid = (trimmed.starts_with("https://") || trimmed.starts_with("http://"))
        && !trimmed.contains(['?', '#', ' '])
        && trimmed.split("://").nth(1).is_some_and(|rest| !rest.is_empty());
    if valid {
        Ok(trimmed.to_owned())
    } else {
        Err(format!(
            "expected an http(s) URL such as https://api.resend.com, got “{raw}”"
        ))
    }
}

/// Comma-separated IP addresses or CIDR ranges.
fn parse_proxies(raw: &str) -> Result<Vec<IpNet>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<IpNet>()
                .or_else(|_| part.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| format!("“{part}” is not an IP address or CIDR range"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_map(&map)
    }

    #[test]
    fn defaults_use_embedded_sqlite_and_local_media() {
        let config = config(&[]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(config.database_url, "sqlite://data/atelier.db");
        assert_eq!(config.media_dir, PathBuf::from("data/media"));
        assert_eq!(config.public_url, "http://127.0.0.1:3000");
        assert!(config.trusted_proxies.is_empty());
    }

    #[test]
    fn the_privacy_contact_defaults_to_the_sender_address_and_must_be_an_address() {
        let default = config(&[("ATELIER_MAIL_FROM", "Atelier <hello@atelier.example>")]).unwrap();
        assert_eq!(default.privacy_contact, "hello@atelier.example");
        let set = config(&[("ATELIER_PRIVACY_CONTACT", "privacy@atelier.example")]).unwrap();
        assert_eq!(set.privacy_contact, "privacy@atelier.example");
        let error = config(&[("ATELIER_PRIVACY_CONTACT", "write to us")]).unwrap_err();
        assert_eq!(error.variable, "ATELIER_PRIVACY_CONTACT");
    }

    #[test]
    fn posthog_needs_a_key_and_an_origin() {
        assert_eq!(config(&[]).unwrap().posthog, None);
        let on = config(&[("ATELIER_POSTHOG_KEY", "phc_abc123")])
            .unwrap()
            .posthog
            .unwrap();
        assert_eq!(
            (on.key.as_str(), on.host.as_str()),
            ("phc_abc123", "https://eu.i.posthog.com")
        );
        let own = config(&[
            ("ATELIER_POSTHOG_KEY", "phc_abc123"),
            ("ATELIER_POSTHOG_HOST", "https://ph.atelier.example/"),
        ])
        .unwrap();
        assert_eq!(own.posthog.unwrap().host, "https://ph.atelier.example");
        for (pairs, variable) in [
            (
                &[("ATELIER_POSTHOG_HOST", "https://ph.example")][..],
                "ATELIER_POSTHOG_HOST",
            ),
            (&[("ATELIER_POSTHOG_KEY", "phc_<script>")][..], "ATELIER_POSTHOG_KEY"),
            (
                &[
                    ("ATELIER_POSTHOG_KEY", "phc_x"),
                    ("ATELIER_POSTHOG_HOST", "https://ph.example/capture"),
                ][..],
                "ATELIER_POSTHOG_HOST",
            ),
        ] {
            assert_eq!(config(pairs).unwrap_err().variable, variable);
        }
    }

    #[test]
    fn invalid_listen_address_names_the_variable() {
        let error = config(&[("ATELIER_LISTEN", "localhost")]).unwrap_err();
        assert_eq!(error.variable, "ATELIER_LISTEN");
        assert!(error.to_string().contains("ATELIER_LISTEN"));
    }

    #[test]
    fn unsupported_database_is_refused() {
        let error = config(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert_eq!(error.variable, "DATABASE_URL");
    }

    #[test]
    fn out_of_range_numbers_are_refused() {
        let error = config(&[("ATELIER_JOB_WORKERS", "1000")]).unwrap_err();
        assert_eq!(error.variable, "ATELIER_JOB_WORKERS");
        let error = config(&[("ATELIER_MAX_BODY_BYTES", "ten")]).unwrap_err();
        assert_eq!(error.variable, "ATELIER_MAX_BODY_BYTES");
    }

    #[test]
    fn public_url_must_be_an_origin() {
        assert_eq!(
            config(&[("ATELIER_PUBLIC_URL", "https://Atelier.example/")])
                .unwrap()
                .public_url,
            "https://atelier.example"
        );
        assert_eq!(
            config(&[("ATELIER_PUBLIC_URL", "https://atelier.example/app")])
                .unwrap_err()
                .variable,
            "ATELIER_PUBLIC_URL"
        );
        assert!(config(&[("ATELIER_PUBLIC_URL", "ftp://x")]).is_err());
    }

    #[test]
    fn secure_cookies_follow_the_public_scheme_unless_configured() {
        assert!(!config(&[]).unwrap().secure_cookies);
        assert!(
            config(&[("ATELIER_PUBLIC_URL", "https://atelier.example")])
                .unwrap()
                .secure_cookies
        );
        let local = config(&[
            ("ATELIER_PUBLIC_URL", "https://atelier.example"),
            ("ATELIER_SECURE_COOKIES", "false"),
        ]);
        assert!(!local.unwrap().secure_cookies);
        assert_eq!(
            config(&[("ATELIER_SECURE_COOKIES", "maybe")]).unwrap_err().variable,
            "ATELIER_SECURE_COOKIES"
        );
        assert_eq!(
            config(&[("ATELIER_COUNTRY_HEADER", "bad header")])
                .unwrap_err()
                .variable,
            "ATELIER_COUNTRY_HEADER"
        );
    }

    #[test]
    fn mail_and_age_settings_are_checked() {
        let defaults = config(&[]).unwrap();
        assert_eq!(defaults.min_age, 13);
        assert_eq!(defaults.mail_transport, MailTransportConfig::Outbox);
        assert_eq!(config(&[("ATELIER_MIN_AGE", "16")]).unwrap().min_age, 16);
        assert_eq!(
            config(&[("ATELIER_MIN_AGE", "12")]).unwrap_err().variable,
            "ATELIER_MIN_AGE"
        );
        assert_eq!(
            config(&[("ATELIER_MAIL_TRANSPORT", "smtp")]).unwrap_err().variable,
            "ATELIER_SMTP_URL"
        );
        assert_eq!(
            config(&[("ATELIER_MAIL_TRANSPORT", "http")]).unwrap_err().variable,
            "ATELIER_MAIL_API_KEY"
        );
        assert_eq!(
            config(&[("ATELIER_MAIL_TRANSPORT", "pigeon")]).unwrap_err().variable,
            "ATELIER_MAIL_TRANSPORT"
        );
        assert_eq!(
            config(&[("ATELIER_MAIL_FROM", "not an address")]).unwrap_err().variable,
            "ATELIER_MAIL_FROM"
        );
        let http = config(&[
            ("ATELIER_MAIL_TRANSPORT", "http"),
            ("ATELIER_MAIL_API_KEY", "re_test"),
            ("ATELIER_MAIL_API_URL", "http://127.0.0.1:9/"),
        ])
        .unwrap();
        assert_eq!(
            http.mail_transport,
            MailTransportConfig::Http {
                api_url: "http://127.0.0.1:9".into(),
                api_key: "re_test".into()
            }
        );
    }

    #[test]
    fn trusted_proxies_accept_addresses_and_ranges() {
        let config = config(&[("ATELIER_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7,::1")]).unwrap();
        assert_eq!(config.trusted_proxies.len(), 3);
        let error = super::parse_proxies("10.0.0.0/8,nonsense").unwrap_err();
        assert!(error.contains("nonsense"));
    }
}
