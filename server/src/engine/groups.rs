//! Group actions of a connected session. Joining by invite has no notification of its own for
//! the joiner, so Titan writes the `group.update` (action `joined`) itself.

use whatsapp_rust::Jid;
use whatsapp_rust::JoinGroupResult;

use super::{Engine, EngineError};
use crate::events::{NewEvent, Payload};
use crate::model::events::{GroupAction, GroupUpdatePayload};
use crate::store::events as outbox;

/// Where a join by invite left the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joined {
    /// A member of the group.
    Member(Jid),
    /// Waiting for an admin to approve the request (the group requires approval).
    PendingApproval(Jid),
}

impl Engine {
    /// Joins the group invite `code` points at; a join writes `group.update` with action `joined`.
    pub async fn join_group(&self, session: &str, code: &str) -> Result<Joined, EngineError> {
        let client = self.require_connected(session)?;
        let result = client
            .groups()
            .join_with_invite_code(code)
            .await
            .map_err(|e| EngineError::refused("joining the group", e))?;
        Ok(match result {
            JoinGroupResult::Joined(group) => {
                let payload = Payload::GroupUpdate(GroupUpdatePayload {
                    id: group.to_string(),
                    timestamp: chrono::Utc::now().timestamp(),
                    action: Some(GroupAction::Joined),
                    ..GroupUpdatePayload::default()
                });
                outbox::write(&self.shared.db, session, &[NewEvent::new(payload)]).await?;
                Joined::Member(group)
            }
            JoinGroupResult::PendingApproval(group) => Joined::PendingApproval(group),
        })
    }
}
