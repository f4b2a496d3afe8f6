//! `/api/account/keys` (any key holding `*`) and `/admin/keys` (the master key): the same five
//! operations over [`crate::keys`], generated once for both mounts.

/// Declares one mount of the key API: its paths, operation ids and security scheme.
macro_rules! key_api {
    (
        $(#[$meta:meta])*
        mod $module:ident {
            base: $base:literal,
            item: $item:literal,
            tag: $tag:literal,
            security: $security:literal,
            scopes: $scopes:tt,
            operations: [$create:literal, $list:literal, $get:literal, $update:literal, $delete:literal],
            caller: $who:literal $(,)?
        }
    ) => {
        $(#[$meta])*
        pub mod $module {
            use axum::extract::State;
            use axum::http::StatusCode;
            use axum::response::Response;
            use utoipa_axum::router::OpenApiRouter;
            use utoipa_axum::routes;

            use crate::auth::{Authorized, required};
            use crate::envelope::PageQuery;
            use crate::error::ApiError;
            use crate::extract::{Json, Path, Query};
            use crate::keys::{self, ApiKeyData, ApiKeyPage, CreateKey, CreatedKeyData, UpdateKey};
            use crate::state::SharedState;

            /// The routes of this mount.
            pub fn routes() -> OpenApiRouter<SharedState> {
                OpenApiRouter::new().routes(routes!(create, list)).routes(routes!(get, update, delete))
            }

            #[utoipa::path(
                post, path = $base, operation_id = $create, tag = $tag,
                summary = "Create an API key",
                description = concat!("Creates an API key and returns its secret once. ", $who,
                    " Required scope: `*`; the new key's scopes, sessions and expiry must lie within the caller's."),
                request_body = CreateKey,
                responses(
                    (status = 201, description = "The key, with its secret shown this once", body = CreatedKeyData),
                ),
                security(($security = [])),
                extensions(("x-scopes" = json!($scopes)))
            )]
            async fn create(
                State(state): State<SharedState>,
                Authorized(caller, _): Authorized<required::All>,
                Json(body): Json<CreateKey>,
            ) -> Result<(StatusCode, Json<CreatedKeyData>), ApiError> {
                let data = keys::create(&state, &caller, body).await?;
                Ok((StatusCode::CREATED, Json(data.into())))
            }

            #[utoipa::path(
                get, path = $base, operation_id = $list, tag = $tag,
                summary = "List API keys",
                description = concat!("Lists the API keys the caller may see (those within its own scopes and sessions), oldest first, one page at a time. ",
                    $who, " Required scope: `*`."),
                params(PageQuery),
                responses(
                    (status = 200, description = "One page of keys", body = ApiKeyPage),
                ),
                security(($security = [])),
                extensions(("x-scopes" = json!($scopes)))
            )]
            async fn list(
                State(state): State<SharedState>,
                Authorized(caller, _): Authorized<required::All>,
                Query(page): Query<PageQuery>,
            ) -> Result<Json<ApiKeyPage>, ApiError> {
                Ok(Json(keys::list(&state, &caller, page.into()).await?.into()))
            }

            #[utoipa::path(
                get, path = $item, operation_id = $get, tag = $tag,
                summary = "Get an API key",
                description = concat!("Returns one API key (never its secret). ", $who, " Required scope: `*`."),
                params(("id" = String, Path, description = "Key id", example = "key_01JZ8X6V3QW8T9N6F4C2B1A0Z9")),
                responses(
                    (status = 200, description = "The key", body = ApiKeyData),
                ),
                security(($security = [])),
                extensions(("x-scopes" = json!($scopes)))
            )]
            async fn get(
                State(state): State<SharedState>,
                Authorized(caller, _): Authorized<required::All>,
                Path(id): Path<String>,
            ) -> Result<Json<ApiKeyData>, ApiError> {
                Ok(Json(keys::get(&state, &caller, &id).await?.into()))
            }

            #[utoipa::path(
                patch, path = $item, operation_id = $update, tag = $tag,
                summary = "Update an API key",
                description = concat!("Renames, disables or re-enables an API key. Disabling takes effect on the key's next request. ",
                    $who, " Required scope: `*`."),
                params(("id" = String, Path, description = "Key id", example = "key_01JZ8X6V3QW8T9N6F4C2B1A0Z9")),
                request_body = UpdateKey,
                responses(
                    (status = 200, description = "The updated key", body = ApiKeyData),
                ),
                security(($security = [])),
                extensions(("x-scopes" = json!($scopes)))
            )]
            async fn update(
                State(state): State<SharedState>,
                Authorized(caller, _): Authorized<required::All>,
                Path(id): Path<String>,
                Json(body): Json<UpdateKey>,
            ) -> Result<Json<ApiKeyData>, ApiError> {
                Ok(Json(keys::update(&state, &caller, &id, body).await?.into()))
            }

            #[utoipa::path(
                delete, path = $item, operation_id = $delete, tag = $tag,
                summary = "Delete an API key",
                description = concat!("Deletes an API key; it is refused from its next request on. ", $who, " Required scope: `*`."),
                params(("id" = String, Path, description = "Key id", example = "key_01JZ8X6V3QW8T9N6F4C2B1A0Z9")),
                responses(
                    (status = 204, description = "Deleted"),
                ),
                security(($security = [])),
                extensions(("x-scopes" = json!($scopes)))
            )]
            async fn delete(
                State(state): State<SharedState>,
                Authorized(caller, _): Authorized<required::All>,
                Path(id): Path<String>,
            ) -> Result<Response, ApiError> {
                keys::delete(&state, &caller, &id).await?;
                Ok(crate::http::no_content())
            }
        }
    };
}

key_api! {
    /// `/api/account/keys`: key management with an API key.
    mod account {
        base: "/api/account/keys",
        item: "/api/account/keys/{id}",
        tag: "Keys",
        security: "apiKey",
        scopes: ["*"],
        operations: ["createKey", "listKeys", "getKey", "updateKey", "deleteKey"],
        caller: "Authenticated with an API key.",
    }
}

key_api! {
    /// `/admin/keys`: key management with the master key (self-hosted administration).
    mod admin {
        base: "/admin/keys",
        item: "/admin/keys/{id}",
        tag: "Admin",
        security: "masterKey",
        scopes: [],
        operations: ["adminCreateKey", "adminListKeys", "adminGetKey", "adminUpdateKey", "adminDeleteKey"],
        caller: "Authenticated with the master key (`MASTER_KEY`); off when the server has none.",
    }
}

pub use account::routes as account_routes;
pub use admin::routes as admin_routes;
