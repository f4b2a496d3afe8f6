//! Where a file to send comes from: base64 in the request (plain, URL-safe, padded or not, or a
//! `data:` URL), or a URL the server fetches through the outbound guard ([`crate::outbound`]),
//! re-checked at each connection and each redirect, with a size cap enforced while the body
//! streams in and connect and total timeouts. Either way the bytes go into a [`Spool`] as they
//! come, so a large file is on disk, not in memory.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use reqwest::Url;
use reqwest::redirect::{Attempt, Policy};

use crate::error::ApiError;
use crate::outbound::{self, GuardedResolver};
use crate::whatsapp::spool::{Spool, SpoolWriter};

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
    /// The server could not keep the bytes (its temporary directory failed): not the caller's
    /// fault.
    #[error("the server could not buffer the file: {0}")]
    Buffer(Arc<std::io::Error>),
}

impl From<std::io::Error> for SourceError {
    fn from(error: std::io::Error) -> Self {
        Self::Buffer(Arc::new(error))
    }
}

impl From<SourceError> for ApiError {
    /// A 400 saying what was wrong with the file, or a 500 when the server could not keep it.
    fn from(error: SourceError) -> Self {
        match error {
            SourceError::Buffer(io) => Self::Internal(anyhow::anyhow!("buffering a file to send failed: {io}")),
            other => Self::BadRequest(other.to_string()),
        }
    }
}

/// What a URL answered.
#[derive(Debug)]
pub struct Fetched {
    /// Where the answer came from, after redirects (relative links resolve against it).
    pub url: Url,
    /// Its `Content-Type`, if it gave one.
    pub content_type: Option<String>,
    /// Its body.
    pub body: Spool,
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
    pub async fn fetch(&self, url: &str) -> Result<Spool, SourceError> {
        let url = Url::parse(url.trim()).map_err(|_| SourceError::Scheme(""))?;
        Ok(self.fetch_within(url, MAX_URL_BYTES, TOTAL_TIMEOUT).await?.body)
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
        // Chunks go to the spool as they arrive; past its memory limit that is a write to the
        // page cache, brief enough for an async worker.
        let mut body = SpoolWriter::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| failure(e, seconds))? {
            if body.len() + chunk.len() as u64 > max_bytes {
                if past == Past::Refuse {
                    return Err(SourceError::TooLarge(max_bytes));
                }
                let room = usize::try_from(max_bytes.saturating_sub(body.len())).unwrap_or(usize::MAX);
                body.write_all(&chunk[..room.min(chunk.len())])?;
                break;
            }
            body.write_all(&chunk)?;
        }
        Ok(Fetched {
            url,
            content_type,
            body: body.finish(),
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

/// Base64 characters decoded at a time (a multiple of 4, so each piece decodes on its own).
const BASE64_PIECE: usize = 64 * 1024;

/// The bytes `text` encodes: standard or URL-safe base64, with or without padding, optionally as
/// a `data:…;base64,` URL. It is decoded piece by piece into a spool, so a large file is never
/// held twice in memory.
pub fn decode_base64(text: &str) -> Result<Spool, SourceError> {
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
    let mut decoded = SpoolWriter::new();
    let mut piece = vec![0u8; BASE64_PIECE / 4 * 3];
    for (index, encoded) in text.as_bytes().chunks(BASE64_PIECE).enumerate() {
        let n = engine
            .decode_slice(encoded, &mut piece)
            .map_err(|error| at_offset(error, index * BASE64_PIECE, text.len()))?;
        decoded.write_all(&piece[..n])?;
    }
    Ok(decoded.finish())
}

/// A piece's decoding error as the whole text's: offsets moved by `start`, lengths the whole's.
fn at_offset(error: base64::DecodeSliceError, start: usize, whole: usize) -> SourceError {
    use base64::DecodeError as E;
    let error = match error {
        base64::DecodeSliceError::DecodeError(E::InvalidByte(at, byte)) => E::InvalidByte(start + at, byte),
        base64::DecodeSliceError::DecodeError(E::InvalidLastSymbol(at, byte)) => E::InvalidLastSymbol(start + at, byte),
        base64::DecodeSliceError::DecodeError(E::InvalidLength(_)) => E::InvalidLength(whole),
        base64::DecodeSliceError::DecodeError(other) => other,
        // Each piece of 4k characters decodes to at most 3k bytes: the buffer always fits.
        base64::DecodeSliceError::OutputSliceTooSmall => E::InvalidLength(whole),
    };
    SourceError::Base64(error)
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
            assert!(
                decode_base64(text).unwrap().contents().unwrap().starts_with(b"hi"),
                "{text}"
            );
        }
        let error = decode_base64("not base64!").unwrap_err();
        assert!(
            error.to_string().starts_with("`base64` is not valid base64: "),
            "{error}"
        );
    }

    #[test]
    fn large_base64_decodes_piece_by_piece_to_the_same_bytes_and_errors_name_the_whole_offset() {
        use base64::engine::general_purpose::{STANDARD as PADDED, URL_SAFE_NO_PAD};
        let bytes: Vec<u8> = (0..2 * crate::whatsapp::spool::MEMORY_LIMIT + 5)
            .map(|i| (i * 13 % 256) as u8)
            .collect();
        for encoded in [PADDED.encode(&bytes), URL_SAFE_NO_PAD.encode(&bytes)] {
            let spool = decode_base64(&encoded).unwrap();
            assert!(spool.on_disk());
            assert_eq!(spool.contents().unwrap().as_ref(), bytes.as_slice());
        }
        let mut broken = PADDED.encode(&bytes);
        broken.replace_range(BASE64_PIECE + 10..BASE64_PIECE + 11, "!");
        let error = decode_base64(&broken).unwrap_err();
        assert!(
            error.to_string().contains(&format!("offset {}", BASE64_PIECE + 10)),
            "{error}"
        );
    }
}
