//! App-state sync (syncd) as WhatsApp's server and the account's phone keep it.
//!
//! Each account has five collections (`critical_block`, `critical_unblock_low`, `regular_high`,
//! `regular_low`, `regular`), each a log of encoded `SyncdPatch`es with the LT-hash, the value
//! MAC of every live index and the decoded entries the log adds up to. A collection begins, the
//! first time anything uses it, with a genesis patch at version 1 sealed with the app-state key
//! the phone shares: `critical_block`'s carries the account's push name (`setting_pushName`;
//! without it a client treats each login as a fresh pairing and waits for a key share before it
//! reports `Connected`), the others carry no mutation. Starting at 1 matters: a client that
//! syncs from version 0 asks for a snapshot, and mutations from a snapshot are not announced.
//!
//! A sync IQ fetches the patches after a version (at most [`PAGE`] per answer, with
//! `has_more_patches`) or uploads one patch built on a base version. An upload on a stale base
//! is refused with a 409 carrying the patches the companion missed, so it rebuilds; one that
//! fails MAC validation under the account's key is refused with a 400; an accepted one becomes
//! the next version and every other linked device hears of it in a `server_sync` notification.
//! The phone changes its own state through [`phone_changes`] (the admin API), which seals a patch
//! exactly as a companion's `chat_actions()` would and announces it to every linked device.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use buffa::Message;
use serde::{Deserialize, Serialize};
use wacore::appstate::decode::Mutation;
use wacore::appstate::hash::{HashState, generate_patch_mac};
use wacore::appstate::schemas::{self, IndexPart, Schema};
use wacore::appstate::{AppStateError, ExpandedAppStateKeys, encode_record, expand_app_state_keys, process_patch};
use wacore_binary::builder::NodeBuilder;
use wacore_binary::jid::{Jid, JidExt as _};
use wacore_binary::node::Node;
use waproto::whatsapp as wa;
use waproto::whatsapp::syncd_mutation::SyncdOperation;

use crate::conn::{SERVER, now_secs, random_hex};
use crate::routing::{Me, child_bytes};
use crate::signal::AppStateKey;
use crate::state::{Account, Registry};

/// The collections of an account, in the order its entries are listed.
const COLLECTIONS: [&str; 5] = [
    "critical_block",
    "critical_unblock_low",
    "regular_high",
    "regular_low",
    "regular",
];

/// The collection that carries the push name.
const CRITICAL_BLOCK: &str = "critical_block";

/// The most patches one answer carries; the client asks again while `has_more_patches` is set.
const PAGE: usize = 100;

/// An account's app state: its collections by name, each created with its genesis patch the
/// first time something syncs, uploads to or changes it.
#[derive(Debug, Default)]
pub struct AppState {
    collections: BTreeMap<&'static str, Collection>,
}

/// One collection: its patch log and the state the log adds up to.
#[derive(Debug, Default)]
struct Collection {
    /// Encoded patches, each with its `version` set; the one at position `i` is version `i + 1`.
    patches: Vec<Vec<u8>>,
    /// The LT-hash after the last patch; its `version` is the collection's.
    hash: HashState,
    /// The value MAC of every live index MAC (what a later patch overwrites or removes).
    macs: HashMap<Vec<u8>, Vec<u8>>,
    /// The live entries: index parts → decoded value.
    entries: BTreeMap<Vec<String>, wa::SyncActionValue>,
}

/// The account's app-state key with the MAC and cipher keys expanded from it.
struct Key {
    id: Vec<u8>,
    expanded: Arc<ExpandedAppStateKeys>,
}

impl From<&AppStateKey> for Key {
    fn from(key: &AppStateKey) -> Self {
        Self {
            id: key.id.clone(),
            expanded: Arc::new(expand_app_state_keys(&key.data)),
        }
    }
}

impl Key {
    /// The expanded key for `id`, which must be this key's (the only one the phone shared).
    fn lookup(&self, id: &[u8]) -> Result<Arc<ExpandedAppStateKeys>, AppStateError> {
        if id == self.id.as_slice() {
            Ok(Arc::clone(&self.expanded))
        } else {
            Err(AppStateError::KeyNotFound)
        }
    }

    /// A `SET` of `schema`'s action with the non-literal index parts `args`, as a client
    /// encodes it (index shape, action version and a random IV).
    fn set(
        &self,
        schema: &Schema,
        args: &[String],
        value: &wa::SyncActionValue,
    ) -> Result<wa::SyncdMutation, ChangeError> {
        let index = serde_json::to_vec(&index_parts(schema, args)?)
            .map_err(|e| ChangeError::Invalid(format!("index not encoded: {e}")))?;
        let version = i32::try_from(schema.version).unwrap_or(i32::MAX);
        let iv: [u8; 16] = rand::random();
        let (mutation, _) = encode_record(
            SyncdOperation::SET,
            &index,
            value,
            &self.expanded,
            &self.id,
            &iv,
            version,
        );
        Ok(mutation)
    }
}

/// `schema`'s index: its literal parts in place, the others taken from `args` in order (what
/// whatsapp-rust's `build_action_index` does).
fn index_parts<'a>(schema: &'a Schema, args: &'a [String]) -> Result<Vec<&'a str>, ChangeError> {
    let mut args = args.iter();
    let parts = schema
        .index_parts
        .iter()
        .map(|part| match part {
            IndexPart::Literal { value } => Some(*value),
            _ => args.next().map(String::as_str),
        })
        .collect::<Option<Vec<_>>>();
    match parts {
        Some(parts) if args.next().is_none() => Ok(parts),
        _ => Err(ChangeError::Invalid(format!("wrong index for {}", schema.name))),
    }
}

impl Collection {
    /// A new collection holding its genesis patch: the push name for `critical_block`, no
    /// mutation for the others.
    fn genesis(name: &str, key: &Key, push_name: &str) -> Result<Self, ChangeError> {
        let mut collection = Self::default();
        let mutations = if name == CRITICAL_BLOCK {
            let value = wa::SyncActionValue {
                push_name_setting: buffa::MessageField::some(wa::sync_action_value::PushNameSetting {
                    name: Some(push_name.to_owned()),
                }),
                timestamp: Some(wacore::time::now_millis()),
                ..Default::default()
            };
            vec![key.set(&schemas::SETTING_PUSH_NAME, &[], &value)?]
        } else {
            Vec::new()
        };
        let patch = collection.seal(name, mutations, key)?;
        collection.apply(name, patch, key)?;
        Ok(collection)
    }

    /// The collection's version (that of its last patch).
    fn version(&self) -> u64 {
        self.hash.version
    }

    /// `mutations` as the next patch, with the snapshot and patch MACs a client checks, built
    /// the way a client builds its own uploads.
    fn seal(&self, name: &str, mutations: Vec<wa::SyncdMutation>, key: &Key) -> Result<wa::SyncdPatch, AppStateError> {
        let mut hash = self.hash.clone();
        let (_, updated) = hash.update_hash(&mutations, |index_mac, _| Ok(self.macs.get(index_mac).cloned()));
        updated.map_err(|_| AppStateError::MismatchingLTHash)?;
        hash.version += 1;
        let mut patch = wa::SyncdPatch {
            snapshot_mac: Some(hash.generate_snapshot_mac(name, &key.expanded.snapshot_mac)),
            key_id: buffa::MessageField::some(wa::KeyId {
                id: Some(key.id.clone()),
            }),
            mutations,
            ..Default::default()
        };
        patch.patch_mac = Some(generate_patch_mac(&patch, name, &key.expanded.patch_mac, hash.version));
        Ok(patch)
    }

    /// Validates `patch` as the next version (patch MAC, snapshot MAC against this LT-hash,
    /// every value and index MAC) and appends it; nothing changes if it fails. Returns the new
    /// version.
    fn apply(&mut self, name: &str, mut patch: wa::SyncdPatch, key: &Key) -> Result<u64, AppStateError> {
        if patch.key_id.id.is_none() {
            return Err(AppStateError::MissingKeyId);
        }
        if patch.patch_mac.is_none() || patch.snapshot_mac.is_none() {
            return Err(AppStateError::PatchMACMismatch);
        }
        let version = self.version() + 1;
        patch.version = buffa::MessageField::some(wa::SyncdVersion { version: Some(version) });
        let mut hash = self.hash.clone();
        let processed = process_patch(
            &patch,
            &mut hash,
            |id| key.lookup(id),
            |index_mac| Ok(self.macs.get(index_mac).cloned()),
            true,
            name,
        )?;
        if hash.mac_mismatch_fatal {
            return Err(AppStateError::PatchSnapshotMACMismatch);
        }
        for index_mac in &processed.removed_index_macs {
            self.macs.remove(index_mac);
        }
        for mac in processed.added_macs {
            self.macs.insert(mac.index_mac, mac.value_mac);
        }
        self.record(processed.mutations);
        self.hash = hash;
        self.patches.push(patch.encode_to_vec());
        Ok(version)
    }

    /// Updates the live entries: removals first, then the values set (as the LT-hash counts a
    /// `SET` and a `REMOVE` of one index in one patch).
    fn record(&mut self, mutations: Vec<Mutation>) {
        let (removed, set): (Vec<_>, Vec<_>) = mutations
            .into_iter()
            .partition(|m| m.operation == SyncdOperation::REMOVE);
        for mutation in removed {
            self.entries.remove(&mutation.index);
        }
        for mutation in set {
            self.entries
                .insert(mutation.index, mutation.action_value.unwrap_or_default());
        }
    }

    /// `<collection>` with the patches after version `after` (one page of them) and the
    /// collection's current version; with `error`, the per-collection error it carries (a 409
    /// hands the client the patches it missed).
    fn page(&self, name: &str, after: u64, error: Option<u16>) -> Node {
        let start = usize::try_from(after).unwrap_or(usize::MAX).min(self.patches.len());
        let end = start.saturating_add(PAGE).min(self.patches.len());
        let mut answer = NodeBuilder::new("collection")
            .attr("name", name.to_owned())
            .attr("version", self.version().to_string());
        if end < self.patches.len() {
            answer = answer.attr("has_more_patches", "true");
        }
        let mut children = Vec::new();
        if let Some(code) = error {
            answer = answer.attr("type", "error");
            children.push(error_node(code));
        }
        if start < end {
            let patches = self.patches[start..end]
                .iter()
                .map(|patch| NodeBuilder::new("patch").bytes(patch.clone()).build());
            children.push(NodeBuilder::new("patches").children(patches).build());
        }
        if children.is_empty() {
            answer.build()
        } else {
            answer.children(children).build()
        }
    }
}

/// `name`'s collection in `account`, begun with its genesis patch if nothing used it yet (the
/// push name in it is the one current now, see [`genesis_push_name`]).
fn collection<'a>(
    account: &'a mut Account,
    name: &'static str,
    device: Option<u32>,
) -> Result<&'a mut Collection, ChangeError> {
    let push_name = genesis_push_name(account, device);
    let Account {
        app_state,
        app_state_key,
        ..
    } = account;
    match app_state.collections.entry(name) {
        std::collections::btree_map::Entry::Occupied(entry) => Ok(entry.into_mut()),
        std::collections::btree_map::Entry::Vacant(entry) => {
            Ok(entry.insert(Collection::genesis(name, &Key::from(&*app_state_key), &push_name)?))
        }
    }
}

/// The push name a new `critical_block` carries: the account's, or the one `device` registered
/// with, or one made from the number.
fn genesis_push_name(account: &Account, device: Option<u32>) -> String {
    account
        .profile
        .push_name
        .clone()
        .or_else(|| {
            device
                .and_then(|d| account.devices.get(&d))
                .and_then(|d| d.push_name.clone())
                .filter(|n| !n.is_empty())
        })
        .unwrap_or_else(|| format!("User {}", account.phone))
}

/// Answers a `w:sync:app:state` IQ from `me` (`None` before login): one `<collection>` per
/// requested one, each a fetch or an upload.
pub fn sync(registry: &mut Registry, me: Option<&Me>, request: &Node) -> Vec<Node> {
    let requested: Vec<Node> = request
        .get_optional_child("sync")
        .map(|sync| sync.get_children_by_tag("collection").cloned().collect())
        .unwrap_or_default();
    let answers: Vec<Node> = requested
        .iter()
        .filter_map(|collection| answer(registry, me, collection))
        .collect();
    vec![NodeBuilder::new("sync").children(answers).build()]
}

/// The answer for one requested `<collection>` (`None` if it has no name).
fn answer(registry: &mut Registry, me: Option<&Me>, requested: &Node) -> Option<Node> {
    let mut attrs = requested.attrs();
    let name = attrs.optional_string("name")?.into_owned();
    let version = attrs.optional_u64("version");
    let snapshot = attrs.optional_string("return_snapshot").is_some_and(|v| v == "true");
    let Some(known) = COLLECTIONS.iter().copied().find(|c| *c == name) else {
        return Some(refusal(&name, 404));
    };
    let Some(me) = me else {
        return Some(
            NodeBuilder::new("collection")
                .attr("name", name)
                .attr("version", "0")
                .build(),
        );
    };
    Some(match child_bytes(requested, "patch") {
        Some(patch) => upload(registry, me, known, version, patch),
        None => fetch(registry, me, known, if snapshot { 0 } else { version.unwrap_or(0) }),
    })
}

/// The patches of `name` after version `after`.
fn fetch(registry: &mut Registry, me: &Me, name: &'static str, after: u64) -> Node {
    let Some(account) = registry.accounts.get_mut(&me.phone) else {
        return refusal(name, 404);
    };
    match collection(account, name, Some(me.device)) {
        Ok(collection) => collection.page(name, after, None),
        Err(error) => {
            tracing::warn!(%error, name, "genesis patch not built");
            refusal(name, 500)
        }
    }
}

/// A patch `me` built on version `base` of `name`: applied and announced to the account's other
/// devices, or refused (409 with the patches it missed, 400 if it does not validate).
fn upload(registry: &mut Registry, me: &Me, name: &'static str, base: Option<u64>, patch: &[u8]) -> Node {
    let Some(account) = registry.accounts.get_mut(&me.phone) else {
        return refusal(name, 404);
    };
    match receive(account, me, name, base, patch) {
        Ok(version) => {
            announce(registry, &me.phone, name, version, Some(me.device));
            NodeBuilder::new("collection")
                .attr("name", name)
                .attr("version", version.to_string())
                .build()
        }
        Err(refused) => *refused,
    }
}

/// Applies an uploaded patch to `account`, or says why not as the `<collection>` to answer.
fn receive(
    account: &mut Account,
    me: &Me,
    name: &'static str,
    base: Option<u64>,
    patch: &[u8],
) -> Result<u64, Box<Node>> {
    let refuse = |code| Box::new(refusal(name, code));
    let key = Key::from(&account.app_state_key);
    let collection = collection(account, name, Some(me.device)).map_err(|_| refuse(500))?;
    let base = base.ok_or_else(|| refuse(400))?;
    if base != collection.version() {
        return Err(Box::new(collection.page(name, base, Some(409))));
    }
    let patch = wa::SyncdPatch::decode_from_slice(patch).map_err(|_| refuse(400))?;
    collection.apply(name, patch, &key).map_err(|error| {
        tracing::info!(%error, name, phone = me.phone, device = me.device, "app-state patch refused");
        refuse(400)
    })
}

/// A per-collection error (inside an otherwise successful IQ, as WhatsApp answers).
fn refusal(name: &str, code: u16) -> Node {
    NodeBuilder::new("collection")
        .attr("name", name.to_owned())
        .attr("type", "error")
        .children([error_node(code)])
        .build()
}

/// The `<error>` child of a refused collection, with WhatsApp's text for the code.
fn error_node(code: u16) -> Node {
    let text = match code {
        409 => "conflict",
        404 => "item-not-found",
        400 => "bad-request",
        _ => "internal-server-error",
    };
    NodeBuilder::new("error")
        .attr("code", code.to_string())
        .attr("text", text)
        .build()
}

/// Tells the linked devices of `phone` (all but `except`) that `name` is at `version`; an
/// offline device hears it at its next login.
fn announce(registry: &mut Registry, phone: &str, name: &str, version: u64, except: Option<u32>) {
    let collection = NodeBuilder::new("collection")
        .attr("name", name.to_owned())
        .attr("version", version.to_string())
        .build();
    let notification = NodeBuilder::new("notification")
        .attr("from", SERVER)
        .attr("id", random_hex(8))
        .attr("type", "server_sync")
        .attr("t", now_secs().to_string())
        .children([collection])
        .build();
    for device in registry.device_ids(phone) {
        if Some(device) != except {
            registry.deliver(phone, device, notification.clone(), false);
        }
    }
}

/// A change the phone makes to its own app state (serde: `{"action": "archive", ...}`, camelCase
/// fields), sealed as the next patch of the action's collection and announced to every linked
/// device, exactly as a companion's `chat_actions()` would send it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum PhoneChange {
    /// Archives or unarchives a chat (`["archive", chat]` in `regular_low`).
    Archive {
        /// The chat's JID.
        chat: String,
        /// Archived or not.
        archived: bool,
    },
    /// Pins or unpins a chat (`["pin_v1", chat]` in `regular_low`).
    Pin {
        /// The chat's JID.
        chat: String,
        /// Pinned or not.
        pinned: bool,
    },
    /// Mutes or unmutes a chat (`["mute", chat]` in `regular_high`).
    Mute {
        /// The chat's JID.
        chat: String,
        /// `None`: unmute; `Some(-1)`: muted for ever; else when the mute ends (epoch ms).
        until_ms: Option<i64>,
    },
    /// Marks a chat read or unread (`["markChatAsRead", chat]` in `regular_low`).
    MarkRead {
        /// The chat's JID.
        chat: String,
        /// Read or unread.
        read: bool,
    },
    /// Clears a chat's messages, keeping starred ones and media (`["clearChat", chat, "0", "0"]`
    /// in `regular_high`).
    Clear {
        /// The chat's JID.
        chat: String,
    },
    /// Deletes a chat, keeping its media (`["deleteChat", chat, "0"]` in `regular_high`).
    Delete {
        /// The chat's JID.
        chat: String,
    },
    /// Stars or unstars a message (`["star", chat, id, fromMe, participant|"0"]` in
    /// `regular_high`).
    Star {
        /// The chat's JID.
        chat: String,
        /// The message id.
        message_id: String,
        /// Whether the account sent it.
        from_me: bool,
        /// Its sender in a group, when not the account.
        participant: Option<String>,
        /// Starred or not.
        starred: bool,
    },
    /// Saves or renames a contact in the phone's address book (`["contact", jid]` in
    /// `critical_unblock_low`).
    Contact {
        /// The contact's phone-number JID.
        jid: String,
        /// Full name.
        full_name: Option<String>,
        /// First name.
        first_name: Option<String>,
    },
    /// Creates, renames, recolours or deletes a business label (`["label_edit", id]` in
    /// `regular`).
    Label {
        /// The label's id (WhatsApp numbers them: `"1"`, `"2"`, ...).
        id: String,
        /// Its name.
        name: String,
        /// Its colour index (0 to 19).
        color: i32,
        /// Whether it is deleted.
        deleted: bool,
    },
    /// Puts a label on a chat or takes it off (`["label_jid", id, chat]` in `regular`).
    LabelChat {
        /// The label's id.
        id: String,
        /// The chat's JID.
        chat: String,
        /// Labeled or not.
        labeled: bool,
    },
}

/// Why the phone could not make a change.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// No account has this number.
    #[error("no account {0}")]
    UnknownAccount(String),
    /// The change names a malformed JID or an impossible value.
    #[error("{0}")]
    Invalid(String),
    /// The patch failed its own validation (a bug, not bad input).
    #[error("app-state patch not built: {0}")]
    Patch(#[from] AppStateError),
}

/// What a change writes: the action's schema, its index arguments and its value.
struct Action {
    schema: &'static Schema,
    args: Vec<String>,
    value: wa::SyncActionValue,
}

impl PhoneChange {
    /// The mutation this change is, with the value a client would send (timestamped now).
    fn action(&self) -> Result<Action, ChangeError> {
        let mut value = wa::SyncActionValue {
            timestamp: Some(wacore::time::now_millis()),
            ..Default::default()
        };
        let (schema, args) = match self {
            Self::Archive { chat, archived } => {
                value.archive_chat_action = buffa::MessageField::some(wa::sync_action_value::ArchiveChatAction {
                    archived: Some(*archived),
                    ..Default::default()
                });
                (&schemas::ARCHIVE, vec![jid(chat)?.to_string()])
            }
            Self::Pin { chat, pinned } => {
                value.pin_action =
                    buffa::MessageField::some(wa::sync_action_value::PinAction { pinned: Some(*pinned) });
                (&schemas::PIN, vec![jid(chat)?.to_string()])
            }
            Self::Mute { chat, until_ms } => {
                value.mute_action = buffa::MessageField::some(mute(*until_ms)?);
                (&schemas::MUTE, vec![jid(chat)?.to_string()])
            }
            Self::MarkRead { chat, read } => {
                value.mark_chat_as_read_action =
                    buffa::MessageField::some(wa::sync_action_value::MarkChatAsReadAction {
                        read: Some(*read),
                        ..Default::default()
                    });
                (&schemas::MARK_CHAT_AS_READ, vec![jid(chat)?.to_string()])
            }
            Self::Clear { chat } => {
                value.clear_chat_action = buffa::MessageField::some(Default::default());
                let args = vec![jid(chat)?.to_string(), "0".to_owned(), "0".to_owned()];
                (&schemas::CLEAR_CHAT, args)
            }
            Self::Delete { chat } => {
                value.delete_chat_action = buffa::MessageField::some(Default::default());
                (&schemas::DELETE_CHAT, vec![jid(chat)?.to_string(), "0".to_owned()])
            }
            Self::Star {
                chat,
                message_id,
                from_me,
                participant,
                starred,
            } => {
                value.star_action = buffa::MessageField::some(wa::sync_action_value::StarAction {
                    starred: Some(*starred),
                });
                (
                    &schemas::STAR,
                    star_index(chat, message_id, *from_me, participant.as_deref())?,
                )
            }
            Self::Contact {
                jid: contact,
                full_name,
                first_name,
            } => {
                value.contact_action = buffa::MessageField::some(wa::sync_action_value::ContactAction {
                    full_name: full_name.clone(),
                    first_name: first_name.clone(),
                    save_on_primary_addressbook: Some(true),
                    ..Default::default()
                });
                (&schemas::CONTACT, vec![contact_jid(contact)?.to_string()])
            }
            Self::Label {
                id,
                name,
                color,
                deleted,
            } => {
                value.label_edit_action = buffa::MessageField::some(wa::sync_action_value::LabelEditAction {
                    name: Some(name.clone()),
                    color: Some(*color),
                    deleted: Some(*deleted),
                    ..Default::default()
                });
                (&schemas::LABEL_EDIT, vec![label_id(id)?])
            }
            Self::LabelChat { id, chat, labeled } => {
                value.label_association_action =
                    buffa::MessageField::some(wa::sync_action_value::LabelAssociationAction {
                        labeled: Some(*labeled),
                        ..Default::default()
                    });
                (&schemas::LABEL_JID, vec![label_id(id)?, jid(chat)?.to_string()])
            }
        };
        Ok(Action { schema, args, value })
    }
}

/// A chat or participant JID as an index part.
fn jid(text: &str) -> Result<Jid, ChangeError> {
    text.parse::<Jid>()
        .ok()
        .filter(|jid| !jid.user.is_empty())
        .ok_or_else(|| ChangeError::Invalid(format!("not a JID: {text:?}")))
}

/// A label id as an index part: WhatsApp's labels are numbered.
fn label_id(id: &str) -> Result<String, ChangeError> {
    if !id.is_empty() && id.len() <= 10 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id.to_owned())
    } else {
        Err(ChangeError::Invalid(format!("a label id is a number, not {id:?}")))
    }
}

/// A contact's JID: a bare phone-number JID, as WhatsApp keys contact mutations.
fn contact_jid(text: &str) -> Result<Jid, ChangeError> {
    let contact = jid(text)?;
    if contact.is_pn() && contact.device == 0 {
        Ok(contact)
    } else {
        Err(ChangeError::Invalid(format!(
            "a contact is a bare phone-number JID, not {text:?}"
        )))
    }
}

/// The mute value for `until_ms` (`None` unmutes, -1 mutes for ever, else a time in epoch ms).
fn mute(until_ms: Option<i64>) -> Result<wa::sync_action_value::MuteAction, ChangeError> {
    let end = match until_ms {
        None => 0,
        Some(end) if end == -1 || end > 0 => end,
        Some(end) => {
            return Err(ChangeError::Invalid(format!(
                "untilMs is -1 (for ever) or a time in epoch ms, not {end}"
            )));
        }
    };
    Ok(wa::sync_action_value::MuteAction {
        muted: Some(until_ms.is_some()),
        mute_end_timestamp: Some(end),
        ..Default::default()
    })
}

/// The index arguments of a star: chat, message id, `"1"`/`"0"` for from-me, and the sender
/// (or `"0"`), which a group message from someone else must name.
fn star_index(
    chat: &str,
    message_id: &str,
    from_me: bool,
    participant: Option<&str>,
) -> Result<Vec<String>, ChangeError> {
    let chat = jid(chat)?;
    let participant = participant.map(jid).transpose()?;
    if chat.is_group() && !from_me && participant.is_none() {
        return Err(ChangeError::Invalid(
            "a group message from someone else needs its participant".into(),
        ));
    }
    Ok(vec![
        chat.to_string(),
        message_id.to_owned(),
        if from_me { "1" } else { "0" }.to_owned(),
        participant.map_or_else(|| "0".to_owned(), |p| p.to_string()),
    ])
}

/// The phone of `phone` makes `change`: the next patch of its collection, announced to every
/// linked device of the account.
pub fn phone_changes(registry: &mut Registry, phone: &str, change: &PhoneChange) -> Result<(), ChangeError> {
    let account = registry
        .accounts
        .get_mut(phone)
        .ok_or_else(|| ChangeError::UnknownAccount(phone.to_owned()))?;
    let action = change.action()?;
    let name = action.schema.collection.as_str();
    let key = Key::from(&account.app_state_key);
    let mutation = key.set(action.schema, &action.args, &action.value)?;
    let collection = collection(account, name, None)?;
    let patch = collection.seal(name, vec![mutation], &key)?;
    let version = collection.apply(name, patch, &key)?;
    announce(registry, phone, name, version, None);
    Ok(())
}

/// One live entry of the phone's app state, as its admin API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppStateEntry {
    /// The collection it lives in (`regular_low`, ...).
    pub collection: String,
    /// Its index (`["archive", "1555...@s.whatsapp.net"]`).
    pub index: Vec<String>,
    /// The decoded action, e.g. `{"archived": true, "timestamp": 1700000000000}`.
    pub value: serde_json::Value,
}

/// Every live entry of `account`'s app state, collection by collection.
pub fn entries(account: &Account) -> Vec<AppStateEntry> {
    COLLECTIONS
        .iter()
        .filter_map(|name| Some((*name, account.app_state.collections.get(name)?)))
        .flat_map(|(name, collection)| {
            collection.entries.iter().map(move |(index, value)| AppStateEntry {
                collection: name.to_owned(),
                index: index.clone(),
                value: describe(value),
            })
        })
        .collect()
}

/// A small camelCase JSON of the action in `value`, with its timestamp (ms) when it has one.
fn describe(value: &wa::SyncActionValue) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    let mut put = |key: &str, field: Option<serde_json::Value>| {
        if let Some(field) = field {
            out.insert(key.to_owned(), field);
        }
    };
    if let Some(a) = value.archive_chat_action.as_option() {
        put("archived", a.archived.map(Into::into));
    }
    if let Some(a) = value.pin_action.as_option() {
        put("pinned", a.pinned.map(Into::into));
    }
    if let Some(a) = value.mute_action.as_option() {
        put("muted", a.muted.map(Into::into));
        put("muteEndTimestamp", a.mute_end_timestamp.map(Into::into));
    }
    if let Some(a) = value.mark_chat_as_read_action.as_option() {
        put("read", a.read.map(Into::into));
    }
    if let Some(a) = value.star_action.as_option() {
        put("starred", a.starred.map(Into::into));
    }
    if let Some(a) = value.contact_action.as_option() {
        put("fullName", a.full_name.clone().map(Into::into));
        put("firstName", a.first_name.clone().map(Into::into));
    }
    if let Some(a) = value.push_name_setting.as_option() {
        put("name", a.name.clone().map(Into::into));
    }
    if let Some(a) = value.user_status_mute_action.as_option() {
        put("muted", a.muted.map(Into::into));
    }
    if let Some(a) = value.delete_message_for_me_action.as_option() {
        put("deleteMedia", a.delete_media.map(Into::into));
    }
    if let Some(a) = value.label_edit_action.as_option() {
        put("name", a.name.clone().map(Into::into));
        put("color", a.color.map(Into::into));
        put("deleted", a.deleted.map(Into::into));
    }
    if let Some(a) = value.label_association_action.as_option() {
        put("labeled", a.labeled.map(Into::into));
    }
    put("timestamp", value.timestamp.map(Into::into));
    serde_json::Value::Object(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn key() -> (AppStateKey, Key) {
        let raw = AppStateKey::generate();
        let key = Key::from(&raw);
        (raw, key)
    }

    fn archive(key: &Key, chat: &str, operation: SyncdOperation) -> wa::SyncdMutation {
        let value = wa::SyncActionValue {
            archive_chat_action: buffa::MessageField::some(wa::sync_action_value::ArchiveChatAction {
                archived: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        let index = serde_json::to_vec(&["archive", chat]).unwrap();
        encode_record(operation, &index, &value, &key.expanded, &key.id, &[7; 16], 3).0
    }

    #[test]
    fn genesis_is_version_one_and_carries_the_push_name_only_in_critical_block() {
        let (_, key) = key();
        let critical = Collection::genesis(CRITICAL_BLOCK, &key, "Ann").unwrap();
        assert_eq!(critical.version(), 1);
        let names: Vec<_> = critical.entries.keys().cloned().collect();
        assert_eq!(names, vec![vec!["setting_pushName".to_owned()]]);
        let regular = Collection::genesis("regular", &key, "Ann").unwrap();
        assert_eq!((regular.version(), regular.entries.len()), (1, 0));
        assert_eq!(regular.patches.len(), 1);
    }

    #[test]
    fn a_removal_drops_the_entry_and_its_mac() {
        let (_, key) = key();
        let mut collection = Collection::genesis("regular_low", &key, "").unwrap();
        let set = collection
            .seal(
                "regular_low",
                vec![archive(&key, "1@s.whatsapp.net", SyncdOperation::SET)],
                &key,
            )
            .unwrap();
        assert_eq!(collection.apply("regular_low", set, &key).unwrap(), 2);
        assert_eq!((collection.entries.len(), collection.macs.len()), (1, 1));
        let remove = collection
            .seal(
                "regular_low",
                vec![archive(&key, "1@s.whatsapp.net", SyncdOperation::REMOVE)],
                &key,
            )
            .unwrap();
        assert_eq!(collection.apply("regular_low", remove, &key).unwrap(), 3);
        assert_eq!((collection.entries.len(), collection.macs.len()), (0, 0));
        assert_eq!(collection.hash.hash, [0u8; 128]);
    }

    #[test]
    fn a_patch_that_does_not_validate_changes_nothing() {
        let (_, key) = key();
        let (_, other) = self::key();
        let mut collection = Collection::genesis("regular_low", &key, "").unwrap();
        let mut forged = collection
            .seal(
                "regular_low",
                vec![archive(&key, "1@s.whatsapp.net", SyncdOperation::SET)],
                &key,
            )
            .unwrap();
        forged.patch_mac = Some(vec![0; 32]);
        assert!(collection.apply("regular_low", forged, &key).is_err());
        let foreign = collection
            .seal(
                "regular_low",
                vec![archive(&other, "1@s.whatsapp.net", SyncdOperation::SET)],
                &other,
            )
            .unwrap();
        assert!(collection.apply("regular_low", foreign, &key).is_err());
        assert_eq!((collection.version(), collection.entries.len()), (1, 0));
    }

    #[test]
    fn pages_stop_at_the_cap() {
        let (_, key) = key();
        let mut collection = Collection::genesis("regular", &key, "").unwrap();
        for _ in 0..PAGE + 5 {
            let patch = collection.seal("regular", Vec::new(), &key).unwrap();
            collection.apply("regular", patch, &key).unwrap();
        }
        let first = collection.page("regular", 0, None);
        assert_eq!(
            first.attrs.get("has_more_patches").map(|v| v.as_str().into_owned()),
            Some("true".to_owned())
        );
        let rest = collection.page("regular", PAGE as u64, Some(409));
        assert!(rest.attrs.get("has_more_patches").is_none());
        let count = rest
            .get_optional_child("patches")
            .and_then(|p| p.children())
            .map_or(0, <[Node]>::len);
        assert_eq!(count, 6);
        assert!(rest.get_optional_child("error").is_some());
    }

    #[test]
    fn phone_changes_parse_from_camel_case_json() {
        let change: PhoneChange = serde_json::from_str(
            r#"{"action":"star","chat":"1@s.whatsapp.net","messageId":"M","fromMe":true,"starred":true}"#,
        )
        .unwrap();
        assert!(matches!(change, PhoneChange::Star { participant: None, .. }));
        let mute: PhoneChange = serde_json::from_str(r#"{"action":"mute","chat":"1@s.whatsapp.net"}"#).unwrap();
        assert_eq!(
            mute,
            PhoneChange::Mute {
                chat: "1@s.whatsapp.net".into(),
                until_ms: None
            }
        );
        assert!(
            PhoneChange::Archive {
                chat: "nobody".into(),
                archived: true
            }
            .action()
            .is_err()
        );
    }
}
