//! The media host: an HTTPS server on its own port with a certificate from a CA the emulator
//! generates at start (clients trust it explicitly: [`crate::Emulator::media_ca_pem`]).
//! `media_conn` points clients at it; uploads (`POST /mms/{kind}/{token}`) store the encrypted
//! blob, downloads (`GET {direct_path}`) return it byte for byte (404 once it expired: see
//! [`expire`]), and `/pp/{id}.jpg` serves profile and group pictures.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use wacore_binary::builder::NodeBuilder;
use wacore_binary::node::Node;

use crate::state::{Registry, Shared};

/// How long `media_conn` answers stay valid on the client.
const MEDIA_CONN_TTL_SECS: u64 = 300;

/// The media host's TLS material, generated per emulator.
pub struct MediaTls {
    /// The CA certificate (PEM) clients must trust.
    pub ca_pem: String,
    /// Accepts TLS connections with the host's certificate.
    pub acceptor: TlsAcceptor,
}

impl std::fmt::Debug for MediaTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaTls").finish_non_exhaustive()
    }
}

impl MediaTls {
    /// A fresh CA and a leaf certificate for `127.0.0.1` and `localhost` signed by it.
    pub fn generate() -> anyhow::Result<Self> {
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "wa-emulator media CA");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate()?;
        let ca_cert = ca.self_signed(&ca_key)?;
        let mut leaf = CertificateParams::new(vec!["localhost".to_owned()])?;
        leaf.subject_alt_names
            .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
        leaf.distinguished_name
            .push(DnType::CommonName, "wa-emulator media host");
        let leaf_key = KeyPair::generate()?;
        let leaf_cert = leaf.signed_by(&leaf_key, &Issuer::new(ca, ca_key))?;
        let key = rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der())
            .map_err(|e| anyhow::anyhow!("media host key: {e}"))?;
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![leaf_cert.der().clone(), ca_cert.der().clone()], key)?;
        Ok(Self {
            ca_pem: ca_cert.pem(),
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }
}

/// Accepted TLS connections, handshaken off the accept loop so a slow client delays nobody.
pub struct TlsListener {
    local: SocketAddr,
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl TlsListener {
    /// Starts accepting on `listener`, handing out connections whose handshake succeeded.
    pub fn new(listener: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (ready, accepted) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let Ok((tcp, peer)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                if ready.is_closed() {
                    return;
                }
                let (acceptor, ready) = (acceptor.clone(), ready.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            let _ = ready.send((tls, peer)).await;
                        }
                        Ok(Err(error)) => tracing::debug!(%error, %peer, "media TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "media TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { local, accepted })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(connection) => connection,
            // The acceptor task only ends when this listener is gone.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// The `<media_conn>` answer: the media host and the auth token uploads and downloads carry.
pub fn media_conn(shared: &Shared) -> Node {
    NodeBuilder::new("media_conn")
        .attr("auth", shared.media_auth.clone())
        .attr("ttl", MEDIA_CONN_TTL_SECS.to_string())
        .attr("auth_ttl", MEDIA_CONN_TTL_SECS.to_string())
        .attr("max_buckets", "1")
        .children([NodeBuilder::new("host")
            .attr("hostname", shared.media_host())
            .attr("type", "primary")
            .build()])
        .build()
}

/// Largest upload the media host takes: WhatsApp's limit for documents.
const MAX_UPLOAD_BYTES: usize = 2 * 1024 * 1024 * 1024;

/// The media host's routes.
pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/mms/{kind}/{token}", post(upload))
        .route("/v/{kind}/{file}", get(download))
        .route("/pp/{file}", get(picture))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
}

#[derive(Debug, Deserialize)]
struct Transfer {
    auth: Option<String>,
    resume: Option<String>,
}

fn refuse(status: StatusCode, error: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": error }))).into_response()
}

/// Stores an encrypted upload under a new direct path; the token must be the body's SHA-256.
async fn upload(
    State(shared): State<Arc<Shared>>,
    Path((kind, token)): Path<(String, String)>,
    Query(transfer): Query<Transfer>,
    body: Bytes,
) -> Response {
    if transfer.auth.as_deref() != Some(shared.media_auth.as_str()) {
        return refuse(StatusCode::UNAUTHORIZED, "bad or missing auth");
    }
    if transfer.resume.is_some() {
        return refuse(StatusCode::NOT_FOUND, "nothing to resume");
    }
    if URL_SAFE_NO_PAD.encode(Sha256::digest(&body)) != token {
        return refuse(StatusCode::BAD_REQUEST, "the token is not the SHA-256 of the body");
    }
    let direct_path = format!("/v/{kind}/{}.enc", crate::conn::random_hex(16));
    let length = body.len();
    shared.with(|r| r.media.insert(direct_path.clone(), body));
    tracing::debug!(direct_path, length, "media uploaded");
    axum::Json(serde_json::json!({
        "url": format!("https://{}{direct_path}", shared.media_host()),
        "direct_path": direct_path,
    }))
    .into_response()
}

/// Serves a stored blob byte for byte.
async fn download(
    State(shared): State<Arc<Shared>>,
    Path((kind, file)): Path<(String, String)>,
    Query(transfer): Query<Transfer>,
) -> Response {
    if transfer.auth.as_deref() != Some(shared.media_auth.as_str()) {
        return refuse(StatusCode::UNAUTHORIZED, "bad or missing auth");
    }
    match shared.with(|r| r.media.get(&format!("/v/{kind}/{file}")).cloned()) {
        Some(blob) => blob.into_response(),
        None => refuse(StatusCode::NOT_FOUND, "no such media"),
    }
}

/// Removes the blob at `direct_path` (every blob with `None`) from the CDN, as WhatsApp's CDN
/// forgets media after a while: downloads then answer 404, which whatsapp-rust reads as an
/// expired URL, and a client must ask the sender's phone to upload the file again
/// ([`crate::media_retry`]). Returns how many blobs were removed.
pub fn expire(registry: &mut Registry, direct_path: Option<&str>) -> usize {
    match direct_path {
        Some(path) => usize::from(registry.media.remove(path).is_some()),
        None => {
            let count = registry.media.len();
            registry.media.clear();
            count
        }
    }
}

/// Serves a profile or group picture (`/pp/{id}.jpg`), public as WhatsApp's picture URLs are.
async fn picture(State(shared): State<Arc<Shared>>, Path(file): Path<String>) -> Response {
    let id = file.strip_suffix(".jpg").and_then(|id| id.parse::<u64>().ok());
    match id.and_then(|id| shared.with(|r| r.pictures.get(&id).map(|p| p.bytes.clone()))) {
        Some(bytes) => ([(axum::http::header::CONTENT_TYPE, "image/jpeg")], bytes).into_response(),
        None => refuse(StatusCode::NOT_FOUND, "no such picture"),
    }
}
