//! Where webhooks may point. A target that is, or resolves to, a loopback, private, shared or
//! link-local address is refused unless the server allows private targets (link-local, where
//! cloud metadata answers, always; see [`crate::outbound`]): a literal address (and
//! `localhost`) when the webhook is saved, and every name at each connection. Names are not
//! resolved when saving: DNS is a delivery-time fact (records change, internal names resolve
//! only where the receiver runs).

use std::net::IpAddr;

use reqwest::Url;

use crate::outbound;

/// Why a webhook URL is refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TargetError {
    /// Not an absolute http(s) URL with a host.
    #[error("`url` must be an absolute http:// or https:// URL with a host")]
    Malformed,
    /// The host is an address webhooks may not reach.
    #[error(
        "the host `{host}` is {address}, a loopback, private, link-local or metadata address; \
         TITAN_WEBHOOK_ALLOW_PRIVATE=true allows loopback and private networks, never link-local"
    )]
    Private {
        /// The host of the URL.
        host: String,
        /// The refused address.
        address: IpAddr,
    },
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
    match outbound::literal_address(url) {
        Some(address) if outbound::refused(address, allow_private) => Err(TargetError::Private {
            host: url.host_str().unwrap_or_default().to_owned(),
            address,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_private_hosts_are_refused_unless_allowed_and_names_wait_for_delivery() {
        for url in ["http://127.0.0.1:9/hook", "http://localhost/hook", "http://[::1]/x"] {
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
        let metadata = parse("http://169.254.169.254/latest/meta-data/").expect("a valid URL");
        assert!(
            check(&metadata, true).is_err(),
            "metadata is refused even with private targets allowed"
        );
        assert!(matches!(parse("ftp://example.com/"), Err(TargetError::Malformed)));
        assert!(matches!(parse("/relative"), Err(TargetError::Malformed)));
    }
}
