//! Where a file to send comes from: base64 in the request (plain, URL-safe, padded or not, or a
//! `data:` URL), or a URL the server fetches through the outbound guard ([`crate::outbound`]),
//! re-checked at each connection and each redirect, with a size cap enforced while the body
//! streams in and connect and total timeouts.

use std::time::Duration;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use reqwest::Url;
use reqwest::redirect::{Attempt, Policy};

use crate::outbound::{self, GuardedResolver};

/// Largest file fetched from a `url`.
pub const MAX_URL_BYTES: u64 = 50 * 1000 * 1000;
/// Most redirects followed for one file.
const MAX_REDIRECTS: usize = 3;
/// Longest wait for a connection to a file's host.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a file's whole download may take.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(60);

/// Base64 with either padding convention.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Why a file's bytes could not be had.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    /// `base64` does not decode.
    #[error("`base64` is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The URL is not one the server fetches from.
    #[error("`url` must be an absolute https:// URL{0}")]
    Scheme(&'static str),
    /// The URL (or a redirect) names an address the server does not reach.
    #[error(
        "`url` leads to {address}, a loopback, private or link-local address the server does not fetch from \
         (TITAN_MEDIA_ALLOW_PRIVATE=true allows loopback and private networks, never link-local)"
    )]
    Private {
        /// The refused address.
        address: std::net::IpAddr,
    },
    /// More redirects than [`MAX_REDIRECTS`].
    #[error("`url` redirected more than {MAX_REDIRECTS} times")]
    Redirects,
    /// The host answered with an error status.
    #[error("`url` answered HTTP {0}")]
    Status(u16),
    /// The file is larger than the cap (bytes).
    #[error("the file at `url` is larger than {} MB", .0 / 1_000_000)]
    TooLarge(u64),
    /// The host did not answer within the time given (seconds).
    #[error("`url` did not answer within {0} s")]
    Timeout(u64),
    /// The host could not be reached.
    #[error("could not fetch `url`: {0}")]
    Unreachable(String),
}

/// What a URL answered.
#[derive(Debug)]
pub struct Fetched {
    /// Where the answer came from, after redirects (relative links resolve against it).
    pub url: Url,
    /// Its `Content-Type`, if it gave one.
    pub content_type: Option<String>,
    /// Its body.
    pub bytes: Vec<u8>,
}

/// What to do with a body longer than its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Past {
    /// Refuse it ([`SourceError::TooLarge`]).
    Refuse,
    /// Keep what came before the cap and stop reading.
    Stop,
}

/// Fetches the files to send that are given by URL.
#[derive(Debug, Clone)]
pub struct Fetcher {
    http: reqwest::Client,
    allow_private: bool,
}

impl Fetcher {
    /// A fetcher that reaches only public `https://` URLs, or also loopback, private networks
    /// and `http://` when `allow_private` (never link-local).
    pub fn new(allow_private: bool) -> anyhow::Result<Self> {
        let redirect = Policy::custom(move |attempt: Attempt<'_>| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(SourceError::Redirects);
            }
            match allowed(attempt.url(), allow_private) {
                Ok(()) => attempt.follow(),
                Err(refused) => attempt.error(refused),
            }
        });
        let http = reqwest::Client::builder()
            .dns_resolver(GuardedResolver { allow_private })
            .redirect(redirect)
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .user_agent(concat!("Titan-Media/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http, allow_private })
    }

    /// The file at `url`, refused past [`MAX_URL_BYTES`] as soon as the body passes it.
    pub async fn fetch(&self, url: &str) -> Result<Vec<u8>, SourceError> {
        let url = Url::parse(url.trim()).map_err(|_| SourceError::Scheme(""))?;
        Ok(self.fetch_within(url, MAX_URL_BYTES, TOTAL_TIMEOUT).await?.bytes)
    }

    /// What `url` answers, through the same guard, refused past `max_bytes` as soon as the body
    /// passes it and past `timeout` (a link preview's picture takes small caps).
    pub async fn fetch_within(&self, url: Url, max_bytes: u64, timeout: Duration) -> Result<Fetched, SourceError> {
        self.get(url, max_bytes, timeout, Past::Refuse).await
    }

    /// The first `max_bytes` of what `url` answers (the rest is not read), through the same
    /// guard, within `timeout`: a web page's head, for its link preview.
    pub async fn fetch_head(&self, url: Url, max_bytes: u64, timeout: Duration) -> Result<Fetched, SourceError> {
        self.get(url, max_bytes, timeout, Past::Stop).await
    }

    async fn get(&self, url: Url, max_bytes: u64, timeout: Duration, past: Past) -> Result<Fetched, SourceError> {
        allowed(&url, self.allow_private)?;
        let seconds = timeout.as_secs();
        let sent = self.http.get(url).timeout(timeout).send().await;
        let mut response = sent.map_err(|e| failure(e, seconds))?;
        if !response.status().is_success() {
            return Err(SourceError::Status(response.status().as_u16()));
        }
        if past == Past::Refuse && response.content_length().is_some_and(|n| n > max_bytes) {
            return Err(SourceError::TooLarge(max_bytes));
        }
        let url = response.url().clone();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| failure(e, seconds))? {
            if (bytes.len() + chunk.len()) as u64 > max_bytes {
                if past == Past::Refuse {
                    return Err(SourceError::TooLarge(max_bytes));
                }
                let room = usize::try_from(max_bytes)
                    .unwrap_or(usize::MAX)
                    .saturating_sub(bytes.len());
                bytes.extend_from_slice(&chunk[..room.min(chunk.len())]);
                break;
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            url,
            content_type,
            bytes,
        })
    }
}

/// Refuses a URL the fetcher does not reach: another scheme, or a literal refused address.
fn allowed(url: &Url, allow_private: bool) -> Result<(), SourceError> {
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ if allow_private => return Err(SourceError::Scheme(" (or http://)")),
        _ => return Err(SourceError::Scheme("")),
    }
    match outbound::literal_address(url) {
        Some(address) if outbound::refused(address, allow_private) => Err(SourceError::Private { address }),
        _ => Ok(()),
    }
}

/// What a failed request means for the caller: the guard's own refusal when a redirect was
/// refused, a timeout (after `seconds`), or the connection's failure with its causes.
fn failure(error: reqwest::Error, seconds: u64) -> SourceError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    let mut causes = Vec::new();
    while let Some(current) = cause {
        if let Some(refused) = current.downcast_ref::<SourceError>() {
            return refused.clone();
        }
        causes.push(current.to_string());
        cause = current.source();
    }
    if error.is_timeout() {
        return SourceError::Timeout(seconds);
    }
    SourceError::Unreachable(causes.join(": "))
}

/// The bytes `text` encodes: standard or URL-safe base64, with or without padding, optionally as
/// a `data:…;base64,` URL.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, SourceError> {
    let text = text.trim();
    let text = match text.strip_prefix("data:").and_then(|rest| rest.split_once(";base64,")) {
        Some((_, encoded)) => encoded,
        None => text,
    };
    let engine = if text.contains(['-', '_']) {
        &URL_SAFE
    } else {
        &STANDARD
    };
    Ok(engine.decode(text)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn every_usual_base64_form_decodes() {
        for text in [
            "aGk/Pz4+",
            "aGk_Pz4-",
            "aGk/Pz4+\n",
            "data:image/png;base64,aGk/Pz4+",
            "aGk",
            "aGk=",
        ] {
            assert!(decode_base64(text).unwrap().starts_with(b"hi"), "{text}");
        }
        let error = decode_base64("not base64!").unwrap_err();
        assert!(
            error.to_string().starts_with("`base64` is not valid base64: "),
            "{error}"
        );
    }
}
