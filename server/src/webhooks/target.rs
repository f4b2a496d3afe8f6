//! Where webhooks may point. A target that is, or resolves to, a loopback, private,
//! link-local, shared or metadata address is refused unless the server allows private targets:
//! a literal address (and `localhost`) when the webhook is saved, and every name at each
//! connection. Names are not resolved when saving: DNS is a delivery-time fact (records change,
//! internal names resolve only where the receiver runs).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Host;

/// Why a webhook URL is refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TargetError {
    /// Not an absolute http(s) URL with a host.
    #[error("`url` must be an absolute http:// or https:// URL with a host")]
    Malformed,
    /// The host is an address webhooks may not reach.
    #[error(
        "the host `{host}` is {address}, a loopback, private, link-local or metadata address; \
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

/// Refuses `url` when its host is a forbidden address or `localhost` (unless `allow_private`);
/// other names are checked when they are resolved, at each connection.
pub fn check(url: &Url, allow_private: bool) -> Result<(), TargetError> {
    let host = url.host().ok_or(TargetError::Malformed)?;
    let address = match host {
        Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            (name == "localhost" || name.ends_with(".localhost")).then_some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        }
    };
    match address {
        Some(address) if !allow_private && is_forbidden(address) => Err(TargetError::Private {
            host: url.host_str().unwrap_or_default().to_owned(),
            address,
        }),
        _ => Ok(()),
    }
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

    #[test]
    fn literal_private_hosts_are_refused_unless_allowed_and_names_wait_for_delivery() {
        for url in [
            "http://127.0.0.1:9/hook",
            "http://localhost/hook",
            "http://[::1]/x",
            "http://169.254.169.254/",
        ] {
            let parsed = parse(url).expect("a valid URL");
            assert!(
                matches!(check(&parsed, false), Err(TargetError::Private { .. })),
                "{url}"
            );
            assert!(check(&parsed, true).is_ok(), "{url} with private targets allowed");
        }
        for url in [
            "https://does-not-resolve.invalid/hook",
            "http://receiver.internal:8080/",
        ] {
            let parsed = parse(url).expect("a valid URL");
            assert!(
                check(&parsed, false).is_ok(),
                "{url}: resolved at delivery, not when saved"
            );
        }
        assert!(matches!(parse("ftp://example.com/"), Err(TargetError::Malformed)));
        assert!(matches!(parse("/relative"), Err(TargetError::Malformed)));
    }
}
