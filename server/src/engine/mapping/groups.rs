//! Groups: subject, description, picture and settings (`group.update`), and members joining,
//! leaving, promoted or demoted (`group.participant`).

use serde_json::{Value, json};
use whatsapp_rust::wacore::stanza::groups::{GroupNotificationAction as Action, GroupParticipantInfo};
use whatsapp_rust::wacore::types::events::{GroupUpdate, PictureUpdate};

use super::{Effect, merge};
use crate::events::{EventType, NewEvent};
use crate::messages::jid::person;

/// One action of a group notification; `None` for actions that are neither (invite links,
/// community links, membership requests).
pub(super) fn update(update: &GroupUpdate) -> Option<Effect> {
    let id = update.group_jid.to_non_ad_string();
    let (kind, details) = match &update.action {
        Action::Add { participants, .. } => (EventType::GroupParticipant, members("joined", participants)),
        Action::Remove { participants, .. } => (EventType::GroupParticipant, members("left", participants)),
        Action::Promote { participants } => (EventType::GroupParticipant, members("promoted", participants)),
        Action::Demote { participants } => (EventType::GroupParticipant, members("demoted", participants)),
        Action::Subject { subject, .. } => (EventType::GroupUpdate, json!({"newSubject": subject, "action": null})),
        Action::Description { description, .. } => (
            EventType::GroupUpdate,
            json!({"newDescription": description.clone().unwrap_or_default(), "action": null}),
        ),
        Action::Locked { .. } => (EventType::GroupUpdate, json!({"locked": true, "action": null})),
        Action::Unlocked => (EventType::GroupUpdate, json!({"locked": false, "action": null})),
        Action::Announce => (EventType::GroupUpdate, json!({"announce": true, "action": null})),
        Action::NotAnnounce => (EventType::GroupUpdate, json!({"announce": false, "action": null})),
        Action::Ephemeral { expiration, .. } => (
            EventType::GroupUpdate,
            json!({"ephemeralSeconds": expiration, "action": null}),
        ),
        Action::MembershipApprovalMode { enabled } => {
            (EventType::GroupUpdate, json!({"approvalMode": enabled, "action": null}))
        }
        Action::Create { .. } => (EventType::GroupUpdate, json!({"action": "created"})),
        Action::Delete { reason } => (EventType::GroupUpdate, json!({"action": "deleted", "reason": reason})),
        _ => return None,
    };
    let mut payload = json!({"id": id, "timestamp": update.timestamp.timestamp()});
    if let Some(author) = &update.participant {
        payload = merge(
            payload,
            json!({"author": person(author, update.participant_pn.as_ref())}),
        );
    }
    Some(Effect::Event(NewEvent::new(kind, merge(payload, details))))
}

/// A group's picture was set or removed: `group.update` with `newPicture`.
pub(super) fn picture(update: &PictureUpdate) -> Effect {
    let mut payload = json!({
        "id": update.jid.to_non_ad_string(),
        "newPicture": if update.removed { Value::Null } else { json!(update.picture_id) },
        "pictureRemoved": update.removed,
        "action": null,
        "timestamp": update.timestamp.timestamp(),
    });
    if let Some(author) = &update.author {
        payload = merge(payload, json!({"author": person(author, None)}));
    }
    Effect::Event(NewEvent::new(EventType::GroupUpdate, payload))
}

/// `{"joined": [..], "left": [], "promoted": [], "demoted": []}` with `participants` under `key`.
fn members(key: &str, participants: &[GroupParticipantInfo]) -> Value {
    let mut lists = json!({"joined": [], "left": [], "promoted": [], "demoted": []});
    lists[key] = participants
        .iter()
        .map(|p| person(&p.jid, p.phone_number.as_ref().or(p.lid.as_ref())))
        .collect();
    lists
}
