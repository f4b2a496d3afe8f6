//! Groups: list the session's groups, read one, create one, change one, leave one, and join one
//! by invite code. Changes and reads of one group ask WhatsApp through the session, which must be
//! connected; lists are answered from the groups the engine stores.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use whatsapp_rust::Jid;

use crate::auth::Caller;
use crate::commands::Command;
use crate::engine::{GroupSettings, Joined, MemberChange, MemberOutcome};
use crate::envelope::{Page, PageRequest};
use crate::error::ApiError;
use crate::messages::jid::{ContactId, parse_contact};
use crate::model::bounded::{
    Cursor, IntRule, ListRule, NOT_BLANK, PageLimit, TextRule, bounded_int, bounded_list, bounded_text, inline,
};
use crate::model::group::{Group, GroupJoinRequest, GroupParticipant};
use crate::pictures::SetPicture;
use crate::state::{AppState, SharedState};
use crate::store::groups as stored;

/// Where invite links point; a pasted link is accepted and its code used.
const INVITE_PREFIX: &str = "https://chat.whatsapp.com/";

bounded_text! {
    /// An invite code (WhatsApp's are 22 letters and digits), or a whole invite link.
    InviteCode = TextRule {
        min: 1,
        max: 90,
        pattern: Some((
            "^(https://chat\\.whatsapp\\.com/)?[A-Za-z0-9]{1,64}$",
            "an invite code (letters and digits, at most 64), or a https://chat.whatsapp.com/… link",
        )),
    };
}

bounded_text! {
    /// A group's JID, `<id>@g.us`.
    GroupId = TextRule {
        min: 6,
        max: 64,
        pattern: Some(("^[0-9][0-9-]{0,39}@g\\.us$", "a group JID, `<id>@g.us`")),
    };
}

bounded_text! {
    /// A group's name (WhatsApp's subject): 1 to 25 characters, not blank.
    GroupName = TextRule { min: 1, max: 25, pattern: Some(NOT_BLANK) };
}

bounded_list! {
    /// The people to add to a new group.
    GroupMembers(Vec<ContactId>) = ListRule { min: 1, max: 256, unique: true }, items = inline::<ContactId>();
}

crate::envelopes!(Group => GroupData, GroupPage);

/// A group to create.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"name": "Family", "participants": ["5511999999999@s.whatsapp.net"]}))]
pub struct CreateGroup {
    /// The group's name (its subject).
    #[schema(inline)]
    pub name: GroupName,
    /// The people to add, as JIDs (`<digits>@s.whatsapp.net` or `<id>@lid`), 1 to 256, each once.
    /// The session's account is added as the group's creator; WhatsApp leaves out anyone who is
    /// not on WhatsApp (compare with the answer's `participants`).
    #[schema(inline)]
    pub participants: GroupMembers,
}

bounded_text! {
    /// A group's description: up to 2,048 characters; empty removes it.
    GroupDescriptionText = TextRule { min: 0, max: 2048, pattern: None };
}

/// A new name for a group.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"value": "New Group Name"}))]
pub struct SetGroupName {
    /// The new name (WhatsApp's subject).
    #[schema(inline)]
    pub value: GroupName,
}

/// A new description for a group.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"value": "Weekly team sync, every Monday at 10 AM"}))]
pub struct SetGroupDescription {
    /// The new description; an empty one removes it.
    #[schema(inline)]
    pub value: GroupDescriptionText,
}

bounded_int! {
    /// Seconds before a group's messages disappear: 0 (they stay) up to 90 days.
    EphemeralSeconds = IntRule { min: 0, max: 7_776_000, text: false };
}

/// Settings to change on a group; those left out stay as they are.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"announce": true, "locked": true, "ephemeralSeconds": 604800}))]
pub struct UpdateGroupSettings {
    /// Only admins may send messages.
    #[serde(default)]
    pub announce: Option<bool>,
    /// Only admins may change the group's name, description and picture.
    #[serde(default)]
    pub locked: Option<bool>,
    /// Seconds before messages disappear; 0 turns disappearing messages off (WhatsApp offers
    /// 86400, 604800 and 7776000).
    #[serde(default)]
    #[schema(inline)]
    pub ephemeral_seconds: Option<EphemeralSeconds>,
    /// Joining by invite needs an admin's approval.
    #[serde(default)]
    pub approval_mode: Option<bool>,
}

/// People a member change is about.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"participants": ["5511999999999@s.whatsapp.net"]}))]
pub struct GroupParticipants {
    /// Their JIDs (`<digits>@s.whatsapp.net` or `<id>@lid`), 1 to 256, each once.
    #[schema(inline)]
    pub participants: GroupMembers,
}

/// What a member change did to one participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum MemberStatus {
    /// Added to the group.
    Added,
    /// Removed from the group.
    Removed,
    /// Made an admin.
    Promoted,
    /// Made a plain member.
    Demoted,
    /// Already a member: nothing to add.
    AlreadyMember,
    /// Let in: their request to join was approved.
    Approved,
    /// Their request to join was turned down.
    Rejected,
    /// Not on WhatsApp (adding), not in the group (the other changes), or with no pending
    /// request to join (approving, rejecting).
    NotFound,
    /// Their privacy settings refuse being added: WhatsApp gave an invite to send them instead
    /// (`inviteCode`, `inviteExpiresAt`).
    InviteRequired,
    /// WhatsApp refused it (e.g. demoting or removing the group's creator).
    Refused,
}

/// One participant's outcome of a member change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"participant": "5511999999999@s.whatsapp.net", "status": "added"}))]
pub struct MemberResult {
    /// The participant, as given.
    pub participant: String,
    /// What happened.
    pub status: MemberStatus,
    /// WhatsApp's error code when it was not done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// For `inviteRequired`: the invite code WhatsApp returned, to send them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_code: Option<String>,
    /// For `inviteRequired`: when that invite expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The outcome of a member change, participant by participant (what the routes answer; the
/// command gives its `data`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MemberResults {
    /// One result per participant given, in their order.
    pub data: Vec<MemberResult>,
}

/// A group's members.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GroupParticipantList {
    /// Every member.
    pub data: Vec<GroupParticipant>,
}

/// The people waiting to join a group.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GroupJoinRequestList {
    /// Every pending request, oldest first.
    pub data: Vec<GroupJoinRequest>,
}

/// A group's invite.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"code": "ABcDeFgHiJk", "link": "https://chat.whatsapp.com/ABcDeFgHiJk"}))]
pub struct GroupInvite {
    /// The invite code.
    pub code: String,
    /// The whole invite link.
    pub link: String,
}

crate::envelopes!(GroupInvite => GroupInviteData);

/// The query of an invite preview.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct InviteQuery {
    /// The invite code (or a whole `https://chat.whatsapp.com/…` link).
    #[param(inline, example = "ABcDeFgHiJk")]
    pub invite_code: InviteCode,
}

/// Parses a `groupId` by [`GroupId`]'s rule.
fn parse_group(group_id: &str) -> Result<Jid, ApiError> {
    let id =
        GroupId::parse(group_id).map_err(|why| ApiError::BadRequest(format!("invalid groupId `{group_id}`: {why}")))?;
    id.as_str()
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("`{group_id}` is not a group JID WhatsApp accepts")))
}

/// The query of a group list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupListQuery {
    /// The `cursor` of the previous page; omit for the first page.
    #[param(inline)]
    pub cursor: Option<Cursor>,
    /// Items per page (default 50).
    #[param(inline)]
    pub limit: Option<PageLimit>,
    /// Read the whole list from WhatsApp first (the session must be connected); otherwise the
    /// list is the one kept up to date from WhatsApp's notifications.
    #[serde(default)]
    pub refresh: bool,
}

/// One page of the groups the session's account is in, by id, as stored; the list is read from
/// WhatsApp first when asked to, or when it never was.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    session: &str,
    query: GroupListQuery,
) -> Result<Page<Group>, ApiError> {
    crate::sessions::find(state, caller, session).await?;
    let page = PageRequest::new(query.cursor.map(Cursor::into_inner), query.limit);
    let stored_page = || stored::page(&state.db, session, page.after.as_deref(), page.limit + 1);
    let groups = match (query.refresh, stored_page().await?) {
        (false, Some(groups)) => groups,
        _ => {
            state.engine.refresh_groups(session).await?;
            stored_page().await?.unwrap_or_default()
        }
    };
    Ok(Page::from_overfetch(groups, page.limit, |g| g.id.clone()))
}

/// Group `group_id`, as WhatsApp describes it now.
pub async fn get(state: &AppState, caller: &Caller, session: &str, group_id: &str) -> Result<Group, ApiError> {
    let id = parse_group(group_id)?;
    crate::sessions::find(state, caller, session).await?;
    Ok(state.engine.group(session, &id).await?)
}

/// Checks `request`; the command creates the group.
pub async fn create(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    request: CreateGroup,
) -> Result<Command<Group>, ApiError> {
    let participants = request
        .participants
        .as_slice()
        .iter()
        .map(|p| parse_contact(p.as_str()))
        .collect::<Result<Vec<_>, _>>()?;
    crate::sessions::find(state, caller, session).await?;
    let (state, session, name) = (state.clone(), session.to_owned(), request.name.as_str().to_owned());
    Ok(Box::pin(async move {
        Ok(state.engine.create_group(&session, &name, participants).await?)
    }))
}

/// Checks `group_id` and that the caller may use `session`; the command runs `run` with the state,
/// the session's name and the group's JID.
async fn group_command<T, Run, Done>(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    group_id: &str,
    run: Run,
) -> Result<Command<T>, ApiError>
where
    Run: FnOnce(SharedState, String, Jid) -> Done,
    Done: std::future::Future<Output = Result<T, ApiError>> + Send + 'static,
{
    let id = parse_group(group_id)?;
    crate::sessions::find(state, caller, session).await?;
    Ok(Box::pin(run(state.clone(), session.to_owned(), id)))
}

/// Checks `group_id`; the command takes the session's account out of the group.
pub async fn leave(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    group_id: &str,
) -> Result<Command<()>, ApiError> {
    group_command(state, caller, session, group_id, |state, session, id| async move {
        Ok(state.engine.leave_group(&session, &id).await?)
    })
    .await
}

/// Checks `group_id`; the command renames the group.
pub async fn set_name(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    group_id: &str,
    request: SetGroupName,
) -> Result<Command<()>, ApiError> {
    let name = request.value.as_str().to_owned();
    group_command(state, caller, session, group_id, |state, session, id| async move {
        Ok(state.engine.set_group_subject(&session, &id, &name).await?)
    })
    .await
}

/// Checks `group_id`; the command sets (or, when empty, removes) the group's description.
pub async fn set_description(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    group_id: &str,
    request: SetGroupDescription,
) -> Result<Command<()>, ApiError> {
    let text = Some(request.value.as_str().to_owned()).filter(|t| !t.is_empty());
    group_command(state, caller, session, group_id, |state, session, id| async move {
        Ok(state
            .engine
            .set_group_description(&session, &id, text.as_deref())
            .await?)
    })
    .await
}

/// Checks the request; the command applies the settings it gives (none: nothing changes), then
/// answers the group.
pub async fn set_settings(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    group_id: &str,
    request: UpdateGroupSettings,
) -> Result<Command<Group>, ApiError> {
    let settings = GroupSettings {
        announce: request.announce,
        locked: request.locked,
        ephemeral_seconds: request.ephemeral_seconds.map(|s| s.get()),
        approval_mode: request.approval_mode,
    };
    group_command(state, caller, session, group_id, |state, session, id| async move {
        state.engine.set_group_settings(&session, &id, settings).await?;
        Ok(state.engine.group(&session, &id).await?)
    })
    .await
}

/// Checks the request and the caller's access to `session`, then reads the picture (fetched or
/// decoded, then made a 640 px JPEG: nothing is fetched for a caller who may not use the
/// session); the command sets it as the group's picture.
pub async fn set_picture(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    group_id: &str,
    request: SetPicture,
) -> Result<Command<()>, ApiError> {
    let id = parse_group(group_id)?;
    crate::sessions::find(state, caller, session).await?;
    let jpeg = request.jpeg(&state.fetcher).await?;
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        Ok(state.engine.set_group_picture(&session, &id, Some(jpeg)).await?)
    }))
}

/// Checks `group_id`; the command removes the group's picture.
pub async fn remove_picture(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    group_id: &str,
) -> Result<Command<()>, ApiError> {
    group_command(state, caller, session, group_id, |state, session, id| async move {
        Ok(state.engine.set_group_picture(&session, &id, None).await?)
    })
    .await
}

/// Checks `group_id`; the command ends the group (its creator removes everyone, then leaves).
pub async fn delete(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    group_id: &str,
) -> Result<Command<()>, ApiError> {
    group_command(state, caller, session, group_id, |state, session, id| async move {
        Ok(state.engine.delete_group(&session, &id).await?)
    })
    .await
}

/// The people waiting for an admin to let them into group `group_id`.
pub async fn join_requests(
    state: &AppState,
    caller: &Caller,
    session: &str,
    group_id: &str,
) -> Result<GroupJoinRequestList, ApiError> {
    let id = parse_group(group_id)?;
    crate::sessions::find(state, caller, session).await?;
    Ok(GroupJoinRequestList {
        data: state.engine.join_requests(session, &id).await?,
    })
}

/// The members of group `group_id`.
pub async fn participants(
    state: &AppState,
    caller: &Caller,
    session: &str,
    group_id: &str,
) -> Result<GroupParticipantList, ApiError> {
    Ok(GroupParticipantList {
        data: get(state, caller, session, group_id).await?.participants,
    })
}

/// Checks the request; the command applies `change` to each participant and says what it did.
pub async fn change_members(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    group_id: &str,
    change: MemberChange,
    request: GroupParticipants,
) -> Result<Command<Vec<MemberResult>>, ApiError> {
    let people = request
        .participants
        .as_slice()
        .iter()
        .map(|p| parse_contact(p.as_str()))
        .collect::<Result<Vec<_>, _>>()?;
    group_command(state, caller, session, group_id, move |state, session, id| async move {
        let outcomes = state.engine.change_members(&session, &id, change, &people).await?;
        Ok(outcomes.into_iter().map(|o| member_result(change, o)).collect())
    })
    .await
}

/// The API's view of one participant's outcome.
fn member_result(change: MemberChange, outcome: MemberOutcome) -> MemberResult {
    let done = match change {
        MemberChange::Add => MemberStatus::Added,
        MemberChange::Remove => MemberStatus::Removed,
        MemberChange::Promote => MemberStatus::Promoted,
        MemberChange::Demote => MemberStatus::Demoted,
        MemberChange::Approve => MemberStatus::Approved,
        MemberChange::Reject => MemberStatus::Rejected,
    };
    let status = match (outcome.error, &outcome.invite) {
        (None, _) => done,
        (Some(403), Some(_)) => MemberStatus::InviteRequired,
        (Some(409), _) if change == MemberChange::Add => MemberStatus::AlreadyMember,
        (Some(404), _) => MemberStatus::NotFound,
        (Some(_), _) => MemberStatus::Refused,
    };
    let (invite_code, invite_expires_at) = match outcome.invite {
        Some((code, expires)) => (
            Some(code),
            i64::try_from(expires)
                .ok()
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0)),
        ),
        None => (None, None),
    };
    MemberResult {
        participant: outcome.participant.to_string(),
        status,
        code: outcome.error,
        invite_code,
        invite_expires_at,
    }
}

/// Checks `group_id`; the command answers the group's invite, a new one when `reset`.
pub async fn invite(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    group_id: &str,
    reset: bool,
) -> Result<Command<GroupInvite>, ApiError> {
    group_command(state, caller, session, group_id, |state, session, id| async move {
        let code = state.engine.group_invite(&session, &id, reset).await?;
        Ok(GroupInvite {
            link: format!("{INVITE_PREFIX}{code}"),
            code,
        })
    })
    .await
}

/// The group an invite points at, before joining it.
pub async fn preview(state: &AppState, caller: &Caller, session: &str, query: InviteQuery) -> Result<Group, ApiError> {
    let code = invite_code(&query.invite_code);
    crate::sessions::find(state, caller, session).await?;
    Ok(state.engine.group_invite_info(session, &code).await?)
}

/// An invite to join.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"code": "ABcDeFgHiJk"}))]
pub struct JoinGroup {
    /// The invite code, the part of the link after `chat.whatsapp.com/` (a whole link is accepted too).
    #[schema(inline)]
    pub code: InviteCode,
}

/// Whether the session is now a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum JoinStatus {
    /// The session is a member (a `group.update` with action `joined` was written).
    Joined,
    /// The group requires approval: an admin has to accept the request.
    PendingApproval,
}

/// The group an invite led to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "120363025246125486@g.us", "status": "joined"}))]
pub struct JoinedGroup {
    /// The group's JID.
    pub id: String,
    /// Whether the session is in, or waiting for approval.
    pub status: JoinStatus,
}

crate::envelopes!(JoinedGroup => JoinedGroupData);

/// The invite code in `code`, which may be a whole invite link.
fn invite_code(code: &InviteCode) -> String {
    let code = code.as_str();
    code.strip_prefix(INVITE_PREFIX).unwrap_or(code).to_owned()
}

/// Checks `request`; the command joins the group its invite points at.
pub async fn join(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    request: JoinGroup,
) -> Result<Command<JoinedGroup>, ApiError> {
    let code = invite_code(&request.code);
    crate::sessions::find(state, caller, session).await?;
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        Ok(match state.engine.join_group(&session, &code).await? {
            Joined::Member(group) => JoinedGroup {
                id: group.to_string(),
                status: JoinStatus::Joined,
            },
            Joined::PendingApproval(group) => JoinedGroup {
                id: group.to_string(),
                status: JoinStatus::PendingApproval,
            },
        })
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn group_ids_are_group_jids() {
        assert_eq!(
            parse_group("120363025246125486@g.us").unwrap().to_string(),
            "120363025246125486@g.us"
        );
        assert_eq!(
            parse_group("15550001111-1700000000@g.us").unwrap().to_string(),
            "15550001111-1700000000@g.us"
        );
        for bad in [
            "",
            "120363025246125486",
            "5511999999999@s.whatsapp.net",
            "abc@g.us",
            "1@g.us/x",
        ] {
            assert!(parse_group(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_code_or_a_whole_link_is_accepted_and_anything_else_refused() {
        let code = |text: &str| InviteCode::parse(text).map(|c| invite_code(&c));
        assert_eq!(code("ABcDeFgHiJk").unwrap(), "ABcDeFgHiJk");
        assert_eq!(code("https://chat.whatsapp.com/ABcDeFgHiJk").unwrap(), "ABcDeFgHiJk");
        for bad in [
            "",
            "https://chat.whatsapp.com/",
            "AB/../cd",
            "a b",
            " ABcDeFgHiJk",
            &"A".repeat(65),
        ] {
            assert!(code(bad).is_err(), "{bad:?}");
        }
    }
}
