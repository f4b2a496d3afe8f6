//! Chat ids as the API takes them.

use whatsapp_rust::Jid;

use crate::error::ApiError;

/// Parses a `chatId`: a user (`<digits>@s.whatsapp.net`), a LID (`<id>@lid`) or a group
/// (`<id>@g.us`) JID, without a device part.
pub fn parse_chat(chat_id: &str) -> Result<Jid, ApiError> {
    let invalid = || {
        ApiError::BadRequest(format!(
            "invalid chatId `{chat_id}`: use `<phone digits>@s.whatsapp.net`, `<lid>@lid` or `<group id>@g.us`"
        ))
    };
    let jid: Jid = chat_id.parse().map_err(|_| invalid())?;
    let (user, server) = chat_id.split_once('@').ok_or_else(invalid)?;
    let digits = !user.is_empty() && user.bytes().all(|b| b.is_ascii_digit());
    let ok = match server {
        "s.whatsapp.net" | "lid" => digits,
        "g.us" => !user.is_empty() && user.bytes().all(|b| b.is_ascii_digit() || b == b'-'),
        _ => false,
    };
    if ok { Ok(jid) } else { Err(invalid()) }
}

#[cfg(test)]
mod tests {
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
        ] {
            assert!(parse_chat(bad).is_err(), "{bad}");
        }
    }
}
