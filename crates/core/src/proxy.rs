//! Trusted proxies (`TRUSTED_PROXIES`, an eve-rs setting, docs/oplog.md):
//! which peers may name the client in `X-Forwarded-For`. The client IP a
//! request is recorded with (the oplog's `ip`) is the connection's peer,
//! unless that peer is a trusted proxy: then the rightmost address of
//! `X-Forwarded-For` that is not itself a trusted proxy. The scheme and
//! host of absolute URLs (`Location`) follow `X-Forwarded-Proto` and
//! `X-Forwarded-Host` under the same condition ([`origin`]).

use std::net::IpAddr;
use std::str::FromStr;

/// An address block, `10.0.0.0/8` or a single address (`127.0.0.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;

    /// Parses `addr/prefix` or a bare address (all its bits).
    fn from_str(s: &str) -> Result<Cidr, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("'{s}' is not an IP address or CIDR block"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.trim().parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(format!("'{s}': the prefix length must be 0 to {max}")),
            },
        };
        Ok(Cidr { addr, prefix })
    }
}

impl Cidr {
    /// Whether `ip` is inside the block (IPv4-mapped IPv6 addresses count
    /// as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (ip, self.addr) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(a) & mask == u32::from(b) & mask
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(a) & mask == u128::from(b) & mask
            }
            _ => false,
        }
    }
}

/// The client of a request: `peer` (the connection's address) unless it is
/// in `trusted`, in which case the rightmost `X-Forwarded-For` address that
/// is not trusted (or the leftmost one when all are). `None` when the peer
/// is unknown.
pub fn client_ip(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[Cidr],
) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let Some(header) = forwarded_for else {
        return Some(peer);
    };
    let hops: Vec<IpAddr> = header
        .split(',')
        .map_while(|h| h.trim().parse::<IpAddr>().ok())
        .collect();
    if hops.is_empty() {
        return Some(peer);
    }
    Some(
        hops.iter()
            .rev()
            .copied()
            .find(|ip| !is_trusted(*ip))
            .unwrap_or(hops[0]),
    )
}

/// Whether `peer` is one of the `trusted` proxies.
pub fn is_trusted(peer: Option<IpAddr>, trusted: &[Cidr]) -> bool {
    peer.is_some_and(|ip| trusted.iter().any(|c| c.contains(ip)))
}

/// `scheme://host` for the absolute URLs of an answer: `http://` and the
/// `Host` header, unless the peer is a trusted proxy: then the scheme of
/// `X-Forwarded-Proto` (`http` or `https`) and the host of
/// `X-Forwarded-Host`, each when present and well formed. Of a
/// comma-separated list, the last value counts: the one the proxy next to
/// eve-rs wrote (a client can put anything before it).
pub fn origin(
    peer: Option<IpAddr>,
    host: Option<&str>,
    forwarded_proto: Option<&str>,
    forwarded_host: Option<&str>,
    trusted: &[Cidr],
) -> String {
    let host = host.filter(|h| valid_host(h)).unwrap_or("localhost");
    if !is_trusted(peer, trusted) {
        return format!("http://{host}");
    }
    let scheme = match last(forwarded_proto)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("https") => "https",
        _ => "http",
    };
    let host = last(forwarded_host)
        .filter(|h| valid_host(h))
        .unwrap_or(host);
    format!("{scheme}://{host}")
}

/// The last value of a comma-separated header.
fn last(v: Option<&str>) -> Option<&str> {
    v.and_then(|v| v.rsplit(',').next()).map(str::trim)
}

/// A host name or address with an optional port: letters, digits, `.`,
/// `-`, `_`, `:` and the brackets of an IPv6 literal; at most 255 bytes.
fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:[]".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn blocks() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains(ip("10.1.2.3")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(c.contains(ip("::ffff:10.0.0.1")));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("8.8.8.8")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nope".parse::<Cidr>().is_err());
    }

    #[test]
    fn forwarded_only_from_trusted_peers() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        let xff = Some("1.2.3.4, 10.0.0.5");
        assert_eq!(
            client_ip(Some(ip("5.6.7.8")), xff, &trusted),
            Some(ip("5.6.7.8"))
        );
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), xff, &trusted),
            Some(ip("1.2.3.4"))
        );
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), None, &trusted),
            Some(ip("10.0.0.1"))
        );
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), Some("junk"), &trusted),
            Some(ip("10.0.0.1"))
        );
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), xff, &[]),
            Some(ip("10.0.0.1"))
        );
        assert_eq!(client_ip(None, xff, &trusted), None);
    }

    #[test]
    fn forwarded_scheme_and_host_only_from_trusted_peers() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        let proxy = Some(ip("10.0.0.1"));
        let stranger = Some(ip("5.6.7.8"));
        let host = Some("api.local:5000");
        let origin_of = |peer, proto, fwd_host| origin(peer, host, proto, fwd_host, &trusted);
        assert_eq!(
            origin_of(stranger, Some("https"), Some("evil.example")),
            "http://api.local:5000"
        );
        assert_eq!(
            origin_of(proxy, Some("https"), Some("api.example.org")),
            "https://api.example.org"
        );
        assert_eq!(
            origin_of(proxy, Some("HTTPS"), None),
            "https://api.local:5000"
        );
        // the last value is the one the trusted proxy wrote
        assert_eq!(
            origin_of(proxy, Some("https, http"), Some("a.example, b.example")),
            "http://b.example"
        );
        // junk is ignored
        assert_eq!(
            origin_of(proxy, Some("javascript"), Some("x/y@z")),
            "http://api.local:5000"
        );
        assert_eq!(
            origin(None, Some("bad host/"), None, None, &trusted),
            "http://localhost"
        );
        assert!(is_trusted(proxy, &trusted) && !is_trusted(stranger, &trusted));
        assert!(!is_trusted(None, &trusted));
    }
}
