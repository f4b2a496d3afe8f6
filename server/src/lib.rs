//! Titan's reference server: a self-hosted WhatsApp REST API.
//!
//! [`api::app`] builds the axum application and [`api::openapi`] its OpenAPI document from the
//! same route table; [`server::RunningServer`] runs it; [`cli::run`] is the `titan` binary.

pub mod api;
pub mod auth;
pub mod channels;
pub mod chats;
pub mod cli;
pub mod client_tokens;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod contacts;
pub mod engine;
pub mod envelope;
pub mod error;
pub mod events;
pub mod extract;
pub mod forward;
pub mod groups;
pub mod http;
pub mod idempotency;
pub mod ids;
pub mod keys;
pub mod labels;
pub mod media;
pub mod messages;
pub mod metrics;
pub mod model;
pub mod outbound;
pub mod pairing;
pub mod pictures;
pub mod presence;
pub mod profile;
pub mod ratelimit;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod secrets;
pub mod server;
pub mod sessions;
pub mod state;
pub mod store;
pub mod validate;
pub mod webhooks;
pub mod whatsapp;
