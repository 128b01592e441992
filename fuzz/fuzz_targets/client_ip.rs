//! The client address behind proxies: `X-Forwarded-For` counts only from a trusted peer, the
//! answer is the peer or an address the header names with only trusted hops to its right,
//! and a country header is two ASCII letters (not `XX`) or nothing.
//! Input: lines peer, trusted networks (comma-separated), X-Forwarded-For, country.
#![no_main]

use app::platform::client_ip::{parse_country, resolve_client_ip};
use ipnet::IpNet;
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.split('\n');
    let peer: IpAddr = lines
        .next()
        .and_then(|line| line.trim().parse().ok())
        .unwrap_or(Ipv4Addr::LOCALHOST.into());
    let trusted: Vec<IpNet> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .filter_map(|net| net.trim().parse().ok())
        .collect();
    let forwarded_for = lines.next();
    let country = lines.next().unwrap_or_default();

    let resolved = resolve_client_ip(peer, forwarded_for, &trusted);
    assert_eq!(
        resolve_client_ip(peer, forwarded_for, &[]),
        peer,
        "no trusted proxy, no header"
    );
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) || forwarded_for.is_none() {
        assert_eq!(resolved, peer);
    }
    if resolved != peer {
        // The hops from the right up to the answer: each parsed, each but the answer trusted.
        let hops: Vec<Option<IpAddr>> = forwarded_for
            .unwrap_or_default()
            .rsplit(',')
            .map(|hop| hop.trim().parse().ok())
            .collect();
        let at = hops
            .iter()
            .position(|hop| *hop == Some(resolved))
            .expect("the answer is in the header");
        assert!(
            hops[..at].iter().all(|hop| hop.as_ref().is_some_and(is_trusted)),
            "{hops:?}"
        );
    }

    let code = parse_country(country);
    let given = country.trim();
    let expected =
        given.len() == 2 && given.bytes().all(|b| b.is_ascii_alphabetic()) && !given.eq_ignore_ascii_case("xx");
    assert_eq!(code.is_some(), expected, "{country:?}");
    if let Some(code) = code {
        assert!(
            code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()),
            "{code}"
        );
        assert!(code.eq_ignore_ascii_case(given));
    }
});
