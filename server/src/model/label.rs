//! WhatsApp Business labels as the API shows them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A label of the account, with the chats it is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "3", "name": "New customer", "color": 1, "chatIds": ["5511999999999@s.whatsapp.net"]}))]
pub struct Label {
    /// WhatsApp's id for the label (a number, as text).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its colour: an index into WhatsApp's 20 label colours (0 to 19).
    pub color: i32,
    /// The chats it is on.
    pub chat_ids: Vec<String>,
}
