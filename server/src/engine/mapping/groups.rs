//! Groups: subject, description, picture and settings (`group.update`), and members joining,
//! leaving, promoted or demoted, or people asking to join (`group.participant`).

use whatsapp_rust::wacore::stanza::groups::{GroupNotificationAction as Action, GroupParticipantInfo};
use whatsapp_rust::wacore::types::events::{GroupUpdate, PictureUpdate};

use super::Effect;
use crate::events::{NewEvent, Payload};
use crate::model::events::{GroupAction, GroupParticipantPayload, GroupUpdatePayload};
use crate::model::jid::JidRef;

/// One action of a group notification; `None` for actions that are neither (invite links,
/// community links, a request's withdrawal).
pub(super) fn update(update: &GroupUpdate) -> Option<Effect> {
    let id = update.group_jid.to_non_ad_string();
    let timestamp = update.timestamp.timestamp();
    let author = update
        .participant
        .as_ref()
        .map(|author| JidRef::person(author, update.participant_pn.as_ref()));
    let members = |list: fn(&mut GroupParticipantPayload) -> &mut Vec<JidRef>,
                   participants: &[GroupParticipantInfo]| {
        let mut payload = GroupParticipantPayload {
            id: id.clone(),
            timestamp,
            author: author.clone(),
            ..GroupParticipantPayload::default()
        };
        *list(&mut payload) = participants
            .iter()
            .map(|p| JidRef::person(&p.jid, p.phone_number.as_ref().or(p.lid.as_ref())))
            .collect();
        Payload::GroupParticipant(payload)
    };
    let change = GroupUpdatePayload {
        id: id.clone(),
        timestamp,
        author: author.clone(),
        ..GroupUpdatePayload::default()
    };
    let payload = match &update.action {
        Action::Add { participants, .. } => members(|p| &mut p.joined, participants),
        Action::Remove { participants, .. } => members(|p| &mut p.left, participants),
        Action::Promote { participants } => members(|p| &mut p.promoted, participants),
        Action::Demote { participants } => members(|p| &mut p.demoted, participants),
        Action::CreatedMembershipRequests { requests, .. } => members(|p| &mut p.requested, requests),
        Action::Subject { subject, .. } => Payload::GroupUpdate(GroupUpdatePayload {
            new_subject: Some(subject.clone()),
            ..change
        }),
        Action::Description { description, .. } => Payload::GroupUpdate(GroupUpdatePayload {
            new_description: Some(description.clone().unwrap_or_default()),
            ..change
        }),
        Action::Locked { .. } => Payload::GroupUpdate(GroupUpdatePayload {
            locked: Some(true),
            ..change
        }),
        Action::Unlocked => Payload::GroupUpdate(GroupUpdatePayload {
            locked: Some(false),
            ..change
        }),
        Action::Announce => Payload::GroupUpdate(GroupUpdatePayload {
            announce: Some(true),
            ..change
        }),
        Action::NotAnnounce => Payload::GroupUpdate(GroupUpdatePayload {
            announce: Some(false),
            ..change
        }),
        Action::Ephemeral { expiration, .. } => Payload::GroupUpdate(GroupUpdatePayload {
            ephemeral_seconds: Some(*expiration),
            ..change
        }),
        Action::MembershipApprovalMode { enabled } => Payload::GroupUpdate(GroupUpdatePayload {
            approval_mode: Some(*enabled),
            ..change
        }),
        Action::Create { .. } => Payload::GroupUpdate(GroupUpdatePayload {
            action: Some(GroupAction::Created),
            ..change
        }),
        Action::Delete { reason } => Payload::GroupUpdate(GroupUpdatePayload {
            action: Some(GroupAction::Deleted),
            reason: Some(reason.clone()),
            ..change
        }),
        _ => return None,
    };
    Some(Effect::Event(NewEvent::new(payload)))
}

/// A group's picture was set or removed: `group.update` with `newPicture`.
pub(super) fn picture(update: &PictureUpdate) -> Effect {
    let payload = GroupUpdatePayload {
        id: update.jid.to_non_ad_string(),
        timestamp: update.timestamp.timestamp(),
        author: update.author.as_ref().map(|author| JidRef::person(author, None)),
        new_picture: Some(update.picture_id.clone().filter(|_| !update.removed)),
        picture_removed: Some(update.removed),
        ..GroupUpdatePayload::default()
    };
    Effect::Event(NewEvent::new(Payload::GroupUpdate(payload)))
}
