//! Backend URLs and the proxy: where a URL points, and the same URL pointed at a proxy.
//! Every form the harness uses names its host and port: `postgres://user:pw@host:port/db`,
//! `redis://host:port`, `nats://host:port`.

use super::ProxyError;
use statebench_adapters::connect::redact;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use url::{Host, Url};

/// The server `url` points at; a host name (such as `localhost`) is resolved, preferring an
/// IPv4 address, since the servers the harness starts listen on `127.0.0.1`.
pub fn upstream_of(url: &str) -> Result<SocketAddr, ProxyError> {
    let (parsed, port) = endpoint(url)?;
    match parsed.host() {
        Some(Host::Ipv6(ip)) => Ok(SocketAddr::new(IpAddr::V6(ip), port)),
        Some(Host::Ipv4(ip)) => Ok(SocketAddr::new(IpAddr::V4(ip), port)),
        Some(Host::Domain(name)) => match name.parse::<IpAddr>() {
            Ok(ip) => Ok(SocketAddr::new(ip, port)),
            Err(_) => resolve(name, port),
        },
        None => Err(bad(url, "it names no host")),
    }
}

/// `url` with its host and port replaced by `proxy`'s; everything else (user, password,
/// path, query) is kept.
pub fn via_proxy(url: &str, proxy: SocketAddr) -> Result<String, ProxyError> {
    let (mut parsed, _) = endpoint(url)?;
    parsed
        .set_ip_host(proxy.ip())
        .map_err(|()| bad(url, "its host cannot be replaced"))?;
    parsed
        .set_port(Some(proxy.port()))
        .map_err(|()| bad(url, "its port cannot be replaced"))?;
    Ok(parsed.into())
}

/// Parses `url` and insists on a host and an explicit port.
fn endpoint(url: &str) -> Result<(Url, u16), ProxyError> {
    let parsed = Url::parse(url).map_err(|e| bad(url, &format!("malformed URL ({e})")))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad(url, "it names no host"));
    }
    let port = parsed
        .port()
        .ok_or_else(|| bad(url, "it names no port (write it out, e.g. 127.0.0.1:6379)"))?;
    Ok((parsed, port))
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, ProxyError> {
    let failed = |reason: String| ProxyError::Resolve {
        host: host.to_owned(),
        reason,
    };
    let found: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| failed(e.to_string()))?
        .collect();
    found
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| found.first())
        .copied()
        .ok_or_else(|| failed("no address".to_owned()))
}

fn bad(url: &str, reason: &str) -> ProxyError {
    ProxyError::BadUrl {
        url: redact(url),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy() -> SocketAddr {
        "127.0.0.1:40001".parse().unwrap()
    }

    #[test]
    fn every_backend_form_is_pointed_at_the_proxy_and_keeps_the_rest() {
        let cases = [
            (
                "postgres://user:pw@127.0.0.1:5432/db?sslmode=disable",
                "postgres://user:pw@127.0.0.1:40001/db?sslmode=disable",
            ),
            ("redis://127.0.0.1:6379", "redis://127.0.0.1:40001"),
            (
                "redis://:secret@db.internal:6380/2",
                "redis://:secret@127.0.0.1:40001/2",
            ),
            ("nats://127.0.0.1:4222", "nats://127.0.0.1:40001"),
        ];
        for (url, expected) in cases {
            assert_eq!(via_proxy(url, proxy()).unwrap(), expected, "{url}");
        }
    }

    #[test]
    fn upstreams_are_read_from_urls_and_localhost_resolves() {
        let at = |url| upstream_of(url).unwrap();
        assert_eq!(
            at("postgres://u:p@127.0.0.1:5432/db"),
            "127.0.0.1:5432".parse().unwrap()
        );
        assert_eq!(at("redis://[::1]:6379"), "[::1]:6379".parse().unwrap());
        assert_eq!(
            at("nats://localhost:4222"),
            "127.0.0.1:4222".parse().unwrap()
        );
    }

    #[test]
    fn a_url_without_a_port_or_host_or_shape_is_a_clear_error() {
        let reason = |url| match upstream_of(url).unwrap_err() {
            ProxyError::BadUrl { reason, .. } => reason,
            other => panic!("{url}: {other}"),
        };
        assert!(reason("redis://127.0.0.1").contains("no port"));
        assert!(reason("not a url").contains("malformed URL"));
        assert!(reason("redis+unix:///tmp/redis.sock").contains("no host"));
        assert!(reason("postgres://u:p@[::1/db").contains("malformed URL"));
        let hidden = via_proxy("postgres://u:secret@h/db", proxy()).unwrap_err();
        assert!(!hidden.to_string().contains("secret"), "{hidden}");
        assert!(hidden.to_string().contains("no port"), "{hidden}");
    }

    #[test]
    fn an_unknown_host_name_is_an_error_not_a_panic() {
        let error = upstream_of("redis://no-such-host.invalid:6379").unwrap_err();
        assert!(matches!(error, ProxyError::Resolve { .. }), "{error}");
    }
}
