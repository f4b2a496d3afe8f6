//! The session's own profile: read it, and set its about text and picture (its display name is
//! set through [`crate::messages::actions::set_push_name`]). Each asks WhatsApp through the
//! session, which must be connected.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::commands::Command;
use crate::error::ApiError;
use crate::model::bounded::{TextRule, bounded_text};
use crate::model::contact::Profile;
use crate::pictures::SetPicture;
use crate::state::{AppState, SharedState};

bounded_text! {
    /// An about text: up to 139 characters (WhatsApp's limit); empty clears it.
    AboutText = TextRule { min: 0, max: 139, pattern: None };
}

/// A new about text.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"value": "Available 9am to 6pm"}))]
pub struct SetAbout {
    /// The about text contacts see under the account's name.
    #[schema(inline)]
    pub value: AboutText,
}

crate::envelopes!(Profile => ProfileData);

/// The account's profile as its contacts see it.
pub async fn get(state: &AppState, caller: &Caller, session: &str) -> Result<Profile, ApiError> {
    crate::sessions::find(state, caller, session).await?;
    Ok(state.engine.profile(session).await?)
}

/// Checks the caller's access; the command sets the about text.
pub async fn set_about(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    request: SetAbout,
) -> Result<Command<()>, ApiError> {
    let text = request.value.as_str().to_owned();
    crate::sessions::find(state, caller, session).await?;
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(
        async move { Ok(state.engine.set_about(&session, &text).await?) },
    ))
}

/// Checks the caller's access, then reads the picture (nothing is fetched for a caller who may
/// not use the session); the command sets it, or removes the picture when there is none.
pub async fn set_picture(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    request: Option<SetPicture>,
) -> Result<Command<()>, ApiError> {
    crate::sessions::find(state, caller, session).await?;
    let jpeg = match request {
        Some(picture) => Some(picture.jpeg(&state.fetcher).await?),
        None => None,
    };
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        Ok(state.engine.set_profile_picture(&session, jpeg).await?)
    }))
}
