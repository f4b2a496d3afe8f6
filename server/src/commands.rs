//! Async commands. A request to a route that talks to WhatsApp may carry `Prefer: respond-async`:
//! it is authenticated and validated as usual (bad input still gets its 4xx at once), then
//! answered `202 {"data": {"requestId", "correlationId"}}` while the WhatsApp part runs; its
//! outcome is written to the outbox as `command.result`, like every other event.

use std::future::Future;
use std::pin::Pin;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::events::{NewEvent, Payload};
use crate::extract::Json;
use crate::model::events::CommandResultPayload;
use crate::state::SharedState;
use crate::store::events as outbox;

/// A checked action, ready to run now or in the background.
pub type Command<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>> + Send + 'static>>;

/// Whether the caller asked for `Prefer: respond-async`, and the request id to report.
#[derive(Debug, Clone)]
pub struct Prefer {
    respond_async: bool,
    request_id: String,
}

impl Prefer {
    fn from_headers(headers: &HeaderMap) -> Self {
        let respond_async = headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split([',', ';']))
            .any(|token| token.trim().eq_ignore_ascii_case("respond-async"));
        let request_id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map_or_else(|| crate::ids::new("req"), str::to_owned);
        Self {
            respond_async,
            request_id,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Prefer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(Self::from_headers(&parts.headers))
    }
}

/// The answer to an async command: match `correlationId` with the `command.result` event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"requestId": "0b5c4a9e-6a51-4b8e-9d0c-8a2f0c1d2e3f", "correlationId": "cmd_01JD9ZQ4V0S7N6X1R2B3C4D5E6"}))]
pub struct Accepted {
    /// The request's id (its `x-request-id`).
    pub request_id: String,
    /// Names the `command.result` event that reports the outcome.
    pub correlation_id: String,
}

crate::envelopes!(Accepted => AcceptedData);

/// Runs `command` for `session`: now, answering `success` with `{"data": result}` (or no body
/// when the result is `()`), or, when the caller prefers, in the background after a 202.
pub async fn respond<T, F>(
    state: &SharedState,
    prefer: Prefer,
    session: &str,
    operation: &'static str,
    success: StatusCode,
    command: F,
) -> Result<Response, ApiError>
where
    T: Serialize + Send + 'static,
    F: Future<Output = Result<T, ApiError>> + Send + 'static,
{
    if !prefer.respond_async {
        let result = command.await?;
        return Ok(match serde_json::to_value(&result).map_err(anyhow::Error::from)? {
            serde_json::Value::Null => success.into_response(),
            data => (success, Json(serde_json::json!({ "data": data }))).into_response(),
        });
    }
    let accepted = Accepted {
        request_id: prefer.request_id,
        correlation_id: crate::ids::new("cmd"),
    };
    let (db, session, correlation) = (state.db.clone(), session.to_owned(), accepted.clone());
    state.commands.spawn(async move {
        let outcome = command.await;
        let outcome = outcome.map(|r| serde_json::to_value(r).ok());
        let payload = result_payload(&correlation, operation, success, outcome);
        if let Err(error) = outbox::write(&db, &session, &[NewEvent::new(Payload::CommandResult(payload))]).await {
            tracing::error!(correlation_id = %correlation.correlation_id, error = format!("{error:#}"), "cannot record a command result");
        }
    });
    Ok((StatusCode::ACCEPTED, Json(AcceptedData::from(accepted))).into_response())
}

/// The `command.result` payload, where `status` is the HTTP status the request would have had
/// without `respond-async`.
fn result_payload(
    accepted: &Accepted,
    operation: &str,
    success: StatusCode,
    outcome: Result<Option<serde_json::Value>, ApiError>,
) -> CommandResultPayload {
    let (status, result, error) = match outcome {
        Ok(result) => (success, result.unwrap_or_default(), None),
        Err(error) => {
            if let ApiError::Internal(cause) = &error {
                tracing::error!(correlation_id = %accepted.correlation_id, error = format!("{cause:#}"), "async command failed");
            }
            (error.status(), serde_json::Value::Null, Some(error.body()))
        }
    };
    CommandResultPayload {
        correlation_id: accepted.correlation_id.clone(),
        request_id: accepted.request_id.clone(),
        operation: operation.to_owned(),
        success: status.is_success(),
        status: status.as_u16(),
        result,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefer(value: &str) -> Prefer {
        let mut headers = HeaderMap::new();
        headers.insert("prefer", value.parse().expect("a header value"));
        Prefer::from_headers(&headers)
    }

    #[test]
    fn prefer_is_read_among_other_preferences() {
        assert!(prefer("respond-async").respond_async);
        assert!(prefer("return=minimal, Respond-Async; wait=10").respond_async);
        assert!(!prefer("return=minimal").respond_async);
        assert!(!Prefer::from_headers(&HeaderMap::new()).respond_async);
    }

    #[test]
    fn results_carry_the_outcome_or_the_error_envelope() {
        let accepted = Accepted {
            request_id: "r".into(),
            correlation_id: "cmd_1".into(),
        };
        let ok = result_payload(
            &accepted,
            "sendMessage",
            StatusCode::CREATED,
            Ok(Some(serde_json::json!({"id": "M1"}))),
        );
        assert_eq!((ok.status, ok.success), (201, true));
        assert_eq!(ok.result["id"], "M1");
        assert!(ok.error.is_none());
        let failed = result_payload(
            &accepted,
            "sendMessage",
            StatusCode::CREATED,
            Err(ApiError::Conflict("not connected".into())),
        );
        assert_eq!((failed.status, failed.success), (409, false));
        assert!(failed.result.is_null());
        assert_eq!(failed.error.map(|e| e.error).as_deref(), Some("not connected"));
        assert_eq!(failed.correlation_id, "cmd_1");
    }
}
