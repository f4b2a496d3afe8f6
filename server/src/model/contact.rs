//! Contacts as the API shows them: whether numbers are on WhatsApp, how LIDs map to phone
//! numbers, profile pictures, and the session's own profile.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What WhatsApp says of one phone number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"phoneNumber": "+5511999999999", "onWhatsapp": true,
    "jid": "5511999999999@s.whatsapp.net", "lid": "123456789@lid", "isBusiness": false}))]
pub struct NumberCheck {
    /// The number, `+` and digits, as asked.
    pub phone_number: String,
    /// Whether an account uses it.
    pub on_whatsapp: bool,
    /// The account's phone-number JID, to send to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jid: Option<String>,
    /// The account's LID, when WhatsApp gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lid: Option<String>,
    /// Whether it is a WhatsApp Business account.
    pub is_business: bool,
    /// The business's verified name, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_name: Option<String>,
}

/// A LID and the phone number behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"lid": "123456789@lid", "phoneNumber": "+5511999999999"}))]
pub struct LidMapping {
    /// The LID, `<id>@lid`.
    pub lid: String,
    /// The phone number, `+` and digits.
    pub phone_number: String,
}

/// A profile picture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "1700000000", "url": "https://pps.whatsapp.net/v/t61/photo.jpg"}))]
pub struct ProfilePictureRef {
    /// WhatsApp's id for this picture; it changes when the picture does.
    pub id: String,
    /// Where to download it (WhatsApp's CDN; the link expires after a while).
    pub url: String,
}

/// A contact, as WhatsApp and the session's history describe them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"phoneNumber": "+5511999999999", "lid": "123456789@lid", "pushName": "Maria",
    "name": "Maria Silva", "businessName": null, "about": "Hey there! I am using WhatsApp.", "profileUrl": "https://pps.whatsapp.net/v/t61/photo.jpg"}))]
pub struct Contact {
    /// Their phone number, `+` and digits.
    pub phone_number: Option<String>,
    /// Their LID.
    pub lid: Option<String>,
    /// The display name they gave with their latest message to the account, if they sent one.
    pub push_name: Option<String>,
    /// The name the account saved for them in its address book, if it did.
    pub name: Option<String>,
    /// Their business's verified name, for a WhatsApp Business account that has one.
    pub business_name: Option<String>,
    /// Their about text, when they share it with the account.
    pub about: Option<String>,
    /// Where to download their profile picture, when they have one and share it.
    pub profile_url: Option<String>,
}

/// The session's own account, as its contacts see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"phoneNumber": "+5511999999999", "lid": "123456789@lid", "pushName": "Acme Support",
    "about": "Hey there! I am using WhatsApp.", "profileUrl": "https://pps.whatsapp.net/v/t61/photo.jpg"}))]
pub struct Profile {
    /// The account's phone number, `+` and digits.
    pub phone_number: Option<String>,
    /// The account's LID.
    pub lid: Option<String>,
    /// The display name contacts see (`PUT …/profile/name`).
    pub push_name: Option<String>,
    /// The about text (`PUT …/profile/status`), when it has one.
    pub about: Option<String>,
    /// Where to download the profile picture, when it has one.
    pub profile_url: Option<String>,
}
