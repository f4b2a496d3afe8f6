//! Channels (newsletters) with real state: the `w:mex` GraphQL operations whatsapp-rust uses to
//! create, read, follow, mute, change and delete channels (dispatched on the operation's doc id,
//! as WhatsApp's server does), posts by a channel's owner fanned out in plaintext to every
//! follower device with a server id, and a `NotificationNewsletterUpdate` mex notification to the
//! followers when the owner changes the channel.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Value, json};
use wacore::iq::mex_operations::{
    create_newsletter, delete_newsletter, fetch_all_newsletters_metadata, fetch_newsletter, join_newsletter,
    leave_newsletter, update_newsletter, update_newsletter_user_setting,
};
use wacore_binary::builder::NodeBuilder;
use wacore_binary::jid::Jid;
use wacore_binary::node::{Node, NodeContent};

use crate::conn::{now_secs, random_hex};
use crate::routing::{Me, attr};
use crate::state::Registry;

/// IQ error codes, as WhatsApp answers them.
const BAD_REQUEST: u16 = 400;
const FORBIDDEN: u16 = 403;
const NOT_FOUND: u16 = 404;

/// A channel.
#[derive(Debug, Clone)]
pub struct Channel {
    /// Its id (the user part of `<id>@newsletter`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its description (empty: none).
    pub description: String,
    /// The owner's phone number.
    pub owner: String,
    /// When it was created (unix seconds).
    pub created: u64,
    /// Its invite code (`https://whatsapp.com/channel/<code>`).
    pub invite: String,
    /// Followers by phone number, with whether each muted it.
    pub followers: BTreeMap<String, bool>,
    /// The last server id handed to a post.
    pub last_server_id: u64,
    /// Its picture (a JPEG), if it has one.
    pub picture: Option<Vec<u8>>,
}

impl Channel {
    fn jid(&self) -> String {
        format!("{}@newsletter", self.id)
    }

    /// The channel as `viewer` sees it, in the shape whatsapp-rust's metadata parser reads (counts
    /// and times are strings, as WhatsApp sends them).
    fn metadata(&self, viewer: &str) -> Value {
        let role = if self.owner == viewer {
            "owner"
        } else if self.followers.contains_key(viewer) {
            "subscriber"
        } else {
            "guest"
        };
        let muted = self.followers.get(viewer).copied().unwrap_or(false);
        json!({
            "id": self.jid(),
            "state": {"type": "active"},
            "thread_metadata": {
                "name": {"text": self.name},
                "description": {"text": self.description},
                "subscribers_count": self.followers.len().to_string(),
                "verification": "UNVERIFIED",
                "invite": self.invite,
                "creation_time": self.created.to_string(),
                "picture": self.picture.as_ref().map(|jpeg| json!({
                    "id": self.created.to_string(),
                    "type": "IMAGE",
                    "direct_path": format!("/v/t61.24694-24/channel-{}-{}.jpg", self.id, jpeg.len()),
                })),
            },
            "viewer_metadata": {"role": role, "mute": if muted { "on" } else { "off" }},
        })
    }
}

/// A `w:mex` IQ from `me`: the `<result>` of the newsletter operation its `query_id` names, or an
/// IQ error (404 for an unknown channel, 403 for a change only the owner may make).
pub fn mex(registry: &mut Registry, me: &Me, iq: &Node) -> Result<Vec<Node>, u16> {
    let query = iq.get_optional_child("query").ok_or(BAD_REQUEST)?;
    let doc = attr(query, "query_id").ok_or(BAD_REQUEST)?;
    let body: Value = match &query.content {
        Some(NodeContent::Bytes(bytes)) => serde_json::from_slice(bytes).map_err(|_| BAD_REQUEST)?,
        Some(NodeContent::String(text)) => serde_json::from_str(text).map_err(|_| BAD_REQUEST)?,
        _ => return Err(BAD_REQUEST),
    };
    let vars = &body["variables"];
    let data = match doc.as_str() {
        create_newsletter::DOC_ID => json!({"xwa2_newsletter_create": create(registry, me, vars)?}),
        fetch_newsletter::DOC_ID => {
            let key = vars["input"]["key"].as_str().ok_or(BAD_REQUEST)?;
            let found = match vars["input"]["type"].as_str() {
                Some("INVITE") => registry.channels.values().find(|c| c.invite == key),
                _ => registry.channels.get(channel_id(key)?),
            };
            json!({"xwa2_newsletter": found.map(|c| c.metadata(&me.phone))})
        }
        fetch_all_newsletters_metadata::DOC_ID => {
            let mine: Vec<Value> = registry
                .channels
                .values()
                .filter(|c| c.owner == me.phone || c.followers.contains_key(&me.phone))
                .map(|c| c.metadata(&me.phone))
                .collect();
            json!({"xwa2_newsletter_subscribed": mine})
        }
        join_newsletter::DOC_ID => {
            let channel = channel_mut(registry, &vars["newsletter_id"])?;
            if channel.owner != me.phone {
                channel.followers.entry(me.phone.clone()).or_insert(false);
            }
            json!({"xwa2_newsletter_join_v2": channel.metadata(&me.phone)})
        }
        leave_newsletter::DOC_ID => {
            let channel = channel_mut(registry, &vars["newsletter_id"])?;
            channel.followers.remove(&me.phone);
            json!({"xwa2_newsletter_leave_v2": {"id": channel.jid(), "state": {"type": "active"}}})
        }
        update_newsletter_user_setting::DOC_ID => {
            let input = &vars["input"];
            let channel = channel_mut(registry, &input["newsletter_id"])?;
            let muted = input["value"].as_str() == Some("ON");
            let follower = channel.followers.get_mut(&me.phone).ok_or(FORBIDDEN)?;
            *follower = muted;
            json!({"xwa2_newsletter_update_user_setting": {"id": channel.jid()}})
        }
        update_newsletter::DOC_ID => json!({"xwa2_newsletter_update": update(registry, me, vars)?}),
        delete_newsletter::DOC_ID => {
            let channel = channel_mut(registry, &vars["newsletter_id"])?;
            if channel.owner != me.phone {
                return Err(FORBIDDEN);
            }
            let (id, jid) = (channel.id.clone(), channel.jid());
            registry.channels.remove(&id);
            json!({"xwa2_newsletter_delete_v2": {"id": jid, "state": {"type": "deleted"}}})
        }
        _ => return Err(BAD_REQUEST),
    };
    let answer = serde_json::to_vec(&json!({"data": data})).map_err(|_| BAD_REQUEST)?;
    Ok(vec![NodeBuilder::new("result").bytes(answer).build()])
}

/// `create_newsletter`: a new channel owned by `me`.
fn create(registry: &mut Registry, me: &Me, vars: &Value) -> Result<Value, u16> {
    let input = &vars["input"];
    let name = input["name"]
        .as_str()
        .filter(|n| !n.trim().is_empty())
        .ok_or(BAD_REQUEST)?;
    let picture = match input["picture"].as_str() {
        Some(encoded) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| BAD_REQUEST)?,
        ),
        None => None,
    };
    registry.next_channel += 1;
    let channel = Channel {
        id: format!("1203632{:011}", registry.next_channel),
        name: name.to_owned(),
        description: input["description"].as_str().unwrap_or_default().to_owned(),
        owner: me.phone.clone(),
        created: now_secs(),
        invite: random_hex(11),
        followers: BTreeMap::new(),
        last_server_id: 100,
        picture,
    };
    let metadata = channel.metadata(&me.phone);
    registry.channels.insert(channel.id.clone(), channel);
    Ok(metadata)
}

/// `update_newsletter`: the owner renames or redescribes the channel; every follower device is
/// told with a `NotificationNewsletterUpdate`.
fn update(registry: &mut Registry, me: &Me, vars: &Value) -> Result<Value, u16> {
    let updates = &vars["updates"];
    let channel = channel_mut(registry, &vars["newsletter_id"])?;
    if channel.owner != me.phone {
        return Err(FORBIDDEN);
    }
    if let Some(name) = updates["name"].as_str() {
        if name.trim().is_empty() {
            return Err(BAD_REQUEST);
        }
        channel.name = name.to_owned();
    }
    if let Some(description) = updates["description"].as_str() {
        channel.description = description.to_owned();
    }
    let metadata = channel.metadata(&me.phone);
    let changed = json!({"data": {"xwa2_notify_newsletter_on_metadata_update": {
        "id": channel.jid(),
        "thread_metadata": metadata["thread_metadata"],
    }}});
    let followers: Vec<String> = channel.followers.keys().cloned().collect();
    let notification = NodeBuilder::new("notification")
        .attr("from", "s.whatsapp.net")
        .attr("type", "mex")
        .attr("id", random_hex(8))
        .attr("t", now_secs().to_string())
        .children([NodeBuilder::new("update")
            .attr("op_name", "NotificationNewsletterUpdate")
            .bytes(serde_json::to_vec(&changed).unwrap_or_default())
            .build()])
        .build();
    for phone in followers {
        for device in registry.device_ids(&phone) {
            registry.deliver(&phone, device, notification.clone(), false);
        }
    }
    Ok(metadata)
}

/// The channel id of a `<id>@newsletter` JID.
fn channel_id(jid: &str) -> Result<&str, u16> {
    jid.strip_suffix("@newsletter").ok_or(BAD_REQUEST)
}

fn channel_mut<'a>(registry: &'a mut Registry, jid: &Value) -> Result<&'a mut Channel, u16> {
    let id = channel_id(jid.as_str().ok_or(BAD_REQUEST)?)?;
    registry.channels.get_mut(id).ok_or(NOT_FOUND)
}

/// A post from `me` to channel `to`: only its owner may post. Every device of every follower
/// gets it in plaintext with the next server id; the ack carries that id (404 for an unknown
/// channel, 403 for anyone but the owner).
pub fn route_message(registry: &mut Registry, me: &Me, message: &Node, to: &Jid) -> Option<Node> {
    let id = attr(message, "id")?;
    let now = now_secs().to_string();
    let ack = NodeBuilder::new("ack")
        .attr("class", "message")
        .attr("id", id.clone())
        .attr("from", to.to_string())
        .attr("t", now.clone());
    let Some(channel) = registry.channels.get_mut(to.user.as_str()) else {
        return Some(ack.attr("error", NOT_FOUND.to_string()).build());
    };
    if channel.owner != me.phone {
        return Some(ack.attr("error", FORBIDDEN.to_string()).build());
    }
    channel.last_server_id += 1;
    let server_id = channel.last_server_id.to_string();
    let followers: Vec<String> = channel.followers.keys().cloned().collect();
    let node = NodeBuilder::new("message")
        .attr("from", to.to_string())
        .attr("id", id)
        .attr("t", now)
        .attr("type", attr(message, "type").unwrap_or_else(|| "text".into()))
        .attr("server_id", server_id.clone())
        .children(message.get_children_by_tag("plaintext").cloned())
        .build();
    for phone in followers {
        for device in registry.device_ids(&phone) {
            registry.deliver(&phone, device, node.clone(), true);
        }
    }
    Some(ack.attr("server_id", server_id).build())
}
