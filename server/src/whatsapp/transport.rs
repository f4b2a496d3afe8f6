//! The WebSocket to WhatsApp, directly or through a session's proxy: an `http://` proxy is asked
//! to `CONNECT` to the WhatsApp host, a `socks5://` proxy gets a SOCKS5 `CONNECT` (RFC 1928,
//! with RFC 1929 username/password when the URL has credentials); TLS and the WebSocket upgrade
//! then run inside the tunnel, so the proxy sees only ciphertext.

use std::sync::Arc;

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use whatsapp_rust::transport::{
    TokioWebSocketTransportFactory, Transport, TransportEvent, TransportFactory, default_tls_connector, from_websocket,
};

/// Why a proxy setting or a tunnel failed.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The proxy URL is malformed or has an unsupported scheme (not echoed: it may hold a password).
    #[error("invalid proxy URL: expected http://[user:pass@]host:port or socks5://[user:pass@]host:port")]
    InvalidUrl,
    /// The proxy refused or broke the tunnel.
    #[error("proxy refused the tunnel: {0}")]
    Refused(String),
    /// The connection to the proxy failed.
    #[error("proxy connection failed: {0}")]
    Io(#[from] std::io::Error),
}

/// A parsed session proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    kind: ProxyKind,
    address: String,
    credentials: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProxyKind {
    HttpConnect,
    Socks5,
}

impl std::str::FromStr for Proxy {
    type Err = ProxyError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let invalid = || ProxyError::InvalidUrl;
        let (kind, rest) = if let Some(rest) = url.strip_prefix("http://") {
            (ProxyKind::HttpConnect, rest)
        } else if let Some(rest) = url.strip_prefix("socks5://") {
            (ProxyKind::Socks5, rest)
        } else {
            return Err(invalid());
        };
        let rest = rest.trim_end_matches('/');
        let (credentials, address) = match rest.rsplit_once('@') {
            Some((user_info, address)) => {
                let (user, password) = user_info.split_once(':').ok_or_else(invalid)?;
                (Some((user.to_owned(), password.to_owned())), address)
            }
            None => (None, rest),
        };
        let port_ok = address
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !port_ok || address.contains('/') {
            return Err(invalid());
        }
        Ok(Self {
            kind,
            address: address.to_owned(),
            credentials,
        })
    }
}

impl Proxy {
    /// The URL with the password hidden, for responses and logs.
    pub fn redacted(&self) -> String {
        let scheme = match self.kind {
            ProxyKind::HttpConnect => "http",
            ProxyKind::Socks5 => "socks5",
        };
        match &self.credentials {
            Some((user, _)) => format!("{scheme}://{user}:***@{}", self.address),
            None => format!("{scheme}://{}", self.address),
        }
    }

    /// A TCP stream to `host:port` through the proxy.
    pub async fn tunnel(&self, host: &str, port: u16) -> Result<TcpStream, ProxyError> {
        let mut stream = TcpStream::connect(&self.address).await?;
        match self.kind {
            ProxyKind::HttpConnect => self.http_connect(&mut stream, host, port).await?,
            ProxyKind::Socks5 => self.socks5_connect(&mut stream, host, port).await?,
        }
        Ok(stream)
    }

    async fn http_connect(&self, stream: &mut TcpStream, host: &str, port: u16) -> Result<(), ProxyError> {
        let mut request = format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n");
        if let Some((user, password)) = &self.credentials {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if head.len() > 8 * 1024 {
                return Err(ProxyError::Refused("oversized CONNECT response".into()));
            }
            stream.read_exact(&mut byte).await?;
            head.push(byte[0]);
        }
        let status = String::from_utf8_lossy(&head);
        let line = status.lines().next().unwrap_or_default().to_owned();
        if line.split_whitespace().nth(1).is_some_and(|code| code.starts_with('2')) {
            Ok(())
        } else {
            Err(ProxyError::Refused(line))
        }
    }

    async fn socks5_connect(&self, stream: &mut TcpStream, host: &str, port: u16) -> Result<(), ProxyError> {
        let method = if self.credentials.is_some() { 0x02 } else { 0x00 };
        stream.write_all(&[0x05, 0x01, method]).await?;
        let mut choice = [0u8; 2];
        stream.read_exact(&mut choice).await?;
        if choice != [0x05, method] {
            return Err(ProxyError::Refused(format!(
                "SOCKS5 method {:#04x} not accepted",
                method
            )));
        }
        if let Some((user, password)) = &self.credentials {
            let too_long = || ProxyError::Refused("SOCKS5 credentials longer than 255 bytes".into());
            let mut auth = vec![0x01, u8::try_from(user.len()).map_err(|_| too_long())?];
            auth.extend_from_slice(user.as_bytes());
            auth.push(u8::try_from(password.len()).map_err(|_| too_long())?);
            auth.extend_from_slice(password.as_bytes());
            stream.write_all(&auth).await?;
            let mut status = [0u8; 2];
            stream.read_exact(&mut status).await?;
            if status[1] != 0 {
                return Err(ProxyError::Refused("SOCKS5 authentication failed".into()));
            }
        }
        let name = u8::try_from(host.len()).map_err(|_| ProxyError::Refused("host name too long".into()))?;
        let mut request = vec![0x05, 0x01, 0x00, 0x03, name];
        request.extend_from_slice(host.as_bytes());
        request.extend_from_slice(&port.to_be_bytes());
        stream.write_all(&request).await?;
        let mut reply = [0u8; 4];
        stream.read_exact(&mut reply).await?;
        if reply[1] != 0 {
            return Err(ProxyError::Refused(format!(
                "SOCKS5 CONNECT failed with code {}",
                reply[1]
            )));
        }
        let bound = match reply[3] {
            0x01 => 4,
            0x04 => 16,
            0x03 => {
                let mut length = [0u8; 1];
                stream.read_exact(&mut length).await?;
                usize::from(length[0])
            }
            other => return Err(ProxyError::Refused(format!("SOCKS5 address type {other}"))),
        };
        let mut skip = vec![0u8; bound + 2];
        stream.read_exact(&mut skip).await?;
        Ok(())
    }
}

/// whatsapp-rust's transport factory for one session: the WhatsApp WebSocket `url`, through
/// `proxy` when the session has one.
#[derive(Debug, Clone)]
pub struct SessionTransportFactory {
    url: String,
    proxy: Option<Proxy>,
}

impl SessionTransportFactory {
    /// Connects to `url` (`wss://…` for WhatsApp, `ws://…` for the sandbox), via `proxy`.
    pub fn new(url: impl Into<String>, proxy: Option<Proxy>) -> Self {
        Self { url: url.into(), proxy }
    }
}

#[whatsapp_rust::async_trait]
impl TransportFactory for SessionTransportFactory {
    async fn create_transport(
        &self,
    ) -> Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>), anyhow::Error> {
        let Some(proxy) = &self.proxy else {
            return TokioWebSocketTransportFactory::new()
                .with_url(self.url.clone())
                .create_transport()
                .await;
        };
        let uri: http::Uri = self.url.parse()?;
        let secure = uri.scheme_str() == Some("wss");
        let host = uri.host().ok_or_else(|| anyhow::anyhow!("no host in {}", self.url))?;
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let tunnel = proxy.tunnel(host, port).await?;
        let connector = if secure {
            default_tls_connector()
        } else {
            whatsapp_rust::transport::Connector::Plain
        };
        let stream = connector.wrap(host, tunnel).await?;
        let builder = tokio_websockets::ClientBuilder::from_uri(uri).add_header(
            http::header::ORIGIN,
            http::HeaderValue::from_static(whatsapp_rust::wacore::net::WHATSAPP_WEB_ORIGIN),
        )?;
        let (socket, _) = builder.connect_on(stream).await?;
        Ok(from_websocket(socket))
    }
}
