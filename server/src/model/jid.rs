//! JIDRefs, the way event payloads name people and chats, and the chat keys messages are stored
//! under.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use whatsapp_rust::Jid;

use super::wire::wire_enum;

wire_enum! {
    /// Which form of a person's JID WhatsApp addressed them by.
    Addressing as "lowercase" {
        /// The phone-number JID (`<digits>@s.whatsapp.net`).
        Pn => "pn",
        /// The LID (`<id>@lid`), WhatsApp's number-hiding identity.
        Lid => "lid",
    }
}

/// A JIDRef: `{phoneNumber, lid, mode}` for a person, `{id}` for a group, channel or other chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum JidRef {
    /// A person.
    Person(PersonRef),
    /// A group (`@g.us`), channel (`@newsletter`) or other chat that is not a person.
    Chat(ChatRef),
}

/// A person, in both JID forms when the session knows both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonRef {
    /// The phone number, `+` and digits; null when only the LID is known.
    pub phone_number: Option<String>,
    /// The LID, `<id>@lid`; null when only the phone number is known.
    pub lid: Option<String>,
    /// The form WhatsApp addressed them by.
    pub mode: Addressing,
}

/// A chat that is not a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChatRef {
    /// Its JID, e.g. `120363025246125486@g.us`.
    pub id: String,
}

impl JidRef {
    /// The JIDRef of a stored chat key or JID string: a person in the one form it has, or a chat.
    pub fn of(jid: &str) -> Self {
        match jid.split_once('@') {
            Some((user, "s.whatsapp.net")) => Self::Person(PersonRef {
                phone_number: Some(format!("+{user}")),
                lid: None,
                mode: Addressing::Pn,
            }),
            Some((_, "lid")) => Self::Person(PersonRef {
                phone_number: None,
                lid: Some(jid.to_owned()),
                mode: Addressing::Lid,
            }),
            _ => Self::Chat(ChatRef { id: jid.to_owned() }),
        }
    }

    /// The JIDRef of a person from the JIDs WhatsApp gave: `jid` (phone-number or LID form) and,
    /// when known, `alt` (the other form), so both `phoneNumber` and `lid` are filled when
    /// possible; `mode` says which form WhatsApp addressed them by.
    pub fn person(jid: &Jid, alt: Option<&Jid>) -> Self {
        let (pn, lid, mode) = match alt {
            Some(alt) if jid.is_lid() && alt.is_pn() => (Some(alt), Some(jid), Addressing::Lid),
            Some(alt) if jid.is_pn() && alt.is_lid() => (Some(jid), Some(alt), Addressing::Pn),
            _ if jid.is_lid() => (None, Some(jid), Addressing::Lid),
            _ if jid.is_pn() => (Some(jid), None, Addressing::Pn),
            _ => return Self::of(&jid.to_non_ad_string()),
        };
        Self::Person(PersonRef {
            phone_number: pn.map(|j| format!("+{}", j.user)),
            lid: lid.map(Jid::to_non_ad_string),
            mode,
        })
    }
}

impl JidRef {
    /// The one form a person is known by, as a JID user part (`<digits>` or the LID's id), when
    /// the other is missing: what the session's LID mapping can complete.
    pub fn known_form(&self) -> Option<(Addressing, &str)> {
        match self {
            Self::Person(PersonRef {
                phone_number: Some(pn),
                lid: None,
                ..
            }) => Some((Addressing::Pn, pn.trim_start_matches('+'))),
            Self::Person(PersonRef {
                phone_number: None,
                lid: Some(lid),
                ..
            }) => Some((Addressing::Lid, lid.trim_end_matches("@lid"))),
            _ => None,
        }
    }

    /// Fills the form a person lacks from a LID mapping (both as JID user parts); a chat, or a
    /// form already known, is left as it is.
    pub fn complete(&mut self, phone_user: &str, lid_user: &str) {
        if let Self::Person(person) = self {
            if person.phone_number.is_none() {
                person.phone_number = Some(format!("+{phone_user}"));
            }
            if person.lid.is_none() {
                person.lid = Some(format!("{lid_user}@lid"));
            }
        }
    }
}

/// The JID a status post goes to: the account's status, seen by the audience the post names.
pub const STATUS_BROADCAST: &str = "status@broadcast";

/// The chat a message belongs to, as stored: the JID without its device part, preferring the
/// phone-number form of a LID chat when WhatsApp told us both.
pub fn chat_key(chat: &Jid, alt: Option<&Jid>) -> String {
    match alt {
        Some(alt) if chat.is_lid() && alt.is_pn() => alt.to_non_ad_string(),
        _ => chat.to_non_ad_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn wire(jid: &JidRef) -> serde_json::Value {
        serde_json::to_value(jid).unwrap_or_default()
    }

    #[test]
    fn jid_refs_follow_the_documented_shape() {
        assert_eq!(
            wire(&JidRef::of("5511999999999@s.whatsapp.net")),
            json!({"phoneNumber": "+5511999999999", "lid": null, "mode": "pn"})
        );
        assert_eq!(
            wire(&JidRef::of("99@lid")),
            json!({"phoneNumber": null, "lid": "99@lid", "mode": "lid"})
        );
        assert_eq!(wire(&JidRef::of("1-2@g.us")), json!({"id": "1-2@g.us"}));
    }

    #[test]
    fn a_person_has_both_forms_when_whatsapp_gave_both() {
        let pn: Jid = "5511999999999:3@s.whatsapp.net".parse().expect("pn");
        let lid: Jid = "77@lid".parse().expect("lid");
        assert_eq!(
            wire(&JidRef::person(&lid, Some(&pn))),
            json!({"phoneNumber": "+5511999999999", "lid": "77@lid", "mode": "lid"})
        );
        assert_eq!(
            wire(&JidRef::person(&pn, Some(&lid))),
            json!({"phoneNumber": "+5511999999999", "lid": "77@lid", "mode": "pn"})
        );
        assert_eq!(
            wire(&JidRef::person(&pn, None)),
            json!({"phoneNumber": "+5511999999999", "lid": null, "mode": "pn"})
        );
        let group: Jid = "1-2@g.us".parse().expect("group");
        assert_eq!(wire(&JidRef::person(&group, None)), json!({"id": "1-2@g.us"}));
    }

    #[test]
    fn a_mapping_completes_a_person_and_nothing_else() {
        let mut pn = JidRef::of("5511999999999@s.whatsapp.net");
        assert_eq!(pn.known_form(), Some((Addressing::Pn, "5511999999999")));
        pn.complete("5511999999999", "77");
        assert_eq!(
            wire(&pn),
            json!({"phoneNumber": "+5511999999999", "lid": "77@lid", "mode": "pn"})
        );
        assert_eq!(pn.known_form(), None);
        let mut lid = JidRef::of("77@lid");
        assert_eq!(lid.known_form(), Some((Addressing::Lid, "77")));
        lid.complete("5511999999999", "77");
        assert_eq!(
            wire(&lid),
            json!({"phoneNumber": "+5511999999999", "lid": "77@lid", "mode": "lid"})
        );
        let mut group = JidRef::of("1-2@g.us");
        assert_eq!(group.known_form(), None);
        group.complete("1", "2");
        assert_eq!(wire(&group), json!({"id": "1-2@g.us"}));
    }
}
