//! App-state sync as the phone serves it. A companion's first sync of `critical_block` gets the
//! collection's genesis patch, which carries the account's push name (`setting_pushName`),
//! sealed with the app-state key the phone shared; every other collection, and every later
//! sync, comes back with nothing new. Without the push name a client treats each login as a
//! fresh pairing and waits for a key share before it reports `Connected`.

use std::sync::Arc;

use buffa::Message;
use wacore::appstate::hash::{HashState, generate_patch_mac};
use wacore::appstate::{encode_record, expand_app_state_keys, process_patch};
use wacore_binary::builder::NodeBuilder;
use wacore_binary::node::Node;
use waproto::whatsapp as wa;

use crate::routing::Me;
use crate::signal::AppStateKey;
use crate::state::Registry;

/// The collection that carries the push name.
const CRITICAL_BLOCK: &str = "critical_block";

/// Answers a `w:sync:app:state` IQ from `me` (`None` before login).
pub fn sync(registry: &Registry, me: Option<&Me>, request: &Node) -> Vec<Node> {
    let collections = request
        .get_optional_child("sync")
        .map(|sync| {
            sync.get_children_by_tag("collection")
                .filter_map(|requested| collection(registry, me, requested))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    vec![NodeBuilder::new("sync").children(collections).build()]
}

/// The answer for one requested collection: the genesis patch for a first sync of
/// `critical_block`, nothing new otherwise.
fn collection(registry: &Registry, me: Option<&Me>, requested: &Node) -> Option<Node> {
    let mut attrs = requested.attrs();
    let name = attrs.optional_string("name")?.into_owned();
    let first = attrs.optional_string("return_snapshot").is_some_and(|v| v == "true");
    let genesis = match me {
        Some(me) if first && name == CRITICAL_BLOCK => push_name_patch(registry, me),
        _ => None,
    };
    let answer = NodeBuilder::new("collection").attr("name", name);
    Some(match genesis {
        Some(patch) => answer
            .attr("version", "1")
            .children([NodeBuilder::new("patches")
                .children([NodeBuilder::new("patch").bytes(patch).build()])
                .build()])
            .build(),
        None => answer.attr("version", "0").build(),
    })
}

/// The encoded genesis patch of `critical_block` for `me`'s account: its push name, or the
/// name the companion announced, or one made from the number.
fn push_name_patch(registry: &Registry, me: &Me) -> Option<Vec<u8>> {
    let account = registry.accounts.get(&me.phone)?;
    let name = account
        .profile
        .push_name
        .clone()
        .or_else(|| {
            account
                .devices
                .get(&me.device)
                .and_then(|d| d.push_name.clone())
                .filter(|n| !n.is_empty())
        })
        .unwrap_or_else(|| format!("User {}", me.phone));
    genesis_patch(&account.app_state_key, &name)
}

/// One `SET setting_pushName` mutation as patch version 1, with the patch and snapshot MACs a
/// client checks (the snapshot MAC over the LT-hash the patch yields from an empty state).
fn genesis_patch(key: &AppStateKey, name: &str) -> Option<Vec<u8>> {
    let keys = Arc::new(expand_app_state_keys(&key.data));
    let value = wa::SyncActionValue {
        push_name_setting: buffa::MessageField::some(wa::sync_action_value::PushNameSetting {
            name: Some(name.to_owned()),
        }),
        timestamp: Some(wacore::time::now_millis()),
        ..Default::default()
    };
    let index = serde_json::to_vec(&["setting_pushName"]).ok()?;
    let iv: [u8; 16] = rand::random();
    let (mutation, _) = encode_record(
        wa::syncd_mutation::SyncdOperation::SET,
        &index,
        &value,
        &keys,
        &key.id,
        &iv,
        1,
    );
    let mut patch = wa::SyncdPatch {
        version: buffa::MessageField::some(wa::SyncdVersion { version: Some(1) }),
        mutations: vec![mutation],
        key_id: buffa::MessageField::some(wa::KeyId {
            id: Some(key.id.clone()),
        }),
        ..Default::default()
    };
    let mut state = HashState::default();
    process_patch(
        &patch,
        &mut state,
        |_| Ok(Arc::clone(&keys)),
        |_| Ok(None),
        false,
        CRITICAL_BLOCK,
    )
    .map_err(|error| tracing::warn!(%error, "genesis patch not built"))
    .ok()?;
    patch.snapshot_mac = Some(state.generate_snapshot_mac(CRITICAL_BLOCK, &keys.snapshot_mac));
    patch.patch_mac = Some(generate_patch_mac(&patch, CRITICAL_BLOCK, &keys.patch_mac, 1));
    Some(patch.encode_to_vec())
}
