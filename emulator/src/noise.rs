//! The responder half of WhatsApp's Noise handshakes: XX (first login), IK (reconnect with the
//! cached server key) and XXfallback (an IK the server cannot accept).

use buffa::Message;
use wacore::libsignal::protocol::KeyPair;
use wacore_binary::consts::{NOISE_PATTERN_IK, NOISE_PATTERN_XX, NOISE_PATTERN_XXFALLBACK, WA_CONN_HEADER};
use wacore_noise::{NoiseCipher, NoiseHandshake};
use waproto::whatsapp as wa;

use crate::identity::ServerIdentity;
use crate::wire::{FrameIo, WireError};

/// Which handshake a connection used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// Full handshake; the client learns the server key.
    Xx,
    /// Reconnect with the cached server key.
    Ik,
    /// An IK the server rejected, completed as XX.
    XxFallback,
}

/// A finished handshake: the transport ciphers and what the client proved and sent.
pub struct Established {
    /// Decrypts client frames.
    pub read: NoiseCipher,
    /// Encrypts server frames.
    pub write: NoiseCipher,
    /// The client's Noise static public key.
    pub client_static: [u8; 32],
    /// The decrypted `ClientPayload` protobuf.
    pub payload: Vec<u8>,
    /// The pattern used.
    pub pattern: Pattern,
}

fn protocol(message: impl std::fmt::Display) -> WireError {
    WireError::Protocol(message.to_string())
}

fn key32(bytes: &[u8]) -> Result<[u8; 32], WireError> {
    bytes.try_into().map_err(|_| protocol("expected a 32-byte key"))
}

/// Runs the responder side of whichever handshake the client starts.
pub async fn accept(io: &mut FrameIo, identity: &ServerIdentity) -> Result<Established, WireError> {
    let hello = wa::HandshakeMessage::decode_from_slice(&io.read().await?).map_err(protocol)?;
    let hello = hello
        .client_hello
        .into_option()
        .ok_or_else(|| protocol("expected a ClientHello"))?;
    let client_ephemeral = key32(
        hello
            .ephemeral
            .as_deref()
            .ok_or_else(|| protocol("ClientHello without ephemeral"))?,
    )?;
    match (hello.r#static, hello.payload) {
        (Some(encrypted_static), Some(encrypted_payload)) => {
            match accept_ik(io, identity, client_ephemeral, &encrypted_static, &encrypted_payload).await? {
                Some(established) => Ok(established),
                None => accept_xx(io, identity, client_ephemeral, Pattern::XxFallback).await,
            }
        }
        _ => accept_xx(io, identity, client_ephemeral, Pattern::Xx).await,
    }
}

/// XX (or XXfallback): `<- e, ee, s, es` then `-> s, se` with the client payload.
async fn accept_xx(
    io: &mut FrameIo,
    identity: &ServerIdentity,
    client_ephemeral: [u8; 32],
    pattern: Pattern,
) -> Result<Established, WireError> {
    let name = if pattern == Pattern::Xx {
        NOISE_PATTERN_XX
    } else {
        NOISE_PATTERN_XXFALLBACK
    };
    let mut noise = NoiseHandshake::new(name, &WA_CONN_HEADER).map_err(protocol)?;
    noise.authenticate(&client_ephemeral);
    let (ephemeral, ephemeral_public) = server_ephemeral(&mut noise, &client_ephemeral)?;
    let encrypted_static = noise.encrypt(&identity.static_public()).map_err(protocol)?;
    noise
        .mix_shared_secret(identity.static_key.private_key.serialize(), &client_ephemeral)
        .map_err(protocol)?;
    let encrypted_chain = noise.encrypt(&identity.cert_chain).map_err(protocol)?;
    send_server_hello(io, ephemeral_public, Some(encrypted_static), encrypted_chain).await?;

    let finish = wa::HandshakeMessage::decode_from_slice(&io.read().await?).map_err(protocol)?;
    let finish = finish
        .client_finish
        .into_option()
        .ok_or_else(|| protocol("expected a ClientFinish"))?;
    let client_static = noise
        .decrypt(finish.r#static.as_deref().unwrap_or_default())
        .map_err(protocol)?;
    let client_static = key32(&client_static)?;
    noise
        .mix_shared_secret(ephemeral.private_key.serialize(), &client_static)
        .map_err(protocol)?;
    let payload = noise
        .decrypt(finish.payload.as_deref().unwrap_or_default())
        .map_err(protocol)?;
    let (client_write, client_read) = noise.finish().map_err(protocol)?;
    Ok(Established {
        read: client_write,
        write: client_read,
        client_static,
        payload,
        pattern,
    })
}

/// IK: the client already sent `e, es, s, ss` and its payload; answer `e, ee, se`. `None` when the
/// client's cached server key is not ours (the server restarted with a new identity): fall back.
async fn accept_ik(
    io: &mut FrameIo,
    identity: &ServerIdentity,
    client_ephemeral: [u8; 32],
    encrypted_static: &[u8],
    encrypted_payload: &[u8],
) -> Result<Option<Established>, WireError> {
    let server_private = identity.static_key.private_key.serialize();
    let mut noise = NoiseHandshake::new(NOISE_PATTERN_IK, &WA_CONN_HEADER).map_err(protocol)?;
    noise.authenticate(&identity.static_public());
    noise.authenticate(&client_ephemeral);
    noise
        .mix_shared_secret(server_private, &client_ephemeral)
        .map_err(protocol)?;
    let Ok(client_static) = noise.decrypt(encrypted_static) else {
        return Ok(None);
    };
    let client_static = key32(&client_static)?;
    noise
        .mix_shared_secret(server_private, &client_static)
        .map_err(protocol)?;
    let Ok(payload) = noise.decrypt(encrypted_payload) else {
        return Ok(None);
    };
    let (ephemeral, ephemeral_public) = server_ephemeral(&mut noise, &client_ephemeral)?;
    noise
        .mix_shared_secret(ephemeral.private_key.serialize(), &client_static)
        .map_err(protocol)?;
    let encrypted_chain = noise.encrypt(&identity.cert_chain).map_err(protocol)?;
    send_server_hello(io, ephemeral_public, None, encrypted_chain).await?;
    let (client_write, client_read) = noise.finish().map_err(protocol)?;
    Ok(Some(Established {
        read: client_write,
        write: client_read,
        client_static,
        payload,
        pattern: Pattern::Ik,
    }))
}

/// The server's ephemeral key: generated, mixed into the transcript (`e`) and agreed with the
/// client's ephemeral (`ee`).
fn server_ephemeral(noise: &mut NoiseHandshake, client_ephemeral: &[u8; 32]) -> Result<(KeyPair, [u8; 32]), WireError> {
    let ephemeral = wacore::crypto::generate_curve_key_pair();
    let public = key32(ephemeral.public_key.public_key_bytes())?;
    noise.authenticate(&public);
    noise
        .mix_shared_secret(ephemeral.private_key.serialize(), client_ephemeral)
        .map_err(protocol)?;
    Ok((ephemeral, public))
}

async fn send_server_hello(
    io: &mut FrameIo,
    ephemeral: [u8; 32],
    encrypted_static: Option<Vec<u8>>,
    payload: Vec<u8>,
) -> Result<(), WireError> {
    let hello = wa::HandshakeMessage {
        server_hello: buffa::MessageField::some(wa::handshake_message::ServerHello {
            ephemeral: Some(ephemeral.to_vec()),
            r#static: encrypted_static,
            payload: Some(payload),
            ..Default::default()
        }),
        ..Default::default()
    };
    io.write(&hello.encode_to_vec()).await
}
