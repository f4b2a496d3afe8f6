//! Secrets the server must read back (webhook HMAC keys) are sealed with the server's secret key
//! (AES-256-GCM), so a copy of the database alone does not reveal them; tokens the server issues
//! (client tokens) are signed with a second key derived from the same secret.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// The version tag of sealed values, so the format can change later.
const VERSION: &str = "v1:";

/// Seals and opens secrets with the server's key, and signs what the server issues.
pub struct SecretBox {
    key: LessSafeKey,
    signing: hmac::Key,
    random: SystemRandom,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

/// A sealed value that cannot be opened with this server's key.
#[derive(Debug, thiserror::Error)]
#[error("the secret cannot be decrypted with this server's secret key (was TITAN_SECRET_KEY changed?)")]
pub struct OpenError;

impl SecretBox {
    /// A box keyed by `passphrase` (any string; its SHA-256 is the AES key).
    pub fn new(passphrase: &str) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, passphrase.as_bytes());
        let key = UnboundKey::new(&AES_256_GCM, digest.as_ref())
            .unwrap_or_else(|_| unreachable!("a SHA-256 digest is exactly an AES-256 key"));
        // A different key for signing, so a signature never says anything about the sealing key.
        let signing = ring::digest::digest(
            &ring::digest::SHA256,
            format!("titan-signing-v1:{passphrase}").as_bytes(),
        );
        Self {
            key: LessSafeKey::new(key),
            signing: hmac::Key::new(hmac::HMAC_SHA256, signing.as_ref()),
            random: SystemRandom::new(),
        }
    }

    /// The box for `TITAN_SECRET_KEY` when given; otherwise the key in `file`, created (random,
    /// readable by the owner only) on first use.
    pub fn load(passphrase: Option<&str>, file: &Path) -> anyhow::Result<Self> {
        if let Some(passphrase) = passphrase.filter(|p| !p.is_empty()) {
            return Ok(Self::new(passphrase));
        }
        if !file.exists() {
            create_key_file(file)?;
            tracing::info!(file = %file.display(), "created the server's secret key; back it up with the database");
        }
        let key = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the secret key file {}", file.display()))?;
        anyhow::ensure!(
            !key.trim().is_empty(),
            "the secret key file {} is empty",
            file.display()
        );
        Ok(Self::new(key.trim()))
    }

    /// Encrypts `secret`, bound to `context` (e.g. the owning row's id).
    pub fn seal(&self, context: &str, secret: &str) -> anyhow::Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| anyhow::anyhow!("no randomness for a nonce"))?;
        let mut data = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(context), &mut data)
            .map_err(|_| anyhow::anyhow!("cannot encrypt a secret"))?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&data);
        Ok(format!("{VERSION}{}", STANDARD.encode(sealed)))
    }

    /// The HMAC-SHA256 tag of `data` under the server's signing key.
    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        hmac::sign(&self.signing, data).as_ref().to_vec()
    }

    /// Whether `tag` is [`sign`](Self::sign)'s tag of `data` (compared in constant time).
    pub fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        hmac::verify(&self.signing, data, tag).is_ok()
    }

    /// Decrypts what [`seal`](Self::seal) made with the same `context`.
    pub fn open(&self, context: &str, sealed: &str) -> Result<String, OpenError> {
        let bytes = sealed
            .strip_prefix(VERSION)
            .and_then(|b| STANDARD.decode(b).ok())
            .ok_or(OpenError)?;
        if bytes.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError)?;
        let mut data = data.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context), &mut data)
            .map_err(|_| OpenError)?;
        String::from_utf8(plain.to_vec()).map_err(|_| OpenError)
    }
}

/// Writes a new random key to `file` without ever replacing one another process wrote first.
fn create_key_file(file: &Path) -> anyhow::Result<()> {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    let mut key = [0u8; 32];
    SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| anyhow::anyhow!("no randomness for the secret key"))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    // Unique per call: servers started concurrently (in one process too) each write their own.
    let temporary = file.with_extension(format!("tmp{}-{:016x}", std::process::id(), rand::random::<u64>()));
    let mut out = options
        .open(&temporary)
        .with_context(|| format!("create {}", temporary.display()))?;
    out.write_all(hex::encode(key).as_bytes())?;
    out.sync_all()?;
    drop(out);
    // A hard link fails if the file exists: the first writer wins, the others read its key.
    let linked = std::fs::hard_link(&temporary, file);
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("create {}", file.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_the_same_key_and_context() {
        let first = SecretBox::new("one");
        let sealed = first.seal("wh_1", "whsec_abc").expect("seal");
        assert!(!sealed.contains("whsec_abc"));
        assert_eq!(first.open("wh_1", &sealed).ok().as_deref(), Some("whsec_abc"));
        assert!(first.open("wh_2", &sealed).is_err(), "bound to its row");
        assert!(SecretBox::new("two").open("wh_1", &sealed).is_err());
        assert_ne!(first.seal("wh_1", "whsec_abc").expect("seal"), sealed, "fresh nonce");
    }

    #[test]
    fn a_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let file = dir.path().join("keys/secret.key");
        let sealed = SecretBox::load(None, &file)
            .and_then(|b| b.seal("x", "secret"))
            .expect("seal with a new key file");
        let again = SecretBox::load(None, &file).expect("reuse the key file");
        assert_eq!(again.open("x", &sealed).ok().as_deref(), Some("secret"));
    }

    #[test]
    fn servers_starting_together_agree_on_one_key() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let file = dir.path().join("secret.key");
        let boxes: Vec<SecretBox> = std::thread::scope(|scope| {
            let starts: Vec<_> = (0..8).map(|_| scope.spawn(|| SecretBox::load(None, &file))).collect();
            starts
                .into_iter()
                .map(|s| s.join().expect("thread").expect("load"))
                .collect()
        });
        let sealed = boxes[0].seal("x", "secret").expect("seal");
        assert!(boxes.iter().all(|b| b.open("x", &sealed).is_ok()));
    }
}
