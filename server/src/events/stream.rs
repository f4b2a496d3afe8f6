//! `GET /api/events`: the events as Server-Sent Events, live from the outbox's tail (every
//! server's events), resumable from the outbox with `Last-Event-ID`.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::Arc;

use axum::response::sse::Event;
use futures::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use utoipa::IntoParams;

use super::{Envelope, EventFilter};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Db;
use crate::validate;

/// Outbox rows read per query while catching up.
const CATCH_UP_BATCH: i64 = 500;

/// The filters of the stream.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Comma-separated event types (default: all), e.g. `message.received,session.status`.
    pub events: Option<String>,
    /// Only this session's events.
    pub session: Option<String>,
}

/// Which events one listener receives.
#[derive(Debug, Clone)]
struct Selection {
    events: EventFilter,
    sessions: Option<BTreeSet<String>>,
}

impl Selection {
    fn accepts(&self, envelope: &Envelope) -> bool {
        self.events.accepts(&envelope.event) && self.sessions.as_ref().is_none_or(|s| s.contains(&envelope.session))
    }
}

fn selection(caller: &Caller, query: StreamQuery) -> Result<Selection, ApiError> {
    let names: Vec<&str> = query
        .events
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|n| !n.trim().is_empty())
        .collect();
    let events = EventFilter::parse(&names).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let sessions = match query.session.filter(|s| !s.is_empty()) {
        Some(name) => {
            validate::session_name(&name)?;
            caller.grant.require_session(&name)?;
            Some(BTreeSet::from([name]))
        }
        None => caller.grant.sessions.clone(),
    };
    Ok(Selection { events, sessions })
}

/// The stream for `caller`, resuming after `last_event_id` when given.
pub fn open(
    state: &AppState,
    caller: &Caller,
    query: StreamQuery,
    last_event_id: Option<String>,
) -> Result<impl Stream<Item = Result<Event, Infallible>> + use<>, ApiError> {
    let selection = selection(caller, query)?;
    let live = state.tail.subscribe();
    let (sender, receiver) = mpsc::channel::<Arc<Envelope>>(256);
    tokio::spawn(forward(
        state.db.clone(),
        live,
        sender,
        selection,
        last_event_id.unwrap_or_default(),
    ));
    Ok(futures::stream::unfold(receiver, |mut receiver| async move {
        let envelope = receiver.recv().await?;
        let event = Event::default()
            .id(envelope.id.as_str())
            .event(envelope.event.as_str())
            .data(envelope.body.as_ref());
        Some((Ok(event), receiver))
    }))
}

/// Sends the listener what it missed since `last` (from the outbox), then live events; falls
/// back to the outbox whenever it lags behind the live feed. The live feed can carry an event
/// that committed late, with an id below one already sent, so what a catch-up sent is skipped by
/// id rather than by order.
async fn forward(
    db: Db,
    mut live: tokio::sync::broadcast::Receiver<Arc<Envelope>>,
    sender: mpsc::Sender<Arc<Envelope>>,
    selection: Selection,
    mut last: String,
) {
    let mut catch_up = !last.is_empty();
    let mut caught_up: BTreeSet<String> = BTreeSet::new();
    loop {
        if catch_up {
            catch_up = false;
            let reach = super::tail::floor(crate::store::now_ms() - 2 * super::tail::lag_ms());
            caught_up = caught_up.split_off(&reach);
            loop {
                let batch = match crate::store::events::after(&db, &last, CATCH_UP_BATCH).await {
                    Ok(batch) => batch,
                    Err(error) => {
                        tracing::warn!(error = format!("{error:#}"), "event stream cannot read the outbox");
                        return;
                    }
                };
                let full = batch.len() == usize::try_from(CATCH_UP_BATCH).unwrap_or(usize::MAX);
                for envelope in batch {
                    last.clone_from(&envelope.id);
                    if envelope.id >= reach {
                        caught_up.insert(envelope.id.clone());
                    }
                    if selection.accepts(&envelope) && sender.send(Arc::new(envelope)).await.is_err() {
                        return;
                    }
                }
                if !full {
                    break;
                }
            }
        }
        let received = tokio::select! {
            received = live.recv() => received,
            () = sender.closed() => return,
        };
        match received {
            Ok(envelope) => {
                if caught_up.contains(&envelope.id) {
                    continue; // already sent while catching up
                }
                if envelope.id > last {
                    last.clone_from(&envelope.id);
                }
                if selection.accepts(&envelope) && sender.send(envelope).await.is_err() {
                    return;
                }
            }
            Err(RecvError::Lagged(_)) => catch_up = !last.is_empty(),
            Err(RecvError::Closed) => return,
        }
    }
}
