//! Where webhooks may point. A target that resolves to loopback, private, link-local,
//! shared or metadata addresses is refused when the webhook is saved and again at every
//! connection (DNS answers change), unless the server allows private targets.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why a webhook URL is refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TargetError {
    /// Not an absolute http(s) URL with a host.
    #[error("`url` must be an absolute http:// or https:// URL with a host")]
    Malformed,
    /// The host has no address.
    #[error("the host `{0}` does not resolve")]
    Unresolvable(String),
    /// The host is, or resolves to, an address webhooks may not reach.
    #[error(
        "the host `{host}` resolves to {address}, a loopback, private, link-local or metadata address; \
         set TITAN_WEBHOOK_ALLOW_PRIVATE=true to allow such targets"
    )]
    Private {
        /// The host of the URL.
        host: String,
        /// The refused address.
        address: IpAddr,
    },
}

/// Whether webhooks must not reach `ip`: anything not on the public internet.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => forbidden_v4(v4),
            None => forbidden_v6(v6),
        },
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254.0.0/16, cloud metadata included
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier-grade NAT)
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local (fd00:ec2::254 metadata included)
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || ip.to_ipv4().is_some_and(forbidden_v4) // IPv4-compatible (::a.b.c.d)
}

/// Parses a webhook URL and checks its scheme and host (not its addresses).
pub fn parse(url: &str) -> Result<Url, TargetError> {
    let parsed = Url::parse(url.trim()).map_err(|_| TargetError::Malformed)?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(TargetError::Malformed);
    }
    Ok(parsed)
}

/// Resolves `url`'s host and refuses it when any address is forbidden (unless `allow_private`).
pub async fn check(url: &Url, allow_private: bool) -> Result<(), TargetError> {
    let host = url.host_str().ok_or(TargetError::Malformed)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| TargetError::Unresolvable(host.to_owned()))?
        .collect();
    if addresses.is_empty() {
        return Err(TargetError::Unresolvable(host.to_owned()));
    }
    if !allow_private && let Some(bad) = addresses.iter().find(|a| is_forbidden(a.ip())) {
        return Err(TargetError::Private {
            host: host.to_owned(),
            address: bad.ip(),
        });
    }
    Ok(())
}

/// The delivery client's resolver: it drops forbidden addresses, so a name that starts
/// resolving to a private address after the webhook was saved is still refused.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    /// Allow private targets (tests, the sandbox, trusted networks).
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = resolved.filter(|a| allow_private || !is_forbidden(a.ip())).collect();
            if allowed.is_empty() {
                return Err(format!("`{host}` resolves to no public address").into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forbidden(ip: &str) -> bool {
        is_forbidden(ip.parse().expect("an IP address"))
    }

    #[test]
    fn private_and_special_addresses_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "224.0.0.1",
        ] {
            assert!(forbidden(ip), "{ip} must be refused");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700:4700::1111",
            "172.32.0.1",
            "100.128.0.1",
        ] {
            assert!(!forbidden(ip), "{ip} is public");
        }
    }

    #[tokio::test]
    async fn literal_and_resolved_private_hosts_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:9/hook",
            "http://localhost/hook",
            "http://[::1]/x",
            "http://169.254.169.254/",
        ] {
            let parsed = parse(url).expect("a valid URL");
            assert!(
                matches!(check(&parsed, false).await, Err(TargetError::Private { .. })),
                "{url}"
            );
            assert!(check(&parsed, true).await.is_ok(), "{url} with private targets allowed");
        }
        assert!(matches!(parse("ftp://example.com/"), Err(TargetError::Malformed)));
        assert!(matches!(parse("/relative"), Err(TargetError::Malformed)));
    }
}
