//! Groups as the API shows them: what WhatsApp's group metadata says of a group and its members.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A WhatsApp group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "120363025246125486@g.us", "name": "Family", "description": "Weekend plans",
    "ownerLid": "123456789@lid", "ownerPhoneNumber": "+5511999999999", "createdAt": "2025-05-01T12:00:00Z",
    "participants": [{"phoneNumber": "+5511999999999", "lid": "123456789@lid", "isAdmin": true, "isSuperAdmin": true}],
    "announce": false, "locked": false, "ephemeralSeconds": null, "approvalMode": false}))]
pub struct Group {
    /// The group's JID, `<id>@g.us`.
    pub id: String,
    /// Its name (WhatsApp's subject).
    pub name: String,
    /// Its description, if it has one.
    pub description: Option<String>,
    /// The creator's LID, when WhatsApp gave it.
    pub owner_lid: Option<String>,
    /// The creator's phone number, `+` and digits, when WhatsApp gave it.
    pub owner_phone_number: Option<String>,
    /// When it was created, when WhatsApp said.
    pub created_at: Option<DateTime<Utc>>,
    /// Its members.
    pub participants: Vec<GroupParticipant>,
    /// Whether only admins may send messages.
    pub announce: bool,
    /// Whether only admins may change the group's name, description and picture.
    pub locked: bool,
    /// How long messages last before they disappear, in seconds; null when they stay.
    pub ephemeral_seconds: Option<u32>,
    /// Whether joining by invite needs an admin's approval.
    pub approval_mode: bool,
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupParticipant {
    /// The member's phone number, `+` and digits, when known.
    pub phone_number: Option<String>,
    /// The member's LID, `<id>@lid`, when known.
    pub lid: Option<String>,
    /// Whether the member is an admin (the creator is one too).
    pub is_admin: bool,
    /// Whether the member is the group's creator (its super admin).
    pub is_super_admin: bool,
}

/// Someone waiting for an admin to let them into a group (its approval mode is on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"phoneNumber": "+5511999999999", "lid": null, "requestedAt": "2025-05-01T12:00:00Z"}))]
pub struct GroupJoinRequest {
    /// Their phone number, `+` and digits, when WhatsApp named them by it.
    pub phone_number: Option<String>,
    /// Their LID, when WhatsApp named them by it.
    pub lid: Option<String>,
    /// When they asked, when WhatsApp said.
    pub requested_at: Option<DateTime<Utc>>,
}
