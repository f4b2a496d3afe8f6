//! Pictures to set, a profile's or a group's: one request shape (`url` or `base64`) and one way
//! to turn it into the JPEG WhatsApp takes.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::media::prepare;
use crate::media::source::{self, Fetcher, SourceError};
use crate::messages::content::{Base64File, FileUrl};

/// A new picture: a JPEG, PNG or WebP, by `url` or as `base64`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"url": "https://example.com/team-avatar.jpg"}))]
pub struct SetPicture {
    /// Where the server fetches the picture from (public `https://` only unless the deployment
    /// allows private addresses; up to 50 MB); or give `base64`.
    #[serde(default)]
    #[schema(inline)]
    pub url: Option<FileUrl>,
    /// The picture as base64 (standard or URL-safe, or a `data:` URL), within the request size
    /// limit (`TITAN_MAX_BODY_BYTES`, 1 MiB by default).
    #[serde(default)]
    #[schema(inline)]
    pub base64: Option<Base64File>,
}

impl SetPicture {
    /// The picture, fetched through the media guard or decoded, made a JPEG of at most 640 px a
    /// side (off the async workers); a 400 says what was wrong with it.
    pub async fn jpeg(self, fetcher: &Fetcher) -> Result<Vec<u8>, ApiError> {
        let spool = match (self.url, self.base64) {
            (Some(url), None) => fetcher.fetch(url.as_str()).await?,
            (None, Some(encoded)) => source::decode_base64(encoded.as_str())?,
            _ => {
                return Err(ApiError::BadRequest(
                    "give the picture as `url` or as `base64` (one of them)".to_owned(),
                ));
            }
        };
        tokio::task::spawn_blocking(move || {
            let bytes = spool.contents().map_err(SourceError::from)?;
            prepare::profile_jpeg(&bytes)
                .map_err(|e| ApiError::BadRequest(format!("the picture must be a JPEG, PNG or WebP image: {e}")))
        })
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("reading a picture failed: {e}")))?
    }
}
