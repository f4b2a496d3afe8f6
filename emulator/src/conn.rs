//! One client connection: handshake, then either QR pairing (unpaired client) or a login and the
//! answers a logged-in client needs.

use std::sync::Arc;

use axum::extract::ws::WebSocket;
use buffa::Message;
use tokio::sync::mpsc;
use wacore::xml::DisplayableNode;
use wacore_binary::builder::NodeBuilder;
use wacore_binary::node::Node;
use waproto::whatsapp as wa;

use crate::noise;
use crate::routing::{self, Me};
use crate::state::{Command, ConnectionHandle, Offer, Pending, Shared};
use crate::wire::{FrameIo, WireError};

/// The server's JID, the `from` of every server stanza.
pub const SERVER: &str = "s.whatsapp.net";
/// How many QR refs an unpaired connection is offered, as WhatsApp does (60 s for the first,
/// 20 s for each other: 160 s in all), unless [`crate::Emulator::set_qr_refs`] says otherwise.
const QR_REFS: usize = 6;

enum Role {
    Unpaired {
        pending: Pending,
        refs: Vec<String>,
        offer: Option<Box<Offer>>,
    },
    LoggedIn(Me),
}

struct Connection {
    shared: Arc<Shared>,
    io: FrameIo,
    handle: ConnectionHandle,
    role: Role,
}

/// Serves one WebSocket until either side closes it.
pub async fn serve(shared: Arc<Shared>, socket: WebSocket) {
    let mut io = FrameIo::new(socket);
    let established = match noise::accept(&mut io, &shared.identity).await {
        Ok(established) => established,
        Err(error) => {
            tracing::debug!(%error, "handshake failed");
            return;
        }
    };
    tracing::debug!(pattern = ?established.pattern, "handshake done");
    shared.with(|r| r.record_handshake(established.pattern));
    io.encrypt_with(established.read, established.write);
    let payload = match wa::ClientPayload::decode_from_slice(&established.payload) {
        Ok(payload) => payload,
        Err(error) => {
            tracing::debug!(%error, "undecodable ClientPayload");
            return;
        }
    };
    let (handle, mut commands) = mpsc::unbounded_channel();
    let mut connection = Connection {
        shared,
        io,
        handle: handle.clone(),
        role: Role::Unpaired {
            pending: Pending {
                connection: handle,
                noise_public: established.client_static,
                push_name: payload.push_name.clone(),
            },
            refs: Vec::new(),
            offer: None,
        },
    };
    if let Err(error) = connection.start(&payload, established.client_static).await {
        tracing::debug!(%error, "connection ended during login");
        connection.forget();
        return;
    }
    let outcome = connection.run(&mut commands).await;
    tracing::debug!(?outcome, "connection closed");
    connection.forget();
}

impl Connection {
    /// Registration (unpaired: show QR refs) or login (paired: `<success>` or 401).
    async fn start(&mut self, payload: &wa::ClientPayload, noise_public: [u8; 32]) -> Result<(), WireError> {
        if payload.device_pairing_data.is_set() {
            let count = self.shared.with(|r| r.qr_refs.unwrap_or(QR_REFS));
            let refs: Vec<String> = (0..count).map(|_| format!("2@{}", random_hex(16))).collect();
            let Role::Unpaired {
                pending, refs: slot, ..
            } = &mut self.role
            else {
                return Ok(());
            };
            self.shared.with(|r| {
                for reference in &refs {
                    r.pending.insert(reference.clone(), pending.clone());
                }
            });
            let children = refs
                .iter()
                .map(|r| NodeBuilder::new("ref").bytes(r.as_bytes().to_vec()).build());
            let pair_device = NodeBuilder::new("pair-device").children(children).build();
            *slot = refs;
            return self.send(&server_iq("set", "md", vec![pair_device])).await;
        }
        let (Some(user), Some(device)) = (payload.username, payload.device) else {
            return self.fail(400).await;
        };
        let phone = user.to_string();
        let lid = self.shared.with(|r| {
            r.device(&phone, device, &noise_public)
                .map(|(account, _)| account.lid.clone())
        });
        let Some(lid) = lid else {
            tracing::debug!(phone, device, "login by an unknown device");
            return self.fail(401).await;
        };
        if let Some(failure) = self.shared.with(|r| r.login_failure(&phone)) {
            self.send_final(&failure).await?;
            return Err(WireError::Closed);
        }
        let handle = self.handle.clone();
        let refused = self.shared.with(|r| {
            let key = (phone.clone(), device);
            let taken = r.online.get(&key).is_some_and(|open| !open.is_closed());
            if taken {
                r.concurrent_logins += 1;
            } else {
                r.online.insert(key, handle);
            }
            taken
        });
        if refused {
            tracing::warn!(
                phone,
                device,
                "refused a second connection of a device that is connected already"
            );
            return Err(WireError::Closed);
        }
        self.role = Role::LoggedIn(Me { phone, device });
        let success = NodeBuilder::new("success")
            .attr("t", now_secs().to_string())
            .attr("lid", format!("{lid}:{device}@lid"))
            .build();
        self.send(&success).await
    }

    async fn fail(&mut self, reason: u16) -> Result<(), WireError> {
        self.send_final(&NodeBuilder::new("failure").attr("reason", reason.to_string()).build())
            .await?;
        Err(WireError::Closed)
    }

    async fn run(&mut self, commands: &mut mpsc::UnboundedReceiver<Command>) -> Result<(), WireError> {
        loop {
            tokio::select! {
                frame = self.io.read() => {
                    let node = decode(&frame?)?;
                    tracing::debug!(stanza = %DisplayableNode(&node), "recv");
                    self.handle_stanza(node).await?;
                }
                command = commands.recv() => match command {
                    Some(Command::Send(node)) => self.send(&node).await?,
                    Some(Command::Offer(offer)) => {
                        if let Role::Unpaired { offer: slot, .. } = &mut self.role {
                            *slot = Some(Box::new(offer));
                        }
                    }
                    Some(Command::Terminate(stanza)) => {
                        self.send_final(&stanza).await?;
                        return Ok(());
                    }
                    Some(Command::Drop) | None => return Ok(()),
                },
            }
        }
    }

    async fn handle_stanza(&mut self, node: Node) -> Result<(), WireError> {
        match (node.tag.as_ref(), &self.role) {
            ("iq", _) => {}
            ("message", Role::LoggedIn(me)) => {
                let me = me.clone();
                let ack = self.shared.with(|r| routing::route_message(r, &me, &node));
                return match ack {
                    Some(ack) => self.send(&ack).await,
                    None => Ok(()),
                };
            }
            ("presence", Role::LoggedIn(me)) => {
                let me = me.clone();
                self.shared.with(|r| routing::route_presence(r, &me, &node));
                return Ok(());
            }
            ("chatstate", Role::LoggedIn(me)) => {
                let me = me.clone();
                self.shared.with(|r| routing::route_chatstate(r, &me, &node));
                return Ok(());
            }
            ("receipt", Role::LoggedIn(me)) if crate::media_retry::is_request(&node) => {
                let me = me.clone();
                self.send(&routing::receipt_ack(&node)).await?;
                self.shared.with(|r| crate::media_retry::answer(r, &me, &node));
                return Ok(());
            }
            ("receipt", Role::LoggedIn(me)) => {
                let me = me.clone();
                self.shared.with(|r| routing::route_receipt(r, &me, &node));
                return Ok(());
            }
            ("ack", Role::LoggedIn(me)) if node.attrs.get("class").is_some_and(|c| c.as_str() == "message") => {
                let me = me.clone();
                let id = node
                    .attrs
                    .get("id")
                    .map(|v| v.as_str().into_owned())
                    .unwrap_or_default();
                self.shared.with(|r| r.acknowledge(&me.phone, me.device, &[id]));
                return Ok(());
            }
            _ => return Ok(()),
        }
        let mut attrs = node.attrs();
        let id = attrs.optional_string("id").map(|s| s.into_owned()).unwrap_or_default();
        let kind = attrs
            .optional_string("type")
            .map(|s| s.into_owned())
            .unwrap_or_default();
        let xmlns = attrs
            .optional_string("xmlns")
            .map(|s| s.into_owned())
            .unwrap_or_default();
        match kind.as_str() {
            "result" if node.get_optional_child("pair-device-sign").is_some() => self.complete_pairing(&node).await,
            "result" | "error" => Ok(()),
            _ => self.answer_iq(&id, &xmlns, &node).await,
        }
    }

    /// The companion accepted `<pair-success>`: store the device and restart its stream (515).
    async fn complete_pairing(&mut self, reply: &Node) -> Result<(), WireError> {
        let Role::Unpaired { offer: Some(offer), .. } = &self.role else {
            return Ok(());
        };
        let mut offer = (**offer).clone();
        let identity = reply.get_optional_child_by_tag(&["pair-device-sign", "device-identity"]);
        offer.device.signed_identity = match identity.and_then(|n| n.content.as_ref()) {
            Some(wacore_binary::node::NodeContent::Bytes(bytes)) => Some(bytes.clone()),
            _ => None,
        };
        self.shared.with(|r| {
            if let Some(account) = r.accounts.get_mut(&offer.phone) {
                account.devices.insert(offer.device.id, offer.device.clone());
            }
        });
        tracing::info!(phone = offer.phone, device = offer.device.id, "device linked");
        self.send_final(&NodeBuilder::new("stream:error").attr("code", "515").build())
            .await?;
        Err(WireError::Closed)
    }

    async fn answer_iq(&mut self, id: &str, xmlns: &str, node: &Node) -> Result<(), WireError> {
        let reply = match (xmlns, &self.role) {
            ("abt", _) => Ok(vec![
                NodeBuilder::new("props")
                    .attr("protocol", "1")
                    .attr("hash", "emulator")
                    .build(),
            ]),
            ("privacy", Role::LoggedIn(me)) => {
                let me = me.clone();
                self.shared.with(|r| crate::profile::privacy(r, &me, node))
            }
            ("status", Role::LoggedIn(me)) => {
                let me = me.clone();
                self.shared.with(|r| crate::profile::set_about(r, &me, node))
            }
            ("w:profile:picture", Role::LoggedIn(me)) => {
                let (me, host) = (me.clone(), self.shared.media_host());
                self.shared.with(|r| crate::profile::picture(r, &me, node, &host))
            }
            ("w:m", Role::LoggedIn(_)) => Ok(vec![crate::media::media_conn(&self.shared)]),
            ("w:sync:app:state", role) => {
                let me = match role {
                    Role::LoggedIn(me) => Some(me.clone()),
                    Role::Unpaired { .. } => None,
                };
                Ok(self.shared.with(|r| crate::app_state::sync(r, me.as_ref(), node)))
            }
            ("encrypt", Role::LoggedIn(me)) => {
                let me = me.clone();
                self.shared.with(|r| encrypt(r, &me, node))
            }
            ("usync", _) => Ok(vec![self.shared.with(|r| routing::usync(r, node))]),
            ("md", Role::Unpaired { pending, .. }) => self.link_code_stage(pending.clone(), node),
            ("md", Role::LoggedIn(me)) => {
                let me = me.clone();
                self.shared.with(|r| remove_companion(r, &me, node))
            }
            ("w:g2", Role::LoggedIn(me)) => {
                let me = me.clone();
                self.shared.with(|r| crate::groups::iq(r, &me, node))
            }
            ("w:mex", Role::LoggedIn(me)) => {
                let me = me.clone();
                self.shared.with(|r| crate::channels::mex(r, &me, node))
            }
            ("blocklist", Role::LoggedIn(me)) => {
                let me = me.clone();
                Ok(self.shared.with(|r| routing::blocklist(r, &me, node)))
            }
            _ => Ok(Vec::new()),
        };
        match reply {
            Ok(content) => self.send(&result(id, content)).await?,
            Err(code) => self.send(&error(id, code)).await?,
        }
        if let ("passive", Role::LoggedIn(me)) = (xmlns, &self.role) {
            let me = me.clone();
            let queued = self.shared.with(|r| r.take_for_login(&me.phone, me.device));
            for mut stanza in queued.iter().cloned() {
                stanza.attrs.insert("offline", "1");
                self.send(&stanza).await?;
            }
            let offline = NodeBuilder::new("offline")
                .attr("count", queued.len().to_string())
                .build();
            self.send(&NodeBuilder::new("ib").attr("from", SERVER).children([offline]).build())
                .await?;
        }
        if let ("encrypt", Role::LoggedIn(me)) = (xmlns, &self.role)
            && node.get_optional_child("registration").is_some()
        {
            let me = me.clone();
            share_app_state_key(&self.shared, &me).await;
        }
        Ok(())
    }

    /// `link_code_companion_reg`: a companion asks for a pair code, or sends its key bundle after
    /// the phone's `primary_hello`.
    fn link_code_stage(&self, pending: Pending, node: &Node) -> Result<Vec<Node>, u16> {
        let stage = node
            .get_optional_child("link_code_companion_reg")
            .and_then(|r| r.attrs().optional_string("stage").map(|s| s.into_owned()));
        match stage.as_deref() {
            Some("companion_hello") => self
                .shared
                .with(|r| crate::pair_code::companion_hello(r, pending, node)),
            Some("companion_finish") => crate::pair_code::companion_finish(&self.shared, node).map(|()| Vec::new()),
            _ => Err(400),
        }
    }

    /// Sends the last stanza of the connection and closes it cleanly.
    async fn send_final(&mut self, node: &Node) -> Result<(), WireError> {
        self.send(node).await?;
        self.io.close().await;
        Ok(())
    }

    async fn send(&mut self, node: &Node) -> Result<(), WireError> {
        tracing::debug!(stanza = %DisplayableNode(node), "send");
        let bytes = wacore_binary::marshal::marshal(node).map_err(|e| WireError::Protocol(e.to_string()))?;
        self.io.write(&bytes).await
    }

    /// Removes this connection's QR refs, or its entry among online devices (unless a newer
    /// connection of the same device replaced it).
    fn forget(&self) {
        self.shared.with(|r| match &self.role {
            Role::Unpaired { refs, .. } => {
                for reference in refs {
                    r.pending.remove(reference);
                }
                r.link_codes
                    .retain(|_, waiting| !waiting.pending.connection.same_channel(&self.handle));
            }
            Role::LoggedIn(me) => {
                let key = (me.phone.clone(), me.device);
                if r.online.get(&key).is_some_and(|h| h.same_channel(&self.handle)) {
                    r.online.remove(&key);
                }
            }
        });
    }
}

/// Plays the phone sending a new companion the account's app-state key (once, as soon as
/// the companion's prekeys make a Signal session possible).
async fn share_app_state_key(shared: &Shared, me: &Me) {
    let Some(share) = shared.with(|r| r.key_share_due(&me.phone, me.device)) else {
        return;
    };
    match share.seal().await {
        Ok(message) => shared.with(|r| r.deliver(&me.phone, me.device, message, true)),
        Err(error) => tracing::warn!(%error, phone = me.phone, device = me.device, "key share not sealed"),
    }
}

/// Records the device offered to `connection` and sends it `<pair-success>`.
pub fn offer_pairing(connection: &ConnectionHandle, offer: Offer, container: Vec<u8>, lid: &str) -> Option<()> {
    let device_jid = format!("{}:{}@s.whatsapp.net", offer.phone, offer.device.id);
    let device_lid = format!("{lid}:{}@lid", offer.device.id);
    let success = NodeBuilder::new("pair-success")
        .children([
            NodeBuilder::new("device-identity").bytes(container).build(),
            NodeBuilder::new("platform").attr("name", "android").build(),
            NodeBuilder::new("device")
                .attr("jid", device_jid)
                .attr("lid", device_lid)
                .build(),
        ])
        .build();
    let iq = server_iq("set", "md", vec![success]);
    connection.send(Command::Offer(offer)).ok()?;
    connection.send(Command::Send(iq)).ok()
}

fn server_iq(kind: &'static str, xmlns: &'static str, children: Vec<Node>) -> Node {
    NodeBuilder::new("iq")
        .attr("from", SERVER)
        .attr("id", random_hex(8))
        .attr("type", kind)
        .attr("xmlns", xmlns)
        .children(children)
        .build()
}

/// Answers a companion's `remove-companion-device` (its logout): the device is unlinked, as
/// if removed on the phone. A companion may only remove a device of its own account.
fn remove_companion(registry: &mut crate::state::Registry, me: &Me, iq: &Node) -> Result<Vec<Node>, u16> {
    let jid = iq
        .get_optional_child("remove-companion-device")
        .and_then(|c| c.attrs.get("jid").map(|v| v.as_str().into_owned()))
        .ok_or(400u16)?;
    let jid: wacore_binary::jid::Jid = jid.parse().map_err(|_| 400u16)?;
    if jid.user.as_str() != me.phone {
        return Err(403);
    }
    let device = if jid.device == 0 {
        me.device
    } else {
        u32::from(jid.device)
    };
    if !registry.unlink(&me.phone, device) {
        return Err(404);
    }
    tracing::info!(phone = me.phone, device, "device logged itself out");
    Ok(Vec::new())
}

/// Answers an `encrypt` IQ: key upload, rotation, count, digest or bundle fetch.
fn encrypt(registry: &mut crate::state::Registry, me: &Me, iq: &Node) -> Result<Vec<Node>, u16> {
    let first = iq
        .children()
        .and_then(|c| c.first())
        .map(|c| c.tag.to_string())
        .unwrap_or_default();
    match first.as_str() {
        "rotate" => routing::rotate_signed_prekey(registry, me, iq)
            .map(|()| Vec::new())
            .map_err(|_| 400),
        "count" => Ok(vec![
            NodeBuilder::new("count")
                .attr("value", routing::prekey_count(registry, me).to_string())
                .build(),
        ]),
        "digest" if routing::has_prekeys(registry, me) => Ok(Vec::new()),
        "digest" => Err(404),
        "key" if refuse_key_fetch(registry, &me.phone) => Err(500),
        "key" => Ok(vec![routing::prekey_bundles(
            registry,
            iq.get_optional_child("key").unwrap_or(iq),
        )]),
        _ if iq.get_optional_child("registration").is_some() => routing::store_prekeys(registry, me, iq)
            .map(|()| Vec::new())
            .map_err(|_| 400),
        _ => Ok(Vec::new()),
    }
}

/// Whether a prekey fetch by `phone` is to fail (an injected fault), counting it if so.
fn refuse_key_fetch(registry: &mut crate::state::Registry, phone: &str) -> bool {
    let Some(left) = registry.key_fetch_refusals.get_mut(phone).filter(|left| **left > 0) else {
        return false;
    };
    *left -= 1;
    registry.refused_key_fetches += 1;
    true
}

fn error(id: &str, code: u16) -> Node {
    let text = match code {
        403 => "forbidden",
        404 => "item-not-found",
        500 => "internal-server-error",
        _ => "bad-request",
    };
    let error = NodeBuilder::new("error")
        .attr("code", code.to_string())
        .attr("text", text)
        .build();
    NodeBuilder::new("iq")
        .attr("from", SERVER)
        .attr("id", id.to_owned())
        .attr("type", "error")
        .children([error])
        .build()
}

fn result(id: &str, children: Vec<Node>) -> Node {
    let builder = NodeBuilder::new("iq")
        .attr("from", SERVER)
        .attr("id", id.to_owned())
        .attr("type", "result");
    if children.is_empty() {
        builder.build()
    } else {
        builder.children(children).build()
    }
}

fn decode(frame: &[u8]) -> Result<Node, WireError> {
    let body = wacore_binary::util::unpack(frame).map_err(|e| WireError::Protocol(e.to_string()))?;
    let node = wacore_binary::marshal::unmarshal_ref(&body).map_err(|e| WireError::Protocol(e.to_string()))?;
    Ok(node.to_owned())
}

/// `bytes` random bytes in hex (stanza ids, QR refs).
pub fn random_hex(bytes: usize) -> String {
    use rand::Rng;
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// Unix time in seconds (stanza timestamps).
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
