//! Which pages may open the desktop websocket. Browsers attach cookies to a
//! websocket handshake whatever page starts it, and a websocket is not
//! bound by CORS, so without this check any site a logged-in person visits
//! could open their desktop (cross-site websocket hijacking). Browsers
//! always send `Origin` on a websocket handshake and scripts cannot change
//! it, so the proxy accepts only its own origin.
//!
//! The proxy's own origin is `https://` and the address the browser used
//! to reach it, which the browser also sends as `Host`; or, behind a load
//! balancer that rewrites `Host`, the configured public address. A request
//! without `Origin` is refused: it does not come from the web client.

use axum::http::uri::Authority;
use axum::http::{HeaderMap, header};

/// Why a websocket handshake's origin was refused. `Display` is what the
/// client sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginRefused {
    /// No `Origin` header.
    #[error("the desktop websocket is only for the Oriel web client: the request has no Origin header")]
    Missing,
    /// Another site's page.
    #[error("the desktop websocket is only for the Oriel web client: origin {origin:?} is not this proxy's ({expected})")]
    Foreign {
        /// What the request said.
        origin: String,
        /// The origin(s) accepted.
        expected: String,
    },
}

/// The origins of this proxy: the request's own host, and its public addresses.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    public: Vec<HostPort>,
}

impl OriginPolicy {
    /// Accepts the request's own `Host`, and each of `public_addrs`
    /// (`host:port` or `host`, as `proxy_service.public_addr` holds them).
    /// An address that does not parse is left out, and said so.
    pub fn new(public_addrs: &[String]) -> Self {
        let public = public_addrs
            .iter()
            .filter_map(|addr| {
                let parsed = HostPort::parse(addr);
                if parsed.is_none() {
                    tracing::warn!(%addr, "the public address is not host:port; websocket origins are checked against Host only");
                }
                parsed
            })
            .collect();
        Self { public }
    }

    /// Whether the handshake in `headers` comes from a page of this proxy.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), OriginRefused> {
        let origin = headers.get(header::ORIGIN).ok_or(OriginRefused::Missing)?;
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).and_then(HostPort::parse);
        let origin_text = String::from_utf8_lossy(origin.as_bytes()).into_owned();
        let from = origin.to_str().ok().and_then(|o| o.strip_prefix("https://")).and_then(HostPort::parse);
        if let Some(from) = from
            && (host.as_ref() == Some(&from) || self.public.contains(&from))
        {
            return Ok(());
        }
        let expected = host.iter().chain(&self.public).map(|h| format!("https://{h}")).collect::<Vec<_>>().join(" or ");
        Err(OriginRefused::Foreign { origin: origin_text, expected })
    }
}

/// A host (lowercase) and port (443 when absent), as origins compare them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostPort {
    host: String,
    port: u16,
}

impl HostPort {
    /// `host[:port]`, nothing before or after it (no path, no user info).
    fn parse(text: &str) -> Option<Self> {
        let authority: Authority = text.parse().ok()?;
        if authority.as_str().contains('@') || authority.host().is_empty() {
            return None;
        }
        Some(Self { host: authority.host().to_ascii_lowercase(), port: authority.port_u16().unwrap_or(443) })
    }
}

impl std::fmt::Display for HostPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            443 => f.write_str(&self.host),
            port => write!(f, "{}:{port}", self.host),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        headers
    }

    #[test]
    fn the_proxys_own_origin_is_accepted() {
        let policy = OriginPolicy::default();
        for (origin, host) in [
            ("https://127.0.0.1:3080", "127.0.0.1:3080"),
            ("https://Oriel.Example.com", "oriel.example.com:443"),
            ("https://oriel.example.com:443", "oriel.example.com"),
            ("https://[::1]:3080", "[::1]:3080"),
        ] {
            assert_eq!(policy.check(&headers(Some(origin), host)), Ok(()), "{origin} on {host}");
        }
    }

    #[test]
    fn other_origins_and_none_are_refused() {
        let policy = OriginPolicy::default();
        for origin in [
            "https://evil.example",
            "http://127.0.0.1:3080",
            "https://127.0.0.1:3081",
            "https://127.0.0.1:3080/path",
            "https://user@127.0.0.1:3080",
            "null",
            "",
        ] {
            assert!(matches!(policy.check(&headers(Some(origin), "127.0.0.1:3080")), Err(OriginRefused::Foreign { .. })), "{origin}");
        }
        assert_eq!(policy.check(&headers(None, "127.0.0.1:3080")), Err(OriginRefused::Missing));
        let refused = policy.check(&headers(Some("https://evil.example"), "127.0.0.1:3080")).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "the desktop websocket is only for the Oriel web client: origin \"https://evil.example\" is not this proxy's (https://127.0.0.1:3080)"
        );
    }

    #[test]
    fn a_public_address_is_accepted_when_the_host_header_differs() {
        let policy = OriginPolicy::new(&["oriel.example.com:443".into(), "not an address".into()]);
        assert_eq!(policy.check(&headers(Some("https://oriel.example.com"), "10.0.0.5:3080")), Ok(()));
        let refused = policy.check(&headers(Some("https://other.example.com"), "10.0.0.5:3080")).unwrap_err();
        assert!(refused.to_string().ends_with("(https://10.0.0.5:3080 or https://oriel.example.com)"), "{refused}");
    }
}
