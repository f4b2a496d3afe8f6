//! Calls: offered (`call.received`), accepted or rejected (`call.accepted`, `call.rejected`, on
//! this or another of the account's devices), and ended unanswered (`call.missed`).

use std::collections::HashSet;

use whatsapp_rust::Jid;
use whatsapp_rust::wacore::types::call::{CallAction, IncomingCall, MissedCall};

use super::Effect;
use crate::events::{NewEvent, Payload};
use crate::model::events::CallPayload;
use crate::model::jid::JidRef;

/// Why a terminated call was answered somewhere else, so not missed.
const ANSWERED_ELSEWHERE: [&str; 2] = ["accepted_elsewhere", "rejected_elsewhere"];

/// The calls ringing on one session. Titan does not run a call stack, so the library only
/// reports missed calls it replays from the offline queue; a call that rang and ended without an
/// answer is recognised here instead.
#[derive(Debug, Default)]
pub(in crate::engine) struct RingingCalls(HashSet<String>);

impl RingingCalls {
    /// The event for one call stanza, if it is one a user cares about.
    pub(super) fn incoming(&mut self, call: &IncomingCall) -> Option<Effect> {
        let id = call.action.call_id().to_owned();
        let kind: fn(CallPayload) -> Payload = match &call.action {
            CallAction::Offer { .. } if !call.offline => {
                self.0.insert(id.clone());
                Payload::CallReceived
            }
            CallAction::Accept { .. } => {
                self.0.remove(&id);
                Payload::CallAccepted
            }
            CallAction::Reject { .. } => {
                self.0.remove(&id);
                Payload::CallRejected
            }
            CallAction::Terminate { reason, .. } => match reason.as_deref() {
                Some(r) if ANSWERED_ELSEWHERE.contains(&r) => {
                    self.0.remove(&id);
                    return None;
                }
                _ if self.0.remove(&id) => Payload::CallMissed,
                _ => return None,
            },
            _ => return None,
        };
        let caller = call.action.call_creator();
        let mut payload = payload(&id, caller, call.timestamp.timestamp());
        if let CallAction::Offer {
            is_video, group_jid, ..
        } = &call.action
        {
            payload.is_video = Some(*is_video);
            payload.is_group = Some(group_jid.is_some());
        }
        Some(Effect::Event(NewEvent::new(kind(payload))))
    }

    /// A call the library reports missed (offered while the session was offline).
    pub(super) fn missed(&mut self, call: &MissedCall) -> Effect {
        self.0.remove(&call.call_id);
        let mut payload = payload(&call.call_id, &call.from, call.timestamp.timestamp());
        payload.offline = Some(true);
        Effect::Event(NewEvent::new(Payload::CallMissed(payload)))
    }
}

fn payload(id: &str, from: &Jid, timestamp: i64) -> CallPayload {
    CallPayload {
        id: id.to_owned(),
        from: JidRef::person(from, None),
        timestamp,
        is_video: None,
        is_group: None,
        offline: None,
    }
}
