//! Channels (newsletters): WhatsApp keeps them, so every read and change goes to WhatsApp
//! through the session's client (MEX operations), and answers the channel as WhatsApp now
//! describes it to the account.

use base64::Engine as _;
use whatsapp_rust::features::{
    MexError, MexRequest, NewsletterError, NewsletterMetadata, NewsletterRole, NewsletterState, NewsletterVerification,
};
use whatsapp_rust::wacore::iq::mex_operations::{create_newsletter, delete_newsletter};
use whatsapp_rust::{IqError, Jid};

use super::{Engine, EngineError};
use crate::model::channel::{Channel, ChannelRole, ChannelState};

/// A change to a channel's name and description (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct ChannelChange {
    /// Its new name.
    pub name: Option<String>,
    /// Its new description (`""` clears it).
    pub description: Option<String>,
}

impl Engine {
    /// Creates a channel the account owns, with a JPEG picture when one is given.
    pub async fn create_channel(
        &self,
        session: &str,
        name: &str,
        description: Option<&str>,
        picture: Option<Vec<u8>>,
    ) -> Result<Channel, EngineError> {
        let client = self.require_connected(session)?;
        let Some(jpeg) = picture else {
            let created = client
                .newsletter()
                .create(name, description)
                .await
                .map_err(|e| channel_error("channel creation", e))?;
            return Ok(channel(created));
        };
        // whatsapp-rust's `create` sends no picture; the operation itself takes one.
        let request = MexRequest::new(
            create_newsletter::NAME,
            create_newsletter::DOC_ID,
            create_newsletter::Variables {
                input: Some(create_newsletter::Input {
                    name: Some(name.to_owned()),
                    description: description.map(str::to_owned),
                    picture: Some(base64::engine::general_purpose::STANDARD.encode(jpeg)),
                }),
            },
        );
        let answer = client
            .mex()
            .mutate(request)
            .await
            .map_err(|e| channel_error("channel creation", NewsletterError::Mex(e)))?;
        let id = answer
            .data
            .as_ref()
            .and_then(|d| d["xwa2_newsletter_create"]["id"].as_str())
            .and_then(|id| id.parse::<Jid>().ok())
            .ok_or_else(|| EngineError::Upstream("WhatsApp did not confirm the channel creation".into()))?;
        self.channel(session, ChannelKey::Jid(&id)).await
    }

    /// The channels the account owns or follows.
    pub async fn channels(&self, session: &str) -> Result<Vec<Channel>, EngineError> {
        let client = self.require_connected(session)?;
        let all = client
            .newsletter()
            .list_subscribed()
            .await
            .map_err(|e| channel_error("channel list", e))?;
        Ok(all.into_iter().map(channel).collect())
    }

    /// Channel `jid`, or the channel invite code `code` opens.
    pub async fn channel(&self, session: &str, key: ChannelKey<'_>) -> Result<Channel, EngineError> {
        let client = self.require_connected(session)?;
        let newsletter = client.newsletter();
        let found = match key {
            ChannelKey::Jid(jid) => newsletter.get_metadata(jid).await,
            ChannelKey::Invite(code) => newsletter.get_metadata_by_invite(code).await,
        };
        Ok(channel(found.map_err(|e| channel_error("channel lookup", e))?))
    }

    /// Follows channel `jid`.
    pub async fn follow_channel(&self, session: &str, jid: &Jid) -> Result<Channel, EngineError> {
        let client = self.require_connected(session)?;
        client
            .newsletter()
            .join(jid)
            .await
            .map_err(|e| channel_error("follow", e))?;
        self.channel(session, ChannelKey::Jid(jid)).await
    }

    /// Stops following channel `jid`.
    pub async fn unfollow_channel(&self, session: &str, jid: &Jid) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        client
            .newsletter()
            .leave(jid)
            .await
            .map_err(|e| channel_error("unfollow", e))
    }

    /// Mutes (or unmutes) channel `jid`'s notifications on the account's devices.
    pub async fn mute_channel(&self, session: &str, jid: &Jid, muted: bool) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        client
            .newsletter()
            .set_follower_mute(jid, muted)
            .await
            .map_err(|e| channel_error("mute", e))
    }

    /// Renames or redescribes channel `jid` (its owner and admins only); its followers get
    /// `newsletter.update`.
    pub async fn update_channel(
        &self,
        session: &str,
        jid: &Jid,
        change: &ChannelChange,
    ) -> Result<Channel, EngineError> {
        let client = self.require_connected(session)?;
        let updated = client
            .newsletter()
            .update(jid, change.name.as_deref(), change.description.as_deref())
            .await
            .map_err(|e| channel_error("channel change", e))?;
        Ok(channel(updated))
    }

    /// Deletes channel `jid` for good (its owner only).
    pub async fn delete_channel(&self, session: &str, jid: &Jid) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        let request = MexRequest::new(
            delete_newsletter::NAME,
            delete_newsletter::DOC_ID,
            delete_newsletter::Variables {
                newsletter_id: Some(jid.to_string()),
            },
        );
        let answer = client
            .mex()
            .mutate(request)
            .await
            .map_err(|e| channel_error("channel deletion", NewsletterError::Mex(e)))?;
        match answer.data.as_ref().map(|d| &d["xwa2_newsletter_delete_v2"]) {
            Some(deleted) if !deleted.is_null() => Ok(()),
            _ => Err(EngineError::Upstream(
                "WhatsApp did not confirm the channel deletion".into(),
            )),
        }
    }

    /// Refuses a post to channel `jid` unless the account owns or administers it: WhatsApp takes
    /// channel posts without an answer, so a refused post would otherwise look sent.
    pub(super) async fn require_channel_poster(&self, session: &str, jid: &Jid) -> Result<(), EngineError> {
        let found = self.channel(session, ChannelKey::Jid(jid)).await?;
        match found.role {
            Some(ChannelRole::Owner | ChannelRole::Admin) => Ok(()),
            _ => Err(EngineError::Forbidden(format!(
                "only the owner and admins of channel `{jid}` can post to it"
            ))),
        }
    }
}

/// How a channel is looked up.
#[derive(Debug, Clone, Copy)]
pub enum ChannelKey<'a> {
    /// By its JID.
    Jid(&'a Jid),
    /// By an invite code.
    Invite(&'a str),
}

/// A channel as WhatsApp describes it.
fn channel(metadata: NewsletterMetadata) -> Channel {
    Channel {
        id: metadata.jid.to_string(),
        name: metadata.name,
        description: metadata.description,
        subscriber_count: metadata.subscriber_count,
        verified: metadata.verification == NewsletterVerification::Verified,
        state: match metadata.state {
            NewsletterState::Suspended => ChannelState::Suspended,
            NewsletterState::Geosuspended => ChannelState::Geosuspended,
            _ => ChannelState::Active,
        },
        role: metadata.role.map(|role| match role {
            NewsletterRole::Owner => ChannelRole::Owner,
            NewsletterRole::Admin => ChannelRole::Admin,
            NewsletterRole::Subscriber => ChannelRole::Subscriber,
            _ => ChannelRole::Guest,
        }),
        invite_url: metadata
            .invite_code
            .as_ref()
            .map(|code| format!("https://whatsapp.com/channel/{code}")),
        invite_code: metadata.invite_code,
        profile_url: metadata.picture_url,
        created_at: metadata
            .creation_time
            .and_then(|t| i64::try_from(t).ok())
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0)),
    }
}

/// What a failed channel operation means for the caller: no such channel (404), not the
/// account's to change (403), a lost connection (409), or WhatsApp's failure (502).
fn channel_error(what: &str, error: NewsletterError) -> EngineError {
    let iq = match &error {
        NewsletterError::Mex(MexError::Request(iq)) | NewsletterError::Iq(iq) => Some(iq),
        _ => None,
    };
    match (iq, &error) {
        (Some(IqError::ServerError { code: 403, .. }), _) => EngineError::Forbidden(format!(
            "WhatsApp refused the {what}: the account does not own the channel"
        )),
        (Some(iq), _) => EngineError::refused_iq(what, iq),
        (None, NewsletterError::InvalidRequest(why)) if why.contains("not found") => {
            EngineError::Unknown(format!("WhatsApp has no such channel: {why}"))
        }
        _ => EngineError::refused(what, error),
    }
}
