//! The object store media files are persisted to: a local directory by default, or any
//! S3-compatible store (`s3://bucket/prefix`, configured by the usual `AWS_*` variables), through
//! the `object_store` crate. An object is named by its URL (`file:///…` or `s3://bucket/…`),
//! which is what the database keeps and the media API shows.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// Where persisted media goes, and the URL prefix of what it holds.
#[derive(Clone)]
pub struct MediaObjects {
    store: Arc<dyn ObjectStore>,
    /// The URL of the store's root, ending in `/`; an object's URL is this plus its key.
    base: String,
}

impl std::fmt::Debug for MediaObjects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaObjects")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Why a configured store cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreSpecError {
    /// The text is neither a directory nor a supported URL.
    #[error("TITAN_MEDIA_STORE must be a directory, file:///DIR or s3://BUCKET[/PREFIX] (got `{0}`)")]
    Unsupported(String),
    /// The S3 configuration was refused by the client.
    #[error("cannot use the S3 store `{spec}`: {reason}")]
    S3 {
        /// The configured URL.
        spec: String,
        /// What the S3 client said.
        reason: String,
    },
}

impl MediaObjects {
    /// Opens the store `spec` names: a directory path (created on the first write), a
    /// `file:///DIR` URL, or `s3://BUCKET[/PREFIX]`, whose endpoint, region and credentials
    /// come from the `AWS_*` environment variables (`AWS_ENDPOINT_URL`, `AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`, ...).
    pub fn open(spec: &str) -> Result<Self, StoreSpecError> {
        if let Some(rest) = spec.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(StoreSpecError::Unsupported(spec.to_owned()));
            }
            let s3 = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_virtual_hosted_style_request(false)
                .build()
                .map_err(|e| StoreSpecError::S3 {
                    spec: spec.to_owned(),
                    reason: e.to_string(),
                })?;
            return Ok(Self::rooted(Arc::new(s3), format!("s3://{bucket}/"), prefix));
        }
        let directory = match spec.strip_prefix("file://") {
            Some(path) if path.starts_with('/') => PathBuf::from(path),
            Some(_) => return Err(StoreSpecError::Unsupported(spec.to_owned())),
            None if spec.contains("://") || spec.is_empty() => {
                return Err(StoreSpecError::Unsupported(spec.to_owned()));
            }
            None => PathBuf::from(spec),
        };
        Ok(Self::directory(&directory))
    }

    /// A store in `directory` (made absolute, created on the first write).
    fn directory(directory: &FsPath) -> Self {
        let absolute = std::path::absolute(directory).unwrap_or_else(|_| directory.to_path_buf());
        let root = absolute.to_string_lossy().trim_matches('/').to_owned();
        Self::rooted(Arc::new(LocalFileSystem::new()), "file:///".to_owned(), &root)
    }

    /// `store` below `prefix`, whose objects' URLs start with `base` then `prefix`.
    fn rooted(store: Arc<dyn ObjectStore>, base: String, prefix: &str) -> Self {
        let prefix = prefix.trim_matches('/');
        if prefix.is_empty() {
            return Self { store, base };
        }
        Self {
            store: Arc::new(PrefixStore::new(store, prefix)),
            base: format!("{base}{prefix}/"),
        }
    }

    /// Writes `bytes` as object `key` (`session/file.ext`) and answers its URL.
    pub async fn put(&self, key: &str, bytes: Bytes) -> anyhow::Result<String> {
        let path = Path::parse(key).with_context(|| format!("`{key}` is not an object name"))?;
        self.store
            .put(&path, PutPayload::from(bytes))
            .await
            .with_context(|| format!("cannot write {}{key}", self.base))?;
        Ok(format!("{}{key}", self.base))
    }

    /// Whether `url` names an object of this store (a store configured before may have held it).
    pub fn holds(&self, url: &str) -> bool {
        url.starts_with(&self.base)
    }

    /// Reads the object at `url`, if `url` is one of this store's (a store configured before
    /// may have held it; `None` then).
    pub async fn get(&self, url: &str) -> anyhow::Result<Option<Bytes>> {
        let Some(key) = url.strip_prefix(&self.base) else {
            return Ok(None);
        };
        let path = Path::parse(key).with_context(|| format!("`{key}` is not an object name"))?;
        match self.store.get(&path).await {
            Ok(found) => Ok(Some(found.bytes().await.with_context(|| format!("cannot read {url}"))?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(anyhow::Error::new(e).context(format!("cannot read {url}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_directory_store_writes_and_reads_back_by_url() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().join("media");
        let store = MediaObjects::open(&root.to_string_lossy())?;
        let url = store
            .put("alice/med_1.jpg", Bytes::from_static(b"\xff\xd8 picture"))
            .await?;
        assert_eq!(url, format!("file://{}/alice/med_1.jpg", root.display()));
        assert_eq!(std::fs::read(root.join("alice/med_1.jpg"))?, b"\xff\xd8 picture");
        assert_eq!(store.get(&url).await?.as_deref(), Some(&b"\xff\xd8 picture"[..]));
        assert_eq!(
            store.get(&format!("file://{}/alice/none.jpg", root.display())).await?,
            None
        );
        assert_eq!(
            store.get("s3://elsewhere/alice/med_1.jpg").await?,
            None,
            "another store's object"
        );
        Ok(())
    }

    #[test]
    fn only_directories_file_and_s3_urls_name_a_store() {
        for bad in ["", "ftp://host/dir", "file://relative/dir", "s3://", "s3:///prefix"] {
            assert!(MediaObjects::open(bad).is_err(), "{bad} was accepted");
        }
    }
}
