//! Stores the resolved [`ClientIp`] and [`ClientCountry`] in request extensions for
//! handlers and limits. Forwarded headers count only when the peer is a trusted proxy.

use app::platform::client_ip::{parse_country, resolve_client_ip, ClientCountry, ClientIp};
use axum::{
    extract::{ConnectInfo, Request, State},
    middleware::Next,
    response::Response,
};
use ipnet::IpNet;
use std::{net::SocketAddr, sync::Arc};

#[derive(Clone, Debug)]
pub struct AddressPolicy {
    pub trusted_proxies: Vec<IpNet>,
    /// Lower-case header name, e.g. `cf-ipcountry`.
    pub country_header: Option<String>,
}

pub async fn client_address(State(policy): State<Arc<AddressPolicy>>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
        .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into());
    let forwarded = request.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let client = resolve_client_ip(peer, forwarded, &policy.trusted_proxies);
    let peer_is_trusted = policy.trusted_proxies.iter().any(|net| net.contains(&peer));
    let country = policy
        .country_header
        .as_deref()
        .filter(|_| peer_is_trusted)
        .and_then(|name| request.headers().get(name))
        .and_then(|value| value.to_str().ok())
        .and_then(parse_country);
    request.extensions_mut().insert(ClientIp(client));
    request.extensions_mut().insert(ClientCountry(country));
    next.run(request).await
}
