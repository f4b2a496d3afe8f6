//! Status posts (stories) through the unified send: `chatId` `status@broadcast`, type `text`,
//! `image` or `video`, the scope `status:write` besides `messages:write`, an optional audience
//! (`recipients`, by default the session's address book) and, for a text, its background colour
//! and font.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use whatsapp_rust::Jid;
use whatsapp_rust::wacore_binary::jid::JidExt as _;

use super::SendMessage;
use super::content::MessageType;
use super::jid::{self, ContactId};
use crate::auth::{Caller, Scope};
use crate::engine::{FontType, StatusPost};
use crate::error::ApiError;
use crate::model::bounded::{ListRule, TextRule, bounded_list, bounded_text, inline};

/// A text post's background when the caller names none (WhatsApp's dark green).
const DEFAULT_BACKGROUND: u32 = 0xFF1E_6E4F;

bounded_list! {
    /// The people who see a status post: phone-number or LID JIDs.
    StatusRecipients(Vec<ContactId>) = ListRule { min: 0, max: 5000, unique: false }, items = inline::<ContactId>();
}

bounded_text! {
    /// A colour, `#RRGGBB` (opaque) or `#AARRGGBB`.
    BackgroundColor = TextRule {
        min: 7,
        max: 9,
        pattern: Some(("^#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})$", "`#RRGGBB` or `#AARRGGBB`")),
    };
}

/// The font of a text status, as WhatsApp's apps name them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusFont {
    /// The system font (the default).
    #[default]
    System,
    /// The system's text font.
    SystemText,
    /// A script font.
    FbScript,
    /// The system font, bold.
    SystemBold,
    /// Morning Breeze.
    MorningbreezeRegular,
    /// Calistoga.
    CalistogaRegular,
    /// Exo 2, extra bold.
    Exo2Extrabold,
    /// Courier Prime, bold.
    CourierprimeBold,
}

impl From<StatusFont> for FontType {
    fn from(font: StatusFont) -> Self {
        match font {
            StatusFont::System => Self::SYSTEM,
            StatusFont::SystemText => Self::SYSTEM_TEXT,
            StatusFont::FbScript => Self::FB_SCRIPT,
            StatusFont::SystemBold => Self::SYSTEM_BOLD,
            StatusFont::MorningbreezeRegular => Self::MORNINGBREEZE_REGULAR,
            StatusFont::CalistogaRegular => Self::CALISTOGA_REGULAR,
            StatusFont::Exo2Extrabold => Self::EXO2_EXTRABOLD,
            StatusFont::CourierprimeBold => Self::COURIERPRIME_BOLD,
        }
    }
}

/// Posting to (or deleting from) the account's status needs `status:write`.
pub fn require_scope(caller: &Caller, target: &Jid) -> Result<(), ApiError> {
    if target.is_status_broadcast() {
        caller.grant.require_scope(Scope::StatusWrite)?;
    }
    Ok(())
}

/// The status post `request` asks for when it goes to `target` (`None` for a chat), once its
/// fields are checked: the status-only fields are refused elsewhere, and a status takes only a
/// text, a picture or a video.
pub fn post(caller: &Caller, request: &SendMessage, target: &Jid) -> Result<Option<StatusPost>, ApiError> {
    let styled = request.background_color.is_some() || request.font.is_some();
    if !target.is_status_broadcast() {
        if styled || !request.recipients.as_slice().is_empty() {
            return Err(ApiError::BadRequest(
                "`recipients`, `backgroundColor` and `font` are for status posts (chatId `status@broadcast`)".into(),
            ));
        }
        return Ok(None);
    }
    require_scope(caller, target)?;
    if !matches!(
        request.kind,
        MessageType::Text | MessageType::Image | MessageType::Video
    ) {
        return Err(ApiError::BadRequest(
            "a status post is a `text`, an `image` or a `video`".into(),
        ));
    }
    if styled && request.kind != MessageType::Text {
        return Err(ApiError::BadRequest(
            "`backgroundColor` and `font` are for text status posts".into(),
        ));
    }
    if request.quoted_message_id.is_some() {
        return Err(ApiError::BadRequest("a status post cannot quote a message".into()));
    }
    let recipients = match request.recipients.as_slice() {
        [] => None,
        named => Some(
            named
                .iter()
                .map(|r| jid::parse_contact(r.as_str()))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(Some(StatusPost {
        recipients,
        background_argb: request
            .background_color
            .as_ref()
            .map_or(DEFAULT_BACKGROUND, |c| argb(c.as_str())),
        font: request.font.unwrap_or_default().into(),
    }))
}

/// `0xAARRGGBB` of a checked `#RRGGBB` (opaque) or `#AARRGGBB`.
fn argb(color: &str) -> u32 {
    let hex = color.trim_start_matches('#');
    let value = u32::from_str_radix(hex, 16).unwrap_or(DEFAULT_BACKGROUND);
    if hex.len() == 6 { 0xFF00_0000 | value } else { value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_read_with_or_without_alpha() {
        assert_eq!(argb("#1E6E4F"), 0xFF1E_6E4F);
        assert_eq!(argb("#801e6e4f"), 0x801E_6E4F);
        assert!(BackgroundColor::parse("#12345").is_err());
        assert!(BackgroundColor::parse("red").is_err());
    }
}
