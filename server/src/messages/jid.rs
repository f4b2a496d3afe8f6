//! Chat ids as the API takes them, and JIDRefs as responses and events show them.

use serde_json::{Value, json};
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

/// The chat a message belongs to, as stored: the JID without its device part, preferring the
/// phone-number form of a LID chat when WhatsApp told us both.
pub fn chat_key(chat: &Jid, alt: Option<&Jid>) -> String {
    match alt {
        Some(alt) if chat.is_lid() && alt.is_pn() => alt.to_non_ad_string(),
        _ => chat.to_non_ad_string(),
    }
}

/// A JIDRef: `{phoneNumber, lid, mode}` for people, `{id}` for groups and other chats.
pub fn jid_ref(jid: &str) -> Value {
    let Some((user, server)) = jid.split_once('@') else {
        return json!({ "id": jid });
    };
    match server {
        "s.whatsapp.net" => json!({ "phoneNumber": format!("+{user}"), "lid": null, "mode": "pn" }),
        "lid" => json!({ "phoneNumber": null, "lid": jid, "mode": "lid" }),
        _ => json!({ "id": jid }),
    }
}

/// The JIDRef of a person from the JIDs WhatsApp gave: `jid` (phone-number or LID form) and,
/// when known, `alt` (the other form), so both `phoneNumber` and `lid` are filled when possible;
/// `mode` says which form WhatsApp addressed them by.
pub fn person(jid: &Jid, alt: Option<&Jid>) -> Value {
    let (pn, lid, mode) = match alt {
        Some(alt) if jid.is_lid() && alt.is_pn() => (Some(alt), Some(jid), "lid"),
        Some(alt) if jid.is_pn() && alt.is_lid() => (Some(jid), Some(alt), "pn"),
        _ if jid.is_lid() => (None, Some(jid), "lid"),
        _ if jid.is_pn() => (Some(jid), None, "pn"),
        _ => return jid_ref(&jid.to_non_ad_string()),
    };
    json!({
        "phoneNumber": pn.map(|j| format!("+{}", j.user)),
        "lid": lid.map(Jid::to_non_ad_string),
        "mode": mode,
    })
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

    #[test]
    fn jid_refs_follow_the_documented_shape() {
        assert_eq!(
            jid_ref("5511999999999@s.whatsapp.net"),
            json!({"phoneNumber": "+5511999999999", "lid": null, "mode": "pn"})
        );
        assert_eq!(
            jid_ref("99@lid"),
            json!({"phoneNumber": null, "lid": "99@lid", "mode": "lid"})
        );
        assert_eq!(jid_ref("1-2@g.us"), json!({"id": "1-2@g.us"}));
    }

    #[test]
    fn a_person_has_both_forms_when_whatsapp_gave_both() {
        let pn: Jid = "5511999999999:3@s.whatsapp.net".parse().expect("pn");
        let lid: Jid = "77@lid".parse().expect("lid");
        assert_eq!(
            person(&lid, Some(&pn)),
            json!({"phoneNumber": "+5511999999999", "lid": "77@lid", "mode": "lid"})
        );
        assert_eq!(
            person(&pn, Some(&lid)),
            json!({"phoneNumber": "+5511999999999", "lid": "77@lid", "mode": "pn"})
        );
        assert_eq!(
            person(&pn, None),
            json!({"phoneNumber": "+5511999999999", "lid": null, "mode": "pn"})
        );
        let group: Jid = "1-2@g.us".parse().expect("group");
        assert_eq!(person(&group, None), json!({"id": "1-2@g.us"}));
    }
}
