//! Profiles and privacy with real state: push names (from `<presence name>`), the about text
//! (`status` IQ, served in usync), profile and group pictures (`w:profile:picture`), and the
//! privacy settings (`privacy` IQ), of which `readreceipts` is enforced when receipts are routed.

use std::collections::BTreeMap;

use wacore_binary::builder::NodeBuilder;
use wacore_binary::jid::JidExt as _;
use wacore_binary::node::{Node, NodeContent};

use crate::conn::now_secs;
use crate::routing::{Me, attr};
use crate::state::Registry;

/// The privacy categories a new account starts with, and their values.
const PRIVACY_DEFAULTS: &[(&str, &str)] = &[
    ("last", "all"),
    ("online", "all"),
    ("profile", "all"),
    ("status", "all"),
    ("readreceipts", "all"),
    ("groupadd", "all"),
    ("calladd", "all"),
];

/// What an account shows others.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// The push name it last announced.
    pub push_name: Option<String>,
    /// The about text and when it was set (unix seconds).
    pub about: Option<(String, u64)>,
    /// The profile picture's id.
    pub picture: Option<u64>,
    /// Privacy settings that differ from [`PRIVACY_DEFAULTS`].
    pub privacy: BTreeMap<String, String>,
}

impl Profile {
    /// Whether the account sends read receipts (privacy `readreceipts` is not `none`).
    pub fn sends_read_receipts(&self) -> bool {
        self.privacy.get("readreceipts").map(String::as_str) != Some("none")
    }
}

/// A stored picture (profile or group), served by the media host.
#[derive(Debug, Clone)]
pub struct Picture {
    /// The JPEG bytes as uploaded.
    pub bytes: Vec<u8>,
}

/// `<presence name="…">`: the device's account announces a new push name.
pub fn set_push_name(registry: &mut Registry, me: &Me, name: String) {
    if let Some(account) = registry.accounts.get_mut(&me.phone) {
        account.profile.push_name = Some(name);
    }
}

/// `status` IQ: `<status>text</status>` sets the about text.
pub fn set_about(registry: &mut Registry, me: &Me, iq: &Node) -> Result<Vec<Node>, u16> {
    let text = iq
        .get_optional_child("status")
        .and_then(Node::content_as_string)
        .map(|s| s.to_string())
        .ok_or(400u16)?;
    let account = registry.accounts.get_mut(&me.phone).ok_or(404u16)?;
    account.profile.about = Some((text, now_secs()));
    Ok(Vec::new())
}

/// `privacy` IQ: `get` lists every category; `set` changes the listed ones.
pub fn privacy(registry: &mut Registry, me: &Me, iq: &Node) -> Result<Vec<Node>, u16> {
    let account = registry.accounts.get_mut(&me.phone).ok_or(404u16)?;
    if attr(iq, "type").as_deref() == Some("set") {
        for category in iq
            .get_optional_child("privacy")
            .into_iter()
            .flat_map(|p| p.get_children_by_tag("category"))
        {
            let (Some(name), Some(value)) = (attr(category, "name"), attr(category, "value")) else {
                return Err(400);
            };
            account.profile.privacy.insert(name, value);
        }
    }
    let mut settings: BTreeMap<String, String> = PRIVACY_DEFAULTS
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    settings.extend(account.profile.privacy.clone());
    let categories = settings.into_iter().map(|(name, value)| {
        NodeBuilder::new("category")
            .attr("name", name)
            .attr("value", value)
            .build()
    });
    Ok(vec![NodeBuilder::new("privacy").children(categories).build()])
}

/// `w:profile:picture`: `set` stores a picture for the caller or for a group it administers
/// (`target`), an empty `set` removes it, `get` answers with its id and URL on the media host.
pub fn picture(registry: &mut Registry, me: &Me, iq: &Node, media_host: &str) -> Result<Vec<Node>, u16> {
    let target = iq.attrs().optional_jid("target");
    let group = target.as_ref().filter(|t| t.is_group());
    if attr(iq, "type").as_deref() == Some("set") {
        return set_picture(registry, me, group.map(|g| g.user.to_string()), iq);
    }
    let id = match (group, target.as_ref()) {
        (Some(group), _) => registry.groups.get(group.user.as_str()).and_then(|g| g.picture),
        (None, Some(target)) => registry.resolve(target).and_then(|a| a.profile.picture),
        (None, None) => registry.accounts.get(&me.phone).and_then(|a| a.profile.picture),
    };
    let Some(id) = id else {
        let missing = NodeBuilder::new("error")
            .attr("code", "404")
            .attr("text", "item-not-found")
            .build();
        return Ok(vec![NodeBuilder::new("picture").children([missing]).build()]);
    };
    let direct_path = format!("/pp/{id}.jpg");
    Ok(vec![
        NodeBuilder::new("picture")
            .attr("id", id.to_string())
            .attr(
                "type",
                attr(iq.get_optional_child("picture").unwrap_or(iq), "type").unwrap_or_else(|| "image".into()),
            )
            .attr("url", format!("https://{media_host}{direct_path}"))
            .attr("direct_path", direct_path)
            .build(),
    ])
}

/// Stores (or, with no `<picture>` bytes, removes) the caller's picture or, for `group`, the
/// group's, which only its admins may change; the replaced picture is dropped.
fn set_picture(registry: &mut Registry, me: &Me, group: Option<String>, iq: &Node) -> Result<Vec<Node>, u16> {
    let previous = match &group {
        Some(id) => {
            let stored = registry.groups.get(id).ok_or(404u16)?;
            if !stored.is_admin(&me.phone) {
                return Err(403);
            }
            stored.picture
        }
        None => registry.accounts.get(&me.phone).ok_or(404u16)?.profile.picture,
    };
    let bytes = iq.get_optional_child("picture").and_then(|p| match &p.content {
        Some(NodeContent::Bytes(bytes)) => Some(bytes.clone()),
        _ => None,
    });
    let id = bytes.map(|bytes| {
        registry.next_picture += 1;
        registry.pictures.insert(registry.next_picture, Picture { bytes });
        registry.next_picture
    });
    if let Some(previous) = previous {
        registry.pictures.remove(&previous);
    }
    match &group {
        Some(group_id) => {
            if let Some(stored) = registry.groups.get_mut(group_id) {
                stored.picture = id;
            }
            crate::groups::picture_changed(registry, me, group_id, id);
        }
        None => {
            if let Some(account) = registry.accounts.get_mut(&me.phone) {
                account.profile.picture = id;
            }
        }
    }
    Ok(id
        .map(|id| vec![NodeBuilder::new("picture").attr("id", id.to_string()).build()])
        .unwrap_or_default())
}
