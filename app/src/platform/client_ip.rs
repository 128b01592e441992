//! Who is on the other end of a request: the TCP peer, or the address a trusted proxy
//! reports in `X-Forwarded-For`. Untrusted peers cannot choose their own address.

use ipnet::IpNet;
use std::net::IpAddr;

/// The resolved client address, stored in request extensions by the server's middleware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The visitor's country (ISO 3166-1 alpha-2) as a trusted proxy reported it, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCountry(pub Option<String>);

/// Accepts two ASCII letters; proxies' "unknown" (XX) and Tor (T1) codes mean no country.
pub fn parse_country(value: &str) -> Option<String> {
    let code = value.trim().to_ascii_uppercase();
    (code.len() == 2 && code.chars().all(|c| c.is_ascii_alphabetic()) && code != "XX").then_some(code)
}

/// Walks `X-Forwarded-For` from the right (the entries our own proxies appended) and returns
/// the first address that is not a trusted proxy. Without a trusted peer the header is ignored.
pub fn resolve_client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    for entry in forwarded_for.unwrap_or_default().rsplit(',') {
        let Ok(ip) = entry.trim().parse::<IpAddr>() else {
            // A malformed hop: stop at the last address we could vouch for.
            return client;
        };
        client = ip;
        if !is_trusted(&ip) {
            return ip;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies() -> Vec<IpNet> {
        vec!["10.0.0.0/8".parse().unwrap(), "127.0.0.1/32".parse().unwrap()]
    }

    #[test]
    fn countries_are_two_letter_codes() {
        assert_eq!(parse_country(" de "), Some("DE".to_owned()));
        assert_eq!(parse_country("XX"), None);
        assert_eq!(parse_country("T1"), None);
        assert_eq!(parse_country("Germany"), None);
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        assert_eq!(
            resolve_client_ip(ip("203.0.113.9"), Some("1.2.3.4"), &proxies()),
            ip("203.0.113.9")
        );
        assert_eq!(
            resolve_client_ip(ip("127.0.0.1"), Some("1.2.3.4"), &[]),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn trusted_proxy_chain_yields_the_first_untrusted_hop() {
        let got = resolve_client_ip(ip("10.0.0.2"), Some("6.6.6.6, 198.51.100.7, 10.0.0.5"), &proxies());
        assert_eq!(got, ip("198.51.100.7"), "a spoofed left-most entry must not win");
    }

    #[test]
    fn malformed_or_missing_header_falls_back_safely() {
        assert_eq!(resolve_client_ip(ip("10.0.0.2"), None, &proxies()), ip("10.0.0.2"));
        assert_eq!(
            resolve_client_ip(ip("10.0.0.2"), Some("junk, 10.0.0.9"), &proxies()),
            ip("10.0.0.9")
        );
    }
}
