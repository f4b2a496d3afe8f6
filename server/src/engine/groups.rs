//! Group actions of a connected session: list, read, create and leave groups, and join one by
//! invite. Joining by invite has no notification of its own for the joiner, so Titan writes the
//! `group.update` (action `joined`) itself; WhatsApp notifies the other changes (`w:gp2`).
//!
//! Every group read from WhatsApp is stored (see [`crate::store::groups`]): the whole list when
//! the session connects or a list is refreshed, one group after each change the session makes or
//! hears of. Lists are answered from there.

use std::sync::Arc;

use chrono::DateTime;
use whatsapp_rust::JoinGroupResult;
use whatsapp_rust::features::{
    GroupCreateOptions, GroupDescription, GroupError, GroupMetadata, GroupParticipantOptions, GroupSubject,
    MembershipApprovalMode, ParticipantChangeResponse, PreviousDescription,
};
use whatsapp_rust::{Client, Jid};

use super::{Engine, EngineError, Slot};
use crate::events::{NewEvent, Payload};
use crate::model::events::{GroupAction, GroupUpdatePayload};
use crate::model::group::{Group, GroupJoinRequest, GroupParticipant};
use crate::store::events as outbox;
use crate::store::{Db, groups as stored};

/// Settings to change on a group (`None`: leave as it is).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupSettings {
    /// Only admins may send messages.
    pub announce: Option<bool>,
    /// Only admins may change the group's name, description and picture.
    pub locked: Option<bool>,
    /// Seconds before messages disappear (0: they stay).
    pub ephemeral_seconds: Option<u32>,
    /// Joining by invite needs an admin's approval.
    pub approval_mode: Option<bool>,
}

/// A change to a group's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    /// Add them.
    Add,
    /// Remove them.
    Remove,
    /// Make them admins.
    Promote,
    /// Make them plain members.
    Demote,
    /// Let them in: approve their requests to join.
    Approve,
    /// Turn their requests to join down.
    Reject,
}

/// What a member change did to one participant, as WhatsApp answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberOutcome {
    /// The participant, as asked.
    pub participant: Jid,
    /// WhatsApp's error code for them (`None`: done).
    pub error: Option<u16>,
    /// For an add refused by the person's privacy settings: the invite WhatsApp returned
    /// instead (its code and when it expires, Unix seconds).
    pub invite: Option<(String, u64)>,
}

/// Where a join by invite left the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joined {
    /// A member of the group.
    Member(Jid),
    /// Waiting for an admin to approve the request (the group requires approval).
    PendingApproval(Jid),
}

impl Engine {
    /// Reads every group the session's account is in from WhatsApp and stores the list.
    pub async fn refresh_groups(&self, session: &str) -> Result<(), EngineError> {
        let (client, slot) = self.group_client(session)?;
        sync_groups(&self.shared.db, session, &slot, &client).await
    }

    /// Group `id` as WhatsApp describes it now (stored as such); the account must be a member.
    /// While the session is not connected, the group as last read, if it was.
    pub async fn group(&self, session: &str, id: &Jid) -> Result<Group, EngineError> {
        if let Ok((client, slot)) = self.group_client(session) {
            return read_group(&self.shared.db, session, &slot, &client, id).await;
        }
        stored::one(&self.shared.db, session, &id.to_non_ad_string())
            .await?
            .ok_or_else(|| EngineError::not_connected(session))
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
        let group = group_of(&created.metadata);
        stored::put(&self.shared.db, session, &group).await?;
        Ok(group)
    }

    /// Takes the session's account out of group `id`.
    pub async fn leave_group(&self, session: &str, id: &Jid) -> Result<(), EngineError> {
        let (client, slot) = self.group_client(session)?;
        let _stored_after = slot.groups.lock().await;
        client
            .groups()
            .leave(id.clone())
            .await
            .map_err(|e| group_error("group", e))?;
        Ok(stored::remove(&self.shared.db, session, &id.to_non_ad_string()).await?)
    }

    /// Renames group `id`.
    pub async fn set_group_subject(&self, session: &str, id: &Jid, subject: &str) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        let subject = GroupSubject::new(subject).map_err(|e| EngineError::Invalid(e.to_string()))?;
        client
            .groups()
            .set_subject(id.clone(), subject)
            .await
            .map_err(|e| group_error("group name", e))?;
        self.note_group(session, &client, id).await;
        Ok(())
    }

    /// Sets group `id`'s description (`None` removes it).
    pub async fn set_group_description(
        &self,
        session: &str,
        id: &Jid,
        description: Option<&str>,
    ) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        let description = description
            .map(GroupDescription::new)
            .transpose()
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        client
            .groups()
            .set_description(id.clone(), description, PreviousDescription::Resolve)
            .await
            .map_err(|e| group_error("group description", e))?;
        self.note_group(session, &client, id).await;
        Ok(())
    }

    /// Adds, removes, promotes or demotes `participants` of group `id`; what happened to each.
    pub async fn change_members(
        &self,
        session: &str,
        id: &Jid,
        change: MemberChange,
        participants: &[Jid],
    ) -> Result<Vec<MemberOutcome>, EngineError> {
        let client = self.require_connected(session)?;
        let groups = client.groups();
        let answered = match change {
            MemberChange::Add => groups.add_participants(id.clone(), participants).await,
            MemberChange::Remove => groups.remove_participants(id.clone(), participants).await,
            MemberChange::Promote => groups.promote_participants(id.clone(), participants).await,
            MemberChange::Demote => groups.demote_participants(id.clone(), participants).await,
            MemberChange::Approve => groups.approve_membership_requests(id.clone(), participants).await,
            MemberChange::Reject => groups.reject_membership_requests(id.clone(), participants).await,
        }
        .map_err(|e| group_error("member change", e))?;
        self.note_group(session, &client, id).await;
        Ok(participants.iter().map(|asked| outcome_for(asked, &answered)).collect())
    }

    /// The people waiting for an admin to let them into group `id`, oldest request first.
    pub async fn join_requests(&self, session: &str, id: &Jid) -> Result<Vec<GroupJoinRequest>, EngineError> {
        let client = self.require_connected(session)?;
        let mut requests = client
            .groups()
            .get_membership_requests(id.clone())
            .await
            .map_err(|e| group_error("join requests", e))?;
        requests.sort_by_key(|r| r.request_time);
        Ok(requests
            .iter()
            .map(|r| GroupJoinRequest {
                phone_number: phone_of(&r.jid),
                lid: lid_of(&r.jid),
                requested_at: r
                    .request_time
                    .and_then(|t| DateTime::from_timestamp(i64::try_from(t).ok()?, 0)),
            })
            .collect())
    }

    /// Applies each setting given to group `id`, in the order of [`GroupSettings`]'s fields.
    pub async fn set_group_settings(
        &self,
        session: &str,
        id: &Jid,
        settings: GroupSettings,
    ) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        let groups = client.groups();
        let failed = |e| group_error("group settings", e);
        if let Some(announce) = settings.announce {
            groups.set_announce(id.clone(), announce).await.map_err(failed)?;
        }
        if let Some(locked) = settings.locked {
            groups.set_locked(id.clone(), locked).await.map_err(failed)?;
        }
        if let Some(seconds) = settings.ephemeral_seconds {
            groups.set_ephemeral(id.clone(), seconds).await.map_err(failed)?;
        }
        if let Some(approval) = settings.approval_mode {
            let mode = if approval {
                MembershipApprovalMode::On
            } else {
                MembershipApprovalMode::Off
            };
            groups.set_membership_approval(id.clone(), mode).await.map_err(failed)?;
        }
        Ok(())
    }

    /// Ends group `id` as far as WhatsApp allows: WhatsApp has no "delete group", so its creator
    /// removes every other member and then leaves. Only the creator may (403 otherwise).
    pub async fn delete_group(&self, session: &str, id: &Jid) -> Result<(), EngineError> {
        let (client, slot) = self.group_client(session)?;
        let _stored_after = slot.groups.lock().await;
        let groups = client.groups();
        let metadata = groups.get_metadata(id).await.map_err(|e| group_error("group", e))?;
        let me = |jid: &Jid| {
            client.pn().is_some_and(|pn| pn.user == jid.user) || client.lid().is_some_and(|lid| lid.user == jid.user)
        };
        let creator = metadata.participants.iter().any(|p| me(&p.jid) && p.is_super_admin());
        if !creator {
            return Err(EngineError::Forbidden(
                "only the group's creator may delete it; leave it instead".to_owned(),
            ));
        }
        let others: Vec<Jid> = metadata
            .participants
            .iter()
            .filter(|p| !me(&p.jid))
            .map(|p| p.jid.clone())
            .collect();
        if !others.is_empty() {
            groups
                .remove_participants(id.clone(), &others)
                .await
                .map_err(|e| group_error("group's members", e))?;
        }
        groups.leave(id.clone()).await.map_err(|e| group_error("group", e))?;
        Ok(stored::remove(&self.shared.db, session, &id.to_non_ad_string()).await?)
    }

    /// Sets group `id`'s picture to `jpeg`, or removes it (`None`).
    pub async fn set_group_picture(&self, session: &str, id: &Jid, jpeg: Option<Vec<u8>>) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        let groups = client.groups();
        match jpeg {
            Some(jpeg) => groups.set_profile_picture(id.clone(), jpeg).await.map(drop),
            None => groups.remove_profile_picture(id.clone()).await.map(drop),
        }
        .map_err(|e| group_error("group picture", e))
    }

    /// Group `id`'s invite code; `reset` revokes the current one and answers its replacement.
    pub async fn group_invite(&self, session: &str, id: &Jid, reset: bool) -> Result<String, EngineError> {
        let client = self.require_connected(session)?;
        let link = client
            .groups()
            .get_invite_link(id.clone(), reset)
            .await
            .map_err(|e| group_error("invite link", e))?;
        Ok(link.rsplit('/').next().unwrap_or(&link).to_owned())
    }

    /// The group invite `code` points at, as WhatsApp shows it before joining.
    pub async fn group_invite_info(&self, session: &str, code: &str) -> Result<Group, EngineError> {
        let client = self.require_connected(session)?;
        let metadata = client
            .groups()
            .get_invite_info(code)
            .await
            .map_err(|e| group_error("invite code", e))?;
        Ok(group_of(&metadata))
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
                self.note_group(session, &client, &group).await;
                Joined::Member(group)
            }
            JoinGroupResult::PendingApproval(group) => Joined::PendingApproval(group),
        })
    }
}

impl Engine {
    /// The session's connected client and its slot (whose group lock its group reads take).
    fn group_client(&self, session: &str) -> Result<(Arc<Client>, Arc<Slot>), EngineError> {
        let client = self.require_connected(session)?;
        let slot = self
            .existing(session)
            .ok_or_else(|| EngineError::not_connected(session))?;
        Ok((client, slot))
    }

    /// Stores group `id` as WhatsApp describes it after a change the session made, so the next
    /// list shows the change; a failure is logged (the next list refresh or notification mends it).
    async fn note_group(&self, session: &str, client: &Client, id: &Jid) {
        let read = match self.existing(session) {
            Some(slot) => read_group(&self.shared.db, session, &slot, client, id).await.map(drop),
            None => Ok(()),
        };
        if let Err(error) = read {
            tracing::warn!(session, group = %id, %error, "cannot read back a group after changing it");
        }
    }
}

/// Reads every group the account is in from WhatsApp and replaces the session's stored list
/// (under the slot's group lock).
pub(super) async fn sync_groups(db: &Db, session: &str, slot: &Slot, client: &Client) -> Result<(), EngineError> {
    let _stored_after = slot.groups.lock().await;
    let groups = client
        .groups()
        .get_participating()
        .await
        .map_err(|e| group_error("group list", e))?;
    let groups: Vec<Group> = groups.values().map(group_of).collect();
    Ok(stored::replace_all(db, session, &groups).await?)
}

/// Reads group `id` from WhatsApp and stores it (under the slot's group lock); when WhatsApp says
/// the account is not in it (any more), forgets it and answers why.
pub(super) async fn read_group(
    db: &Db,
    session: &str,
    slot: &Slot,
    client: &Client,
    id: &Jid,
) -> Result<Group, EngineError> {
    let _stored_after = slot.groups.lock().await;
    match client
        .groups()
        .get_metadata(id)
        .await
        .map_err(|e| group_error("group", e))
    {
        Ok(metadata) => {
            let group = group_of(&metadata);
            stored::put(db, session, &group).await?;
            Ok(group)
        }
        Err(gone @ (EngineError::Forbidden(_) | EngineError::Unknown(_))) => {
            stored::remove(db, session, &id.to_non_ad_string()).await?;
            Err(gone)
        }
        Err(other) => Err(other),
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

/// What WhatsApp answered for `asked` (an answer names the person by either JID form; one
/// WhatsApp left out counts as not found).
fn outcome_for(asked: &Jid, answered: &[ParticipantChangeResponse]) -> MemberOutcome {
    let found = answered.iter().find(|r| {
        r.jid.user == asked.user && r.jid.server == asked.server
            || r.phone_number
                .as_ref()
                .is_some_and(|pn| pn.user == asked.user && asked.is_pn())
    });
    match found {
        Some(answer) => MemberOutcome {
            participant: asked.clone(),
            error: answer.error.as_deref().map(|code| code.parse().unwrap_or(500)),
            invite: answer.add_request.as_ref().map(|r| (r.code.clone(), r.expiration)),
        },
        None => MemberOutcome {
            participant: asked.clone(),
            error: Some(404),
            invite: None,
        },
    }
}

/// `jid`'s phone number, `+` and digits, when it is a phone-number JID.
fn phone_of(jid: &Jid) -> Option<String> {
    jid.is_pn().then(|| format!("+{}", jid.user))
}

/// `jid` as a LID, when it is one.
fn lid_of(jid: &Jid) -> Option<String> {
    jid.is_lid().then(|| jid.to_non_ad_string())
}

/// The API's view of a group's metadata.
fn group_of(metadata: &GroupMetadata) -> Group {
    let creator = metadata.creator.as_ref();
    Group {
        id: metadata.id.to_non_ad_string(),
        name: metadata.subject.clone(),
        description: metadata.description.clone().filter(|d| !d.is_empty()),
        owner_lid: creator.and_then(lid_of),
        owner_phone_number: metadata
            .creator_pn
            .as_ref()
            .and_then(phone_of)
            .or_else(|| creator.and_then(phone_of)),
        created_at: metadata
            .creation_time
            .and_then(|t| DateTime::from_timestamp(i64::try_from(t).ok()?, 0)),
        participants: metadata
            .participants
            .iter()
            .map(|p| GroupParticipant {
                phone_number: p.phone_number.as_ref().and_then(phone_of).or_else(|| phone_of(&p.jid)),
                lid: p.lid.as_ref().and_then(lid_of).or_else(|| lid_of(&p.jid)),
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
