//! WhatsApp channels (newsletters): create one, list those the account owns or follows, look one
//! up by id or invite code, follow, unfollow, mute, rename and delete. Posts go through the
//! unified send with the channel's `…@newsletter` id as `chatId`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use whatsapp_rust::Jid;

use crate::auth::Caller;
use crate::commands::Command;
use crate::engine::{ChannelChange, ChannelKey};
use crate::error::ApiError;
use crate::model::bounded::{NOT_BLANK, TextRule, bounded_text};
use crate::model::channel::Channel;
use crate::pictures::SetPicture;
use crate::state::SharedState;

bounded_text! {
    /// A channel's JID: `<id>@newsletter`.
    ChannelId = TextRule {
        min: 1,
        max: 64,
        pattern: Some(("^[0-9]{1,40}@newsletter$", "a channel JID, `<digits>@newsletter`")),
    };
}

bounded_text! {
    /// A channel's name (WhatsApp's limit).
    ChannelName = TextRule { min: 1, max: 100, pattern: Some(NOT_BLANK) };
}

bounded_text! {
    /// A channel's description (WhatsApp's limit; `""` clears it when changing a channel).
    ChannelDescription = TextRule { min: 0, max: 2048, pattern: None };
}

bounded_text! {
    /// A channel invite code (the end of `https://whatsapp.com/channel/<code>`).
    InviteCode = TextRule { min: 1, max: 64, pattern: Some(("^[A-Za-z0-9_-]{1,64}$", "an invite code: letters, digits, `_` and `-`")) };
}

crate::envelopes!(Channel => ChannelData);

/// The channels the account owns or follows.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChannelList {
    /// The channels.
    pub data: Vec<Channel>,
}

/// A channel to create.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"name": "Titan news", "description": "Releases and tips"}))]
pub struct CreateChannel {
    /// Its name.
    #[schema(inline)]
    pub name: ChannelName,
    /// Its description.
    #[serde(default)]
    #[schema(inline)]
    pub description: Option<ChannelDescription>,
    /// Its picture (`url` or `base64` of a JPEG, PNG or WebP; made a JPEG of at most 640 px).
    #[serde(default)]
    pub picture: Option<SetPicture>,
}

/// What to change of a channel: its name, its description, or both (neither changes nothing).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"name": "Titan releases"}))]
pub struct UpdateChannel {
    /// Its new name.
    #[serde(default)]
    #[schema(inline)]
    pub name: Option<ChannelName>,
    /// Its new description (`""` removes it).
    #[serde(default)]
    #[schema(inline)]
    pub description: Option<ChannelDescription>,
}

/// What can be done to a channel the account follows or owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelAction {
    /// Stop following it.
    Unfollow,
    /// Silence its notifications.
    Mute,
    /// Hear its notifications again.
    Unmute,
}

/// Parses a channel id by [`ChannelId`]'s rule.
fn parse_channel(channel_id: &str) -> Result<Jid, ApiError> {
    let checked = ChannelId::parse(channel_id)
        .map_err(|why| ApiError::BadRequest(format!("invalid channel id `{channel_id}`: {why}")))?;
    crate::messages::jid::jid(checked.as_str())
}

/// Checks `request`; the command creates the channel, owned by the session's account.
pub async fn create(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    request: CreateChannel,
) -> Result<Command<Channel>, ApiError> {
    crate::sessions::find(state, caller, session).await?;
    let picture = match request.picture {
        Some(picture) => Some(picture.jpeg(&state.fetcher).await?),
        None => None,
    };
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        let description = request
            .description
            .as_ref()
            .map(ChannelDescription::as_str)
            .filter(|d| !d.is_empty());
        Ok(state
            .engine
            .create_channel(&session, request.name.as_str(), description, picture)
            .await?)
    }))
}

/// The channels the account owns or follows, as WhatsApp lists them now.
pub async fn list(state: &SharedState, caller: &Caller, session: &str) -> Result<ChannelList, ApiError> {
    crate::sessions::find(state, caller, session).await?;
    Ok(ChannelList {
        data: state.engine.channels(session).await?,
    })
}

/// Channel `channel_id` as WhatsApp describes it to the account.
pub async fn get(state: &SharedState, caller: &Caller, session: &str, channel_id: &str) -> Result<Channel, ApiError> {
    let jid = parse_channel(channel_id)?;
    crate::sessions::find(state, caller, session).await?;
    Ok(state.engine.channel(session, ChannelKey::Jid(&jid)).await?)
}

/// The channel invite code `code` opens.
pub async fn by_invite(state: &SharedState, caller: &Caller, session: &str, code: &str) -> Result<Channel, ApiError> {
    let code = InviteCode::parse(code).map_err(|why| ApiError::BadRequest(format!("invalid invite code: {why}")))?;
    crate::sessions::find(state, caller, session).await?;
    Ok(state.engine.channel(session, ChannelKey::Invite(code.as_str())).await?)
}

/// Checks the id; the command follows the channel and answers it.
pub async fn follow(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    channel_id: &str,
) -> Result<Command<Channel>, ApiError> {
    let jid = parse_channel(channel_id)?;
    crate::sessions::find(state, caller, session).await?;
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        Ok(state.engine.follow_channel(&session, &jid).await?)
    }))
}

/// Checks the id; the command unfollows, mutes or unmutes the channel.
pub async fn act(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    channel_id: &str,
    action: ChannelAction,
) -> Result<Command<()>, ApiError> {
    let jid = parse_channel(channel_id)?;
    crate::sessions::find(state, caller, session).await?;
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        let engine = &state.engine;
        match action {
            ChannelAction::Unfollow => engine.unfollow_channel(&session, &jid).await?,
            ChannelAction::Mute => engine.mute_channel(&session, &jid, true).await?,
            ChannelAction::Unmute => engine.mute_channel(&session, &jid, false).await?,
        }
        Ok(())
    }))
}

/// Checks `request`; the command renames or redescribes the channel and answers it (a request
/// that names neither answers the channel as it is).
pub async fn update(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    channel_id: &str,
    request: UpdateChannel,
) -> Result<Command<Channel>, ApiError> {
    let jid = parse_channel(channel_id)?;
    crate::sessions::find(state, caller, session).await?;
    let change = ChannelChange {
        name: request.name.map(ChannelName::into_inner),
        description: request.description.map(ChannelDescription::into_inner),
    };
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        let engine = &state.engine;
        if change.name.is_none() && change.description.is_none() {
            return Ok(engine.channel(&session, ChannelKey::Jid(&jid)).await?);
        }
        Ok(engine.update_channel(&session, &jid, &change).await?)
    }))
}

/// Checks the id; the command deletes the channel (its owner only).
pub async fn delete(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    channel_id: &str,
) -> Result<Command<()>, ApiError> {
    let jid = parse_channel(channel_id)?;
    crate::sessions::find(state, caller, session).await?;
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        Ok(state.engine.delete_channel(&session, &jid).await?)
    }))
}
