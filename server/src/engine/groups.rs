//! Group actions of a connected session: list, read, create and leave groups, and join one by
//! invite. Joining by invite has no notification of its own for the joiner, so Titan writes the
//! `group.update` (action `joined`) itself; WhatsApp notifies the other changes (`w:gp2`).

use chrono::DateTime;
use whatsapp_rust::Jid;
use whatsapp_rust::JoinGroupResult;
use whatsapp_rust::features::{GroupCreateOptions, GroupError, GroupMetadata, GroupParticipantOptions};

use super::{Engine, EngineError};
use crate::events::{NewEvent, Payload};
use crate::model::events::{GroupAction, GroupUpdatePayload};
use crate::model::group::{Group, GroupParticipant};
use crate::store::events as outbox;

/// Where a join by invite left the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joined {
    /// A member of the group.
    Member(Jid),
    /// Waiting for an admin to approve the request (the group requires approval).
    PendingApproval(Jid),
}

impl Engine {
    /// Every group the session's account is a member of, by id.
    pub async fn groups(&self, session: &str) -> Result<Vec<Group>, EngineError> {
        let client = self.require_connected(session)?;
        let groups = client
            .groups()
            .get_participating()
            .await
            .map_err(|e| group_error("group list", e))?;
        let mut groups: Vec<Group> = groups.values().map(group_of).collect();
        groups.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(groups)
    }

    /// Group `id` as WhatsApp describes it now; the account must be a member.
    pub async fn group(&self, session: &str, id: &Jid) -> Result<Group, EngineError> {
        let client = self.require_connected(session)?;
        let metadata = client
            .groups()
            .get_metadata(id)
            .await
            .map_err(|e| group_error("group", e))?;
        Ok(group_of(&metadata))
    }

    /// Creates group `name` with the session's account as its creator and `participants` as
    /// members (WhatsApp leaves out anyone it does not know).
    pub async fn create_group(&self, session: &str, name: &str, participants: Vec<Jid>) -> Result<Group, EngineError> {
        let client = self.require_connected(session)?;
        let options = GroupCreateOptions::new(name)
            .with_participants(participants.into_iter().map(GroupParticipantOptions::new).collect());
        let created = client
            .groups()
            .create_group(options)
            .await
            .map_err(|e| group_error("new group", e))?;
        Ok(group_of(&created.metadata))
    }

    /// Takes the session's account out of group `id`.
    pub async fn leave_group(&self, session: &str, id: &Jid) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        client
            .groups()
            .leave(id.clone())
            .await
            .map_err(|e| group_error("group", e))
    }

    /// Joins the group invite `code` points at; a join writes `group.update` with action `joined`.
    pub async fn join_group(&self, session: &str, code: &str) -> Result<Joined, EngineError> {
        let client = self.require_connected(session)?;
        let result = client
            .groups()
            .join_with_invite_code(code)
            .await
            .map_err(|error| match error {
                GroupError::Iq(iq) => EngineError::refused_iq("invite code", &iq),
                GroupError::InvalidRequest(why) => EngineError::Unknown(format!("not a usable invite: {why}")),
                other => EngineError::refused("joining the group", other),
            })?;
        Ok(match result {
            JoinGroupResult::Joined(group) => {
                let payload = Payload::GroupUpdate(GroupUpdatePayload {
                    id: group.to_string(),
                    timestamp: chrono::Utc::now().timestamp(),
                    action: Some(GroupAction::Joined),
                    ..GroupUpdatePayload::default()
                });
                outbox::write(&self.shared.db, session, &[NewEvent::new(payload)]).await?;
                Joined::Member(group)
            }
            JoinGroupResult::PendingApproval(group) => Joined::PendingApproval(group),
        })
    }
}

/// What a failed group request means: WhatsApp's "no such item" is [`EngineError::Unknown`] (the
/// group does not exist, or the account is not in it), as is a participant the library cannot
/// address; "forbidden" is [`EngineError::Forbidden`] (not a member, or not an admin), "bad
/// request" [`EngineError::Invalid`]; the rest is upstream.
fn group_error(what: &str, error: GroupError) -> EngineError {
    match error {
        GroupError::Iq(whatsapp_rust::IqError::ServerError { code: 403, text, .. }) => EngineError::Forbidden(format!(
            "WhatsApp refused: {text} (the session is not a member, or not an admin)"
        )),
        GroupError::Iq(whatsapp_rust::IqError::ServerError {
            code: 400 | 406, text, ..
        }) => EngineError::Invalid(format!("WhatsApp refused the {what}: {text}")),
        // The library's own refusal: someone it cannot address (a LID with no known number).
        GroupError::InvalidRequest(why) => EngineError::Unknown(format!("cannot make the {what}: {why}")),
        GroupError::Iq(iq) => EngineError::refused_iq(what, &iq),
        other => EngineError::refused(what, other),
    }
}

/// The API's view of a group's metadata.
fn group_of(metadata: &GroupMetadata) -> Group {
    let phone = |jid: &Jid| jid.is_pn().then(|| format!("+{}", jid.user));
    let lid = |jid: &Jid| jid.is_lid().then(|| jid.to_non_ad_string());
    let creator = metadata.creator.as_ref();
    Group {
        id: metadata.id.to_non_ad_string(),
        name: metadata.subject.clone(),
        description: metadata.description.clone().filter(|d| !d.is_empty()),
        owner_lid: creator.and_then(lid),
        owner_phone_number: metadata
            .creator_pn
            .as_ref()
            .and_then(phone)
            .or_else(|| creator.and_then(phone)),
        created_at: metadata
            .creation_time
            .and_then(|t| DateTime::from_timestamp(i64::try_from(t).ok()?, 0)),
        participants: metadata
            .participants
            .iter()
            .map(|p| GroupParticipant {
                phone_number: p.phone_number.as_ref().and_then(phone).or_else(|| phone(&p.jid)),
                lid: p.lid.as_ref().and_then(lid).or_else(|| lid(&p.jid)),
                is_admin: p.is_admin(),
                is_super_admin: p.is_super_admin(),
            })
            .collect(),
        announce: metadata.is_announcement,
        locked: metadata.is_locked,
        ephemeral_seconds: metadata
            .ephemeral
            .as_ref()
            .and_then(|e| e.expiration)
            .filter(|s| *s > 0),
        approval_mode: metadata.membership_approval,
    }
}
