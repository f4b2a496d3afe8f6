//! Groups: joining one by invite code (the rest of the groups API is still to come).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::commands::Command;
use crate::engine::Joined;
use crate::error::ApiError;
use crate::model::bounded::{TextRule, bounded_text};
use crate::state::SharedState;

/// Where invite links point; a pasted link is accepted and its code used.
const INVITE_PREFIX: &str = "https://chat.whatsapp.com/";

bounded_text! {
    /// An invite code (WhatsApp's are 22 letters and digits), or a whole invite link.
    InviteCode = TextRule {
        min: 1,
        max: 90,
        pattern: Some((
            "^(https://chat\\.whatsapp\\.com/)?[A-Za-z0-9]{1,64}$",
            "an invite code (letters and digits, at most 64), or a https://chat.whatsapp.com/… link",
        )),
    };
}

/// An invite to join.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"code": "ABcDeFgHiJk"}))]
pub struct JoinGroup {
    /// The invite code, the part of the link after `chat.whatsapp.com/` (a whole link is accepted too).
    #[schema(inline)]
    pub code: InviteCode,
}

/// Whether the session is now a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum JoinStatus {
    /// The session is a member (a `group.update` with action `joined` was written).
    Joined,
    /// The group requires approval: an admin has to accept the request.
    PendingApproval,
}

/// The group an invite led to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "120363025246125486@g.us", "status": "joined"}))]
pub struct JoinedGroup {
    /// The group's JID.
    pub id: String,
    /// Whether the session is in, or waiting for approval.
    pub status: JoinStatus,
}

crate::envelopes!(JoinedGroup => JoinedGroupData);

/// The invite code in `code`, which may be a whole invite link.
fn invite_code(code: &InviteCode) -> String {
    let code = code.as_str();
    code.strip_prefix(INVITE_PREFIX).unwrap_or(code).to_owned()
}

/// Checks `request`; the command joins the group its invite points at.
pub async fn join(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    request: JoinGroup,
) -> Result<Command<JoinedGroup>, ApiError> {
    let code = invite_code(&request.code);
    crate::sessions::find(state, caller, session).await?;
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        Ok(match state.engine.join_group(&session, &code).await? {
            Joined::Member(group) => JoinedGroup {
                id: group.to_string(),
                status: JoinStatus::Joined,
            },
            Joined::PendingApproval(group) => JoinedGroup {
                id: group.to_string(),
                status: JoinStatus::PendingApproval,
            },
        })
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_code_or_a_whole_link_is_accepted_and_anything_else_refused() {
        let code = |text: &str| InviteCode::parse(text).map(|c| invite_code(&c));
        assert_eq!(code("ABcDeFgHiJk").unwrap(), "ABcDeFgHiJk");
        assert_eq!(code("https://chat.whatsapp.com/ABcDeFgHiJk").unwrap(), "ABcDeFgHiJk");
        for bad in [
            "",
            "https://chat.whatsapp.com/",
            "AB/../cd",
            "a b",
            " ABcDeFgHiJk",
            &"A".repeat(65),
        ] {
            assert!(code(bad).is_err(), "{bad:?}");
        }
    }
}
