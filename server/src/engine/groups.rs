//! Group actions of a connected session. Joining by invite has no notification of its own for
//! the joiner, so Titan writes the `group.update` (action `joined`) itself.

use whatsapp_rust::Jid;
use whatsapp_rust::JoinGroupResult;
use whatsapp_rust::features::GroupError;

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
            .map_err(|error| match error {
                GroupError::Iq(iq) => EngineError::refused_iq("invite code", &iq),
                GroupError::InvalidRequest(why) => EngineError::Unknown(format!("not a usable invite: {why}")),
                other => EngineError::refused("joining the group", other),
            })?;
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
