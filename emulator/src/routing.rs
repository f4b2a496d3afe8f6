//! Routing with real state: prekey uploads and bundles (each one-time key handed out once),
//! device lists (usync), message fan-out to every recipient device, and receipts relayed back.

use crate::conn::now_secs;
use buffa::Message as _;
use wacore::iq::prekeys::{OneTimePreKeyNode, PreKeyBundleUserNode, SignedPreKeyNode};
use wacore::protocol::ProtocolNode;
use wacore_binary::builder::NodeBuilder;
use wacore_binary::jid::{Jid, JidExt as _};
use wacore_binary::node::{Node, NodeContent};
use waproto::whatsapp as wa;

use crate::state::{Account, KeyBundle, Registry};

/// The device a connection is logged in as.
#[derive(Debug, Clone)]
pub struct Me {
    /// Phone number.
    pub phone: String,
    /// Device id.
    pub device: u32,
}

/// Receipt types that stay between a device and the server, never relayed to the peer.
const LOCAL_RECEIPTS: &[&str] = &["sender", "peer_msg", "hist_sync", "server-error", "read-self"];

/// The bytes content of `node`'s child `tag`.
pub fn child_bytes<'a>(node: &'a Node, tag: &str) -> Option<&'a [u8]> {
    match &node.get_optional_child(tag)?.content {
        Some(NodeContent::Bytes(bytes)) => Some(bytes),
        _ => None,
    }
}

/// The attribute `key` of `node` as a string.
pub fn attr(node: &Node, key: &str) -> Option<String> {
    node.attrs.get(key).map(|v| v.as_str().into_owned())
}

/// `encrypt set` with a key upload: registration, identity and signed prekey replace the old ones;
/// one-time keys join the pool (the pool is reset when the identity changes).
pub fn store_prekeys(registry: &mut Registry, me: &Me, iq: &Node) -> Result<(), String> {
    let registration: [u8; 4] = child_bytes(iq, "registration")
        .and_then(|b| b.try_into().ok())
        .ok_or("registration")?;
    let identity: [u8; 32] = child_bytes(iq, "identity")
        .and_then(|b| b.try_into().ok())
        .ok_or("identity")?;
    let signed =
        SignedPreKeyNode::try_from_node(iq.get_optional_child("skey").ok_or("skey")?).map_err(|e| e.to_string())?;
    let device = device_mut(registry, me).ok_or("unknown device")?;
    let mut one_time = match device.keys.take() {
        Some(old) if old.identity == identity => old.one_time,
        _ => Default::default(),
    };
    for key in iq
        .get_optional_child("list")
        .into_iter()
        .flat_map(|l| l.get_children_by_tag("key"))
    {
        let key = OneTimePreKeyNode::try_from_node(key).map_err(|e| e.to_string())?;
        let public: [u8; 32] = key
            .public_bytes
            .as_slice()
            .try_into()
            .map_err(|_| "one-time key size")?;
        one_time.insert(key.id, public);
    }
    device.keys = Some(KeyBundle {
        registration_id: u32::from_be_bytes(registration),
        identity,
        signed,
        one_time,
    });
    Ok(())
}

/// `encrypt set <rotate>`: a new signed prekey.
pub fn rotate_signed_prekey(registry: &mut Registry, me: &Me, iq: &Node) -> Result<(), String> {
    let skey = iq.get_optional_child_by_tag(&["rotate", "skey"]).ok_or("skey")?;
    let signed = SignedPreKeyNode::try_from_node(skey).map_err(|e| e.to_string())?;
    let keys = device_mut(registry, me)
        .and_then(|d| d.keys.as_mut())
        .ok_or("no keys uploaded")?;
    keys.signed = signed;
    Ok(())
}

/// Unused one-time keys of the device (`encrypt get <count/>`).
pub fn prekey_count(registry: &Registry, me: &Me) -> usize {
    uploaded_keys(registry, me).map_or(0, |k| k.one_time.len())
}

/// Whether the device has uploaded keys (a digest query without them answers 404, which makes the
/// client upload again).
pub fn has_prekeys(registry: &Registry, me: &Me) -> bool {
    uploaded_keys(registry, me).is_some()
}

fn uploaded_keys<'a>(registry: &'a Registry, me: &Me) -> Option<&'a KeyBundle> {
    registry.accounts.get(&me.phone)?.devices.get(&me.device)?.keys.as_ref()
}

/// `encrypt get <key>`: one bundle per requested device, echoing the requested JID; each
/// one-time key is consumed; unknown devices get a per-user 406.
pub fn prekey_bundles(registry: &mut Registry, request: &Node) -> Node {
    let mut users = Vec::new();
    for user in request.get_children_by_tag("user") {
        let Some(jid) = user.attrs().optional_jid("jid") else {
            continue;
        };
        let phone = registry.resolve(&jid).map(|a| a.phone.clone());
        let device = phone.and_then(|phone| {
            registry
                .accounts
                .get_mut(&phone)
                .and_then(|a| a.devices.get_mut(&u32::from(jid.device)))
        });
        let Some(device) = device else {
            let error = NodeBuilder::new("error")
                .attr("code", "406")
                .attr("text", "not-acceptable")
                .build();
            users.push(NodeBuilder::new("user").attr("jid", jid).children([error]).build());
            continue;
        };
        let signed_identity = device.signed_identity.clone();
        let Some(keys) = device.keys.as_mut() else { continue };
        let one_time = keys
            .one_time
            .pop_first()
            .map(|(id, key)| OneTimePreKeyNode::new(id, key.to_vec()));
        users.push(
            PreKeyBundleUserNode {
                jid,
                registration_id: keys.registration_id,
                identity_key: keys.identity.to_vec(),
                signed_pre_key: keys.signed.clone(),
                one_time_pre_key: one_time,
                device_identity: signed_identity,
            }
            .into_node(),
        );
    }
    NodeBuilder::new("list").children(users).build()
}

/// `usync`: for each listed user, one child per requested protocol (devices, lid, contact, status).
pub fn usync(registry: &Registry, request: &Node) -> Node {
    let usync = request.get_optional_child("usync");
    let protocols: Vec<String> = usync
        .and_then(|u| u.get_optional_child("query"))
        .and_then(Node::children)
        .map(|c| c.iter().map(|p| p.tag.to_string()).collect())
        .unwrap_or_default();
    let users = usync
        .and_then(|u| u.get_optional_child("list"))
        .into_iter()
        .flat_map(|l| l.get_children_by_tag("user"))
        .filter_map(|user| usync_user(registry, user, &protocols))
        .collect::<Vec<_>>();
    NodeBuilder::new("usync")
        .children([NodeBuilder::new("list").children(users).build()])
        .build()
}

fn usync_user(registry: &Registry, user: &Node, protocols: &[String]) -> Option<Node> {
    let jid = user.attrs().optional_jid("jid").or_else(|| {
        let phone = user.get_optional_child("contact")?.content_as_string()?;
        Some(Jid::pn(phone.trim_start_matches('+')))
    })?;
    let account = registry.resolve(&jid);
    let mut children = Vec::new();
    for protocol in protocols {
        match (protocol.as_str(), account) {
            ("devices", Some(account)) => children.push(device_list(account)),
            ("lid", Some(account)) => children.push(
                NodeBuilder::new("lid")
                    .attr("val", format!("{}@lid", account.lid))
                    .build(),
            ),
            ("contact", found) => {
                children.push(
                    NodeBuilder::new("contact")
                        .attr("type", if found.is_some() { "in" } else { "out" })
                        .build(),
                );
            }
            ("status", Some(account)) => children.push(match &account.profile.about {
                Some((text, t)) => NodeBuilder::new("status")
                    .attr("t", t.to_string())
                    .string_content(text.clone())
                    .build(),
                None => NodeBuilder::new("status").build(),
            }),
            ("picture", Some(account)) => {
                if let Some(id) = account.profile.picture {
                    children.push(NodeBuilder::new("picture").attr("id", id.to_string()).build());
                }
            }
            _ => {}
        }
    }
    let mut builder = NodeBuilder::new("user").attr("jid", jid.to_non_ad());
    if let (true, Some(account)) = (jid.is_lid(), account) {
        builder = builder.attr("pn_jid", format!("{}@s.whatsapp.net", account.phone));
    }
    Some(builder.children(children).build())
}

/// `<devices>`: the companions that uploaded keys, with a key-index list the client accepts.
fn device_list(account: &Account) -> Node {
    let listed: Vec<u32> = account
        .devices
        .values()
        .filter(|d| d.keys.is_some())
        .map(|d| d.id)
        .collect();
    let timestamp = now_secs();
    let details = wa::ADVKeyIndexList {
        raw_id: Some(account.raw_id),
        timestamp: Some(timestamp),
        current_index: listed.iter().copied().max(),
        valid_indexes: listed.clone(),
        ..Default::default()
    }
    .encode_to_vec();
    let signed = wa::ADVSignedKeyIndexList {
        details: Some(details),
        ..Default::default()
    }
    .encode_to_vec();
    let hash = format!("2:{}", listed.iter().map(u32::to_string).collect::<Vec<_>>().join("."));
    let devices = listed.iter().map(|id| {
        NodeBuilder::new("device")
            .attr("id", id.to_string())
            .attr("key-index", id.to_string())
            .build()
    });
    NodeBuilder::new("devices")
        .children([
            NodeBuilder::new("device-list")
                .attr("hash", hash)
                .children(devices)
                .build(),
            NodeBuilder::new("key-index-list")
                .attr("ts", timestamp.to_string())
                .bytes(signed)
                .build(),
        ])
        .build()
}

/// A message from `me`: each `<to>` device (or the device of a retry resend) gets its own
/// `<message>` with the `<enc>` addressed to it. Returns the ack for the sender.
pub fn route_message(registry: &mut Registry, me: &Me, message: &Node) -> Option<Node> {
    let id = attr(message, "id")?;
    let to = message.attrs().optional_jid("to")?;
    if to.is_group() {
        return crate::groups::route_message(registry, me, message, &to);
    }
    if to.is_status_broadcast() {
        return crate::status::route_message(registry, me, message, &to);
    }
    if to.is_newsletter() {
        return crate::channels::route_message(registry, me, message, &to);
    }
    let kind = attr(message, "type").unwrap_or_else(|| "text".into());
    let now = now_secs().to_string();
    let sender = registry.accounts.get(&me.phone)?;
    let push_name = sender.push_name(Some(me.device));
    let (from, alternate) = if to.is_lid() {
        (
            format!("{}:{}@lid", sender.lid, me.device),
            ("sender_pn", format!("{}@s.whatsapp.net", sender.phone)),
        )
    } else {
        (
            format!("{}:{}@s.whatsapp.net", sender.phone, me.device),
            ("sender_lid", format!("{}@lid", sender.lid)),
        )
    };
    let mut targets: Vec<(Jid, Node)> = message
        .get_optional_child("participants")
        .into_iter()
        .flat_map(|p| p.get_children_by_tag("to"))
        .filter_map(|t| Some((t.attrs().optional_jid("jid")?, t.get_optional_child("enc")?.clone())))
        .collect();
    targets.extend(message.get_children_by_tag("enc").map(|enc| (to.clone(), enc.clone())));
    for (target, enc) in targets {
        let Some(account) = registry.resolve(&target) else {
            continue;
        };
        if blocks(account, &me.phone) {
            continue;
        }
        let (phone, device) = (account.phone.clone(), u32::from(target.device));
        if phone == me.phone && device == me.device {
            continue;
        }
        let mut builder = NodeBuilder::new("message")
            .attr("from", from.clone())
            .attr("id", id.clone())
            .attr("t", now.clone())
            .attr("type", kind.clone());
        if phone == me.phone {
            builder = builder.attr("recipient", to.to_non_ad());
        } else {
            builder = builder
                .attr("notify", push_name.clone())
                .attr(alternate.0, alternate.1.clone());
        }
        if let Some(edit) = attr(message, "edit") {
            builder = builder.attr("edit", edit);
        }
        registry.deliver(&phone, device, builder.children([enc]).build(), true);
    }
    Some(
        NodeBuilder::new("ack")
            .attr("class", "message")
            .attr("id", id)
            .attr("from", to)
            .attr("t", now)
            .build(),
    )
}

/// A receipt from `me`: it acknowledges the messages it names, and is relayed to the device it
/// is addressed to (or to every device of the account for a bare JID). `inactive` is relayed as
/// a plain delivery receipt.
pub fn route_receipt(registry: &mut Registry, me: &Me, receipt: &Node) {
    let Some(id) = attr(receipt, "id") else { return };
    let mut ids = vec![id.clone()];
    ids.extend(
        receipt
            .get_optional_child("list")
            .into_iter()
            .flat_map(|l| l.get_children_by_tag("item"))
            .filter_map(|item| attr(item, "id")),
    );
    registry.acknowledge(&me.phone, me.device, &ids);
    let kind = attr(receipt, "type").filter(|t| t != "inactive" && t != "delivery");
    if kind.as_deref().is_some_and(|t| LOCAL_RECEIPTS.contains(&t)) {
        return;
    }
    let hides_reads = registry
        .accounts
        .get(&me.phone)
        .is_some_and(|a| !a.profile.sends_read_receipts());
    if hides_reads && kind.as_deref() == Some("read") {
        // Read receipts are off for this account: peers never learn what it read.
        return;
    }
    let Some(to) = receipt.attrs().optional_jid("to") else {
        return;
    };
    if to.is_group() {
        crate::groups::route_receipt(registry, me, receipt, &to, kind.as_deref());
        return;
    }
    let Some(peer) = registry.resolve(&to) else { return };
    let Some(me_account) = registry.accounts.get(&me.phone) else {
        return;
    };
    let from = if to.is_lid() {
        format!("{}:{}@lid", me_account.lid, me.device)
    } else {
        format!("{}:{}@s.whatsapp.net", me_account.phone, me.device)
    };
    let targets = peer.devices_for(&to);
    let phone = peer.phone.clone();
    for device in targets {
        if phone == me.phone && device == me.device {
            continue;
        }
        let mut builder = NodeBuilder::new("receipt")
            .attr("from", from.clone())
            .attr("id", id.clone())
            .attr("t", now_secs().to_string());
        if let Some(kind) = &kind {
            builder = builder.attr("type", kind.clone());
        }
        let node = match receipt.children() {
            Some(children) => builder.children(children.to_vec()).build(),
            None => builder.build(),
        };
        registry.deliver(&phone, device, node, false);
    }
}

/// The server's acknowledgement of a receipt: `<ack class="receipt">` with the receipt's id,
/// its `to` as `from`, and its type.
pub fn receipt_ack(receipt: &Node) -> Node {
    let mut builder = NodeBuilder::new("ack")
        .attr("class", "receipt")
        .attr("id", attr(receipt, "id").unwrap_or_default())
        .attr(
            "from",
            attr(receipt, "to").unwrap_or_else(|| crate::conn::SERVER.to_owned()),
        );
    if let Some(kind) = attr(receipt, "type") {
        builder = builder.attr("type", kind);
    }
    builder.build()
}

/// `<presence>` from a device: `available`/`unavailable` is announced to the account's
/// subscribers; `subscribe` records the subscription and answers with the current presence.
pub fn route_presence(registry: &mut Registry, me: &Me, presence: &Node) {
    if let Some(name) = attr(presence, "name") {
        crate::profile::set_push_name(registry, me, name);
    }
    let kind = attr(presence, "type").unwrap_or_else(|| "available".into());
    match kind.as_str() {
        "available" | "unavailable" => {
            let available = kind == "available";
            registry.presence.insert(me.phone.clone(), (available, now_secs()));
            let node = presence_node(&me.phone, available, now_secs());
            let subscribers: Vec<(String, u32)> = registry
                .subscribers
                .get(&me.phone)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default();
            for (phone, device) in subscribers {
                registry.push_live(&phone, device, node.clone());
            }
        }
        "subscribe" => {
            let Some(target) = presence.attrs().optional_jid("to") else {
                return;
            };
            let Some(account) = registry.resolve(&target) else {
                return;
            };
            let phone = account.phone.clone();
            registry
                .subscribers
                .entry(phone.clone())
                .or_default()
                .insert((me.phone.clone(), me.device));
            let (available, since) = registry.presence.get(&phone).copied().unwrap_or((false, 0));
            registry.push_live(&me.phone, me.device, presence_node(&phone, available, since));
        }
        "unsubscribe" => {
            let Some(target) = presence.attrs().optional_jid("to") else {
                return;
            };
            let phone = registry.resolve(&target).map(|a| a.phone.clone());
            if let Some(subscribers) = phone.and_then(|p| registry.subscribers.get_mut(&p)) {
                subscribers.remove(&(me.phone.clone(), me.device));
            }
        }
        _ => {}
    }
}

fn presence_node(phone: &str, available: bool, since: u64) -> Node {
    let builder = NodeBuilder::new("presence").attr("from", format!("{phone}@s.whatsapp.net"));
    if available {
        builder.attr("type", "available").build()
    } else {
        let builder = builder.attr("type", "unavailable");
        if since > 0 {
            builder.attr("last", since.to_string()).build()
        } else {
            builder.build()
        }
    }
}

/// `<chatstate to>` (typing, recording, paused) goes live to every device of the recipient.
pub fn route_chatstate(registry: &mut Registry, me: &Me, chatstate: &Node) {
    let Some(to) = chatstate.attrs().optional_jid("to") else {
        return;
    };
    let Some(account) = registry.resolve(&to) else { return };
    let devices = account.device_ids();
    let phone = account.phone.clone();
    let node = NodeBuilder::new("chatstate")
        .attr("from", format!("{}@s.whatsapp.net", me.phone))
        .children(chatstate.children().map(<[Node]>::to_vec).unwrap_or_default())
        .build();
    for device in devices {
        registry.push_live(&phone, device, node.clone());
    }
}

/// `blocklist` IQs: `get` lists the blocked JIDs; `set` with `<item action jid>` blocks or unblocks.
pub fn blocklist(registry: &mut Registry, me: &Me, iq: &Node) -> Vec<Node> {
    if attr(iq, "type").as_deref() == Some("set") {
        for item in iq.get_children_by_tag("item") {
            let (Some(jid), Some(action)) = (item.attrs().optional_jid("jid"), attr(item, "action")) else {
                continue;
            };
            let blocked_phone = registry
                .resolve(&jid)
                .map(|a| a.phone.clone())
                .unwrap_or_else(|| jid.user.to_string());
            let Some(account) = registry.accounts.get_mut(&me.phone) else {
                return Vec::new();
            };
            let key = jid.to_non_ad().to_string();
            if action == "block" {
                account.blocked.insert(key, (blocked_phone, now_secs()));
            } else {
                account
                    .blocked
                    .retain(|k, (phone, _)| *k != key && *phone != blocked_phone);
            }
        }
        return Vec::new();
    }
    let items = registry.accounts.get(&me.phone).map(|a| {
        a.blocked
            .iter()
            .map(|(jid, (_, t))| {
                NodeBuilder::new("item")
                    .attr("jid", jid.clone())
                    .attr("t", t.to_string())
                    .build()
            })
            .collect::<Vec<_>>()
    });
    vec![NodeBuilder::new("list").children(items.unwrap_or_default()).build()]
}

/// Whether `account` blocked the account `phone`.
pub fn blocks(account: &Account, phone: &str) -> bool {
    account.blocked.values().any(|(blocked, _)| blocked == phone)
}

fn device_mut<'a>(registry: &'a mut Registry, me: &Me) -> Option<&'a mut crate::state::Device> {
    registry.accounts.get_mut(&me.phone)?.devices.get_mut(&me.device)
}
