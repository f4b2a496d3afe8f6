//! Chat ids as the API takes them.

use whatsapp_rust::Jid;

use crate::error::ApiError;
use crate::model::bounded::{TextRule, bounded_text};
pub use crate::model::jid::STATUS_BROADCAST;

bounded_text! {
    /// A chat: a user (`<digits>@s.whatsapp.net`), a LID (`<id>@lid`) or a group (`<id>@g.us`)
    /// JID, without a device part.
    ChatId = TextRule {
        min: 1,
        max: 64,
        pattern: Some((
            "^([0-9]{1,20}@(s\\.whatsapp\\.net|lid)|[0-9][0-9-]{0,39}@g\\.us)$",
            "`<phone digits>@s.whatsapp.net`, `<lid>@lid` or `<group id>@g.us`",
        )),
    };
}

bounded_text! {
    /// Where a message goes: a chat (as [`ChatId`]), a channel (`<id>@newsletter`) or
    /// `status@broadcast`, the account's status.
    SendTo = TextRule {
        min: 1,
        max: 64,
        pattern: Some((
            "^([0-9]{1,20}@(s\\.whatsapp\\.net|lid)|[0-9][0-9-]{0,39}@g\\.us|[0-9]{1,40}@newsletter|status@broadcast)$",
            "`<phone digits>@s.whatsapp.net`, `<lid>@lid`, `<group id>@g.us`, `<channel id>@newsletter` or `status@broadcast`",
        )),
    };
}

bounded_text! {
    /// A person: a user (`<digits>@s.whatsapp.net`) or LID (`<id>@lid`) JID, not a group.
    ContactId = TextRule {
        min: 1,
        max: 64,
        pattern: Some((
            "^[0-9]{1,20}@(s\\.whatsapp\\.net|lid)$",
            "`<phone digits>@s.whatsapp.net` or `<lid>@lid`",
        )),
    };
}

/// Parses a `chatId` by [`ChatId`]'s rule.
pub fn parse_chat(chat_id: &str) -> Result<Jid, ApiError> {
    let chat =
        ChatId::parse(chat_id).map_err(|why| ApiError::BadRequest(format!("invalid chatId `{chat_id}`: {why}")))?;
    jid(chat.as_str())
}

/// Parses a `chatId` a message is sent to (or deleted from) by [`SendTo`]'s rule.
pub fn parse_target(chat_id: &str) -> Result<Jid, ApiError> {
    let target =
        SendTo::parse(chat_id).map_err(|why| ApiError::BadRequest(format!("invalid chatId `{chat_id}`: {why}")))?;
    jid(target.as_str())
}

/// Parses a contact by [`ContactId`]'s rule.
pub fn parse_contact(contact_id: &str) -> Result<Jid, ApiError> {
    let contact = ContactId::parse(contact_id)
        .map_err(|why| ApiError::BadRequest(format!("invalid contact `{contact_id}`: {why}")))?;
    jid(contact.as_str())
}

/// The JID of a checked id (the rules admit only what whatsapp-rust parses).
pub fn jid(checked: &str) -> Result<Jid, ApiError> {
    checked
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("`{checked}` is not a JID WhatsApp accepts")))
}

#[cfg(test)]
mod tests {
    use whatsapp_rust::wacore_binary::jid::JidExt as _;

    use super::*;

    #[test]
    fn chat_ids_are_checked() {
        for ok in [
            "5511999999999@s.whatsapp.net",
            "123456789@lid",
            "120363025246125486@g.us",
            "5511-1600000000@g.us",
        ] {
            assert!(parse_chat(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "5511",
            "+5511@s.whatsapp.net",
            "abc@s.whatsapp.net",
            "1@example.com",
            "1:2@s.whatsapp.net",
            "-@g.us",
            "5511999999999@s.whatsapp.net\n",
        ] {
            assert!(parse_chat(bad).is_err(), "{bad}");
        }
        assert!(parse_chat(STATUS_BROADCAST).is_err(), "the status is not a chat");
        assert!(parse_target(STATUS_BROADCAST).is_ok_and(|jid| jid.is_status_broadcast()));
        assert!(parse_target("5511999999999@s.whatsapp.net").is_ok());
        assert!(parse_target("other@broadcast").is_err());
        assert!(parse_target("120363012345678901@newsletter").is_ok_and(|jid| jid.is_newsletter()));
        assert!(parse_contact("123456789@lid").is_ok());
        assert!(
            parse_contact("120363025246125486@g.us").is_err(),
            "a group is not a contact"
        );
    }
}
