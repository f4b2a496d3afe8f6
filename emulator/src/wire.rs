//! WhatsApp framing over a WebSocket: 3-byte big-endian length prefixes, an optional `WA\x06\x03`
//! header before the first frame, and after the handshake AES-GCM with per-direction counters.

use axum::extract::ws::{Message, WebSocket};
use bytes::BytesMut;
use wacore_binary::consts::WA_CONN_HEADER;
use wacore_noise::NoiseCipher;
use wacore_noise::framing::FrameDecoder;

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The peer closed the WebSocket.
    #[error("connection closed")]
    Closed,
    /// The socket failed.
    #[error("websocket: {0}")]
    Socket(#[from] axum::Error),
    /// A frame did not decrypt or decode.
    #[error("protocol: {0}")]
    Protocol(String),
}

/// Frames in and out of one WebSocket, plain during the handshake and encrypted afterwards.
pub struct FrameIo {
    socket: WebSocket,
    decoder: FrameDecoder,
    first: bool,
    ciphers: Option<Ciphers>,
}

struct Ciphers {
    read: NoiseCipher,
    write: NoiseCipher,
    read_counter: u32,
    write_counter: u32,
}

impl FrameIo {
    /// Wraps a freshly upgraded socket.
    pub fn new(socket: WebSocket) -> Self {
        Self {
            socket,
            decoder: FrameDecoder::new(),
            first: true,
            ciphers: None,
        }
    }

    /// Switches to the transport ciphers agreed by the handshake.
    pub fn encrypt_with(&mut self, read: NoiseCipher, write: NoiseCipher) {
        self.ciphers = Some(Ciphers {
            read,
            write,
            read_counter: 0,
            write_counter: 0,
        });
    }

    /// The next frame's payload, decrypted once the handshake is done.
    pub async fn read(&mut self) -> Result<Vec<u8>, WireError> {
        loop {
            if let Some(frame) = self.decoder.decode_frame() {
                return self.open(frame);
            }
            let data = match self.socket.recv().await {
                None => return Err(WireError::Closed),
                Some(message) => match message? {
                    Message::Binary(data) => data,
                    Message::Close(_) => return Err(WireError::Closed),
                    _ => continue,
                },
            };
            let mut data: &[u8] = &data;
            if self.first {
                self.first = false;
                if let Some(rest) = data.strip_prefix(&WA_CONN_HEADER[..]) {
                    data = rest;
                }
            }
            self.decoder.feed(data);
        }
    }

    fn open(&mut self, mut frame: BytesMut) -> Result<Vec<u8>, WireError> {
        let Some(ciphers) = self.ciphers.as_mut() else {
            return Ok(frame.to_vec());
        };
        ciphers
            .read
            .decrypt_in_place_with_counter(ciphers.read_counter, &mut frame)
            .map_err(|e| WireError::Protocol(format!("decrypt frame {}: {e}", ciphers.read_counter)))?;
        ciphers.read_counter += 1;
        Ok(frame.to_vec())
    }

    /// Ends the connection after a final stanza: a close frame, then whatever the peer still
    /// sends is read and dropped until it closes too (for at most two seconds). Closing with
    /// unread input would reset the TCP connection, and the peer could lose the final stanza.
    pub async fn close(&mut self) {
        let _ = self.socket.send(Message::Close(None)).await;
        let drain = async { while let Some(Ok(_)) = self.socket.recv().await {} };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), drain).await;
    }

    /// Sends one frame, encrypted once the handshake is done.
    pub async fn write(&mut self, payload: &[u8]) -> Result<(), WireError> {
        let sealed = match self.ciphers.as_mut() {
            None => payload.to_vec(),
            Some(ciphers) => {
                let sealed = ciphers
                    .write
                    .encrypt_with_counter(ciphers.write_counter, payload)
                    .map_err(|e| WireError::Protocol(format!("encrypt: {e}")))?;
                ciphers.write_counter += 1;
                sealed
            }
        };
        let framed =
            wacore_noise::framing::encode_frame(&sealed, None).map_err(|e| WireError::Protocol(e.to_string()))?;
        self.socket.send(Message::Binary(framed.into())).await?;
        Ok(())
    }
}
