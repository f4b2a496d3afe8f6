//! Status posts (stories): a `<message to="status@broadcast">` names its audience in
//! `<participants>` (LID-addressed: device entries carrying a sender-key distribution, bare user
//! entries for those who already have the key). Every device of every listed account but the
//! sender's own gets one stanza from `status@broadcast` with the poster as `participant`, its
//! distribution (if any) and the shared `skmsg`. Accounts not listed get nothing; an account that
//! blocked the poster gets nothing either.

use std::collections::{BTreeMap, BTreeSet};

use wacore_binary::builder::NodeBuilder;
use wacore_binary::jid::Jid;
use wacore_binary::node::Node;

use crate::conn::now_secs;
use crate::routing::{Me, attr, blocks};
use crate::state::Registry;

/// Routes a status post (or a status revoke) from `me` to the audience it lists; returns the
/// server ack.
pub fn route_message(registry: &mut Registry, me: &Me, message: &Node, to: &Jid) -> Option<Node> {
    let id = attr(message, "id")?;
    let now = now_secs().to_string();
    let sender = registry.accounts.get(&me.phone)?;
    let push_name = sender.push_name(Some(me.device));
    let lid = format!("{}@lid", sender.lid);
    let mut audience = BTreeSet::new();
    let mut per_device: BTreeMap<(String, u32), Node> = BTreeMap::new();
    for entry in message
        .get_optional_child("participants")
        .into_iter()
        .flat_map(|p| p.get_children_by_tag("to"))
    {
        let Some(jid) = entry.attrs().optional_jid("jid") else {
            continue;
        };
        let Some(account) = registry.resolve(&jid) else {
            continue;
        };
        audience.insert(account.phone.clone());
        if let Some(enc) = entry.get_optional_child("enc") {
            per_device.insert((account.phone.clone(), u32::from(jid.device)), enc.clone());
        }
    }
    let shared: Vec<Node> = message.get_children_by_tag("enc").cloned().collect();
    for phone in audience {
        if registry.accounts.get(&phone).is_some_and(|a| blocks(a, &me.phone)) {
            continue;
        }
        for device in registry.device_ids(&phone) {
            if phone == me.phone && device == me.device {
                continue;
            }
            let mut encs: Vec<Node> = per_device.remove(&(phone.clone(), device)).into_iter().collect();
            encs.extend(shared.iter().cloned());
            if encs.is_empty() {
                continue;
            }
            let node = NodeBuilder::new("message")
                .attr("from", to.to_string())
                .attr("participant", format!("{}:{}@s.whatsapp.net", me.phone, me.device))
                .attr("participant_lid", lid.clone())
                .attr("id", id.clone())
                .attr("t", now.clone())
                .attr("type", attr(message, "type").unwrap_or_else(|| "text".into()))
                .attr("notify", push_name.clone())
                .children(encs)
                .build();
            registry.deliver(&phone, device, node, true);
        }
    }
    Some(
        NodeBuilder::new("ack")
            .attr("class", "message")
            .attr("id", id)
            .attr("from", to.to_string())
            .attr("t", now)
            .build(),
    )
}
