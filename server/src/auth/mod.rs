//! Authentication (API keys, the master key), authorization (scopes, sessions) and rate limits.

mod cache;
pub mod client;
pub mod secret;

use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use crate::model::grant::Grant;
pub use crate::model::scope::{RequiredScope, Scope, UnknownScope, required};
pub use cache::KeyCache;

use crate::error::ApiError;
use crate::ratelimit::Decision;
use crate::state::SharedState;

/// Who is calling: an API key, or the holder of the master key.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The calling key's id, `None` for the master key.
    pub key_id: Option<String>,
    /// What the caller may do.
    pub grant: Grant,
    /// For a client token: its session, ephemeral id and recipient rule.
    pub client: Option<client::ClientIdentity>,
}

impl Caller {
    /// The master key's caller: everything, every session.
    pub fn master() -> Self {
        Self {
            key_id: None,
            grant: Grant::unlimited(),
            client: None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("route is missing its authentication layer")))
    }
}

/// A [`Caller`] holding the scope `S`; extracted before the body, so a caller lacking the scope
/// gets 403 whatever it sent.
#[derive(Debug, Clone)]
pub struct Authorized<S>(pub Caller, pub PhantomData<S>);

impl<S: RequiredScope, St: Send + Sync> FromRequestParts<St> for Authorized<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.grant.require_scope(S::SCOPE)?;
        Ok(Self(caller, PhantomData))
    }
}

/// The secret in `Authorization: Bearer <secret>`, if the header has that form.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn client_ip(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(addr)| addr.ip())
}

/// Refuses clients that failed authentication too often, before any key is looked up.
fn check_failures(state: &SharedState, ip: IpAddr) -> Result<(), ApiError> {
    let decision = state.auth_failures.peek(&ip);
    if decision.allowed {
        Ok(())
    } else {
        Err(ApiError::RateLimited {
            retry_after: decision.retry_after,
        })
    }
}

/// Counts one failed authentication against the client's address.
fn failed(state: &SharedState, ip: IpAddr, error: ApiError) -> ApiError {
    state.auth_failures.hit(&ip);
    error
}

/// Layer for `/api`: authenticates the API key, applies its rate limit and adds the
/// `X-RateLimit-*` headers; the handler then checks scopes through [`Caller`].
pub async fn api_key_layer(State(state): State<SharedState>, mut request: Request, next: Next) -> Response {
    let ip = client_ip(&request);
    if let Some(token) = bearer(request.headers()).filter(|t| t.starts_with(client::PREFIX)) {
        return client_token_call(&state, ip, token.to_owned(), request, next).await;
    }
    let caller = match authenticate(&state, ip, request.headers()).await {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    let key_id = caller.key_id.clone().unwrap_or_default();
    let decision = state.key_limiter.hit(&key_id);
    if !decision.allowed {
        let mut response = ApiError::RateLimited {
            retry_after: decision.retry_after,
        }
        .into_response();
        rate_headers(response.headers_mut(), decision);
        return response;
    }
    request.extensions_mut().insert(caller);
    let mut response = next.run(request).await;
    rate_headers(response.headers_mut(), decision);
    response
}

/// [`api_key_layer`] for a client token: the session's rules decide, on every call.
async fn client_token_call(
    state: &SharedState,
    ip: IpAddr,
    token: String,
    mut request: Request,
    next: Next,
) -> Response {
    if let Err(error) = check_failures(state, ip) {
        return error.into_response();
    }
    let (outcome, admission) =
        client::admit(state, &token, request.method(), request.uri().path(), request.headers()).await;
    let response = match outcome {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error @ ApiError::Unauthorized(_)) => failed(state, ip, error).into_response(),
        Err(error) => error.into_response(),
    };
    admission.finish(state, response).await
}

async fn authenticate(state: &SharedState, ip: IpAddr, headers: &HeaderMap) -> Result<Caller, ApiError> {
    check_failures(state, ip)?;
    let Some(secret) = bearer(headers) else {
        return Err(failed(
            state,
            ip,
            ApiError::Unauthorized("missing API key: send `Authorization: Bearer titan_...`".into()),
        ));
    };
    let key = state.keys.lookup(&state.db, &secret::hash(secret)).await?;
    let Some(key) = key else {
        return Err(failed(state, ip, ApiError::Unauthorized("invalid API key".into())));
    };
    if let Some(reason) = key.unusable_reason(chrono::Utc::now()) {
        return Err(failed(state, ip, ApiError::Unauthorized(reason.into())));
    }
    Ok(Caller {
        key_id: Some(key.id.clone()),
        grant: key.grant.clone(),
        client: None,
    })
}

fn rate_headers(headers: &mut HeaderMap, decision: Decision) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(decision.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(decision.remaining));
}

/// The master key, kept only as a digest so it is compared in constant time.
#[derive(Debug, Clone)]
pub struct MasterKey([u8; 32]);

impl MasterKey {
    /// Wraps the configured `MASTER_KEY`.
    pub fn new(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// Constant-time comparison with a presented secret.
    pub fn matches(&self, presented: &str) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        self.0.ct_eq(&presented).into()
    }
}

/// Layer for `/admin`: requires `Authorization: Bearer <MASTER_KEY>`; off when it is unset.
pub async fn master_key_layer(State(state): State<SharedState>, mut request: Request, next: Next) -> Response {
    let ip = client_ip(&request);
    if let Err(error) = check_failures(&state, ip) {
        return error.into_response();
    }
    let Some(master) = &state.master_key else {
        return ApiError::Forbidden("the admin API is disabled: set MASTER_KEY to enable it".into()).into_response();
    };
    match bearer(request.headers()) {
        Some(secret) if master.matches(secret) => {
            request.extensions_mut().insert(Caller::master());
            next.run(request).await
        }
        Some(_) => failed(&state, ip, ApiError::Unauthorized("invalid master key".into())).into_response(),
        None => failed(
            &state,
            ip,
            ApiError::Unauthorized("missing master key: send `Authorization: Bearer <MASTER_KEY>`".into()),
        )
        .into_response(),
    }
}
