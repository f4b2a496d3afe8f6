//! Media: `GET /api/sessions/{session}/media/{mediaId}` and its download.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, required};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::media::{self, MediaData};
use crate::state::SharedState;

/// The media routes.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(get))
        .routes(routes!(download))
        .routes(routes!(persist))
}

super::binary_schema!(
    /// A file's bytes, served with the file's own `Content-Type`.
    FileBytes = "The file's bytes"
);

#[utoipa::path(
    get, path = "/api/sessions/{session}/media/{mediaId}", operation_id = "getMedia", tag = "Media",
    summary = "Describe a media file",
    description = "What is known of a media file of the session's history (its `mediaId` comes with the \
        message, in the history and in `message.received` / `message.sent`): its message, type, MIME type, \
        size and, where known, dimensions and length. Required scope: `media:read`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("mediaId" = String, Path, description = "The media file's id", example = "med_01JZ8X6V3QW8T9N6F4C2B1A0Z9"),
    ),
    responses(
        (status = 200, description = "The media file", body = MediaData),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["media:read"])))
)]
async fn get(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::MediaRead>,
    Path((session, media_id)): Path<(String, String)>,
) -> Result<Json<MediaData>, ApiError> {
    Ok(Json(media::get(&state, &caller, &session, &media_id).await?.into()))
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/media/{mediaId}/download", operation_id = "downloadMedia", tag = "Media",
    summary = "Download a media file",
    description = "Answers the file's decrypted bytes, with its `Content-Type` and a `Content-Disposition` \
        naming it: from the media store when it was persisted there, else from WhatsApp's CDN through the \
        session, which must then be connected (409 otherwise). WhatsApp's CDN keeps files for a few weeks; \
        when it no longer has one, the account's phone is asked to upload it again (WhatsApp's media retry) and \
        the download goes on from the new copy: 410 when the phone no longer has the file either, 502 when it \
        does not answer within 30 s. Required scope: `media:read`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("mediaId" = String, Path, description = "The media file's id", example = "med_01JZ8X6V3QW8T9N6F4C2B1A0Z9"),
    ),
    responses(
        (status = 200, description = "The file", content((FileBytes = "*/*"))),
        (status = 410, description = "Neither WhatsApp's CDN nor the phone still has the file", body = crate::error::ErrorBody),
        (status = 502, description = "WhatsApp's CDN did not give the file back", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["media:read"])))
)]
async fn download(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::MediaRead>,
    Path((session, media_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let file = media::download(&state, &caller, &session, &media_id).await?;
    let mut response = Response::new(Body::from(file.bytes));
    let headers = response.headers_mut();
    let content_type =
        HeaderValue::from_str(&file.mime_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    if let Ok(disposition) = HeaderValue::from_str(&disposition(&file.file_name)) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}

#[utoipa::path(
    post, path = "/api/sessions/{session}/media/{mediaId}/persist", operation_id = "persistMedia", tag = "Media",
    summary = "Persist a media file",
    description = "Copies the file into the media store (`TITAN_MEDIA_STORE`: a directory by default, or an \
        S3-compatible bucket) and describes it with `persisted: true` and the object's URL in `s3Url`; from then \
        on it downloads from that copy, even once WhatsApp's CDN no longer has it. The file is fetched from \
        WhatsApp's CDN through the session, which must be connected (409 otherwise); a file persisted already \
        is not copied again. Set the session's `persistMedia` setting to persist every received file as it \
        arrives. Required scope: `media:manage`.",
    params(
        ("session" = String, Path, description = "Session name", example = "my-session"),
        ("mediaId" = String, Path, description = "The media file's id", example = "med_01JZ8X6V3QW8T9N6F4C2B1A0Z9"),
    ),
    responses(
        (status = 200, description = "The media file, persisted", body = MediaData),
        (status = 502, description = "WhatsApp's CDN did not give the file back, or the media store refused it", body = crate::error::ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["media:manage"])))
)]
async fn persist(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::MediaManage>,
    Path((session, media_id)): Path<(String, String)>,
) -> Result<Json<MediaData>, ApiError> {
    Ok(Json(media::persist(&state, &caller, &session, &media_id).await?.into()))
}

/// `attachment` with the file's name: an ASCII fallback, and the exact name per RFC 6266.
fn disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let exact: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_disposition_names_the_file_safely() {
        assert_eq!(
            super::disposition("relatório \"final\".pdf"),
            "attachment; filename=\"relat_rio _final_.pdf\"; filename*=UTF-8''relat%C3%B3rio%20%22final%22.pdf"
        );
    }
}
