//! What a server function or server render knows about the request in hand: headers,
//! cookies, client address and country (set by the server's middleware).

use super::client_ip::{ClientCountry, ClientIp};
use axum::http::{header, request::Parts};
use leptos::prelude::*;
use std::net::IpAddr;

/// The request's head, provided by leptos_axum to every render and server function.
pub fn request_parts() -> Option<Parts> {
    use_context::<Parts>()
}

/// The value of one cookie, if the request carries it.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// A `Set-Cookie` value for one of our cookies: never readable by scripts, sent on
/// top-level navigations from other sites (`Lax`), `Secure` when served over HTTPS.
/// `max_age: None` makes a browser-session cookie; `Some(0)` removes the cookie.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: Option<i64>, secure: bool) -> String {
    let mut cookie = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax");
    if let Some(seconds) = max_age {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts.extensions.get::<ClientIp>().map(|ip| ip.0)
}

pub fn client_country(parts: &Parts) -> Option<String> {
    parts.extensions.get::<ClientCountry>().and_then(|c| c.0.clone())
}

/// Whether the request is a browser's own navigation or form post (it accepts HTML), as
/// opposed to a script's server-function call.
pub fn wants_html(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// After a plain form post (no JavaScript yet) the browser goes to `path`; a script's
/// server-function call gets the answer instead and updates the page itself.
pub fn back_to(path: &str) {
    if request_parts().is_some_and(|parts| wants_html(&parts)) {
        leptos_axum::redirect(path);
    }
}

/// The user agent, cut to a length worth storing.
pub fn user_agent(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(300).collect())
}
