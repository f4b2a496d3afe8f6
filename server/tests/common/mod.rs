//! Test harness: a real Titan server on loopback over a real database (a fresh SQLite file, or a
//! fresh schema in the PostgreSQL named by `TITAN_TEST_DATABASE_URL`), driven over real HTTP.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

pub mod process;

use reqwest::{Method, Response};
use serde_json::{Value, json};
use sqlx::Connection;
use titan_server::config::Config;
use titan_server::server::RunningServer;
use titan_server::store::Db;

/// The master key every test server is configured with.
pub const MASTER_KEY: &str = "test-master-key-0123456789";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server plus what a test needs to talk to it.
pub struct TestServer {
    pub base: String,
    pub http: reqwest::Client,
    pub server: Option<RunningServer>,
    pub database_url: String,
    _dir: tempfile::TempDir,
}

/// A fresh database URL for `backend`, or `None` when PostgreSQL is not configured.
pub async fn database_url(backend: Backend, dir: &tempfile::TempDir) -> Option<String> {
    match backend {
        Backend::Sqlite => Some(format!("sqlite://{}/titan.db", dir.path().display())),
        Backend::Postgres => {
            let Ok(base) = std::env::var("TITAN_TEST_DATABASE_URL") else {
                assert!(std::env::var_os("CI").is_none(), "CI must set TITAN_TEST_DATABASE_URL");
                eprintln!("TITAN_TEST_DATABASE_URL is not set: skipping the PostgreSQL run");
                return None;
            };
            sqlx::any::install_default_drivers();
            let schema = format!("t_{}", ulid::Ulid::new().to_string().to_lowercase());
            let mut conn = sqlx::AnyConnection::connect(&base)
                .await
                .expect("connect to TITAN_TEST_DATABASE_URL");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(&mut conn)
                .await
                .expect("create test schema");
            conn.close().await.ok();
            let sep = if base.contains('?') { '&' } else { '?' };
            Some(format!("{base}{sep}options[search_path]={schema}"))
        }
    }
}

impl TestServer {
    /// Starts a server with `config` (its `bind` and `master_key` are set here).
    pub async fn start(backend: Backend, mut config: Config) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = database_url(backend, &dir).await?;
        let db = Db::connect(&database_url).await.expect("connect and migrate");
        config.bind = "127.0.0.1:0".parse().expect("address");
        config.master_key = Some(MASTER_KEY.into());
        config.secret_key.get_or_insert_with(|| "test-secret-key".into());
        let server = RunningServer::start(config, db).await.expect("start server");
        Some(Self {
            base: format!("http://{}", server.addr),
            http: reqwest::Client::new(),
            server: Some(server),
            database_url,
            _dir: dir,
        })
    }

    /// The database the server uses.
    pub fn db(&self) -> &Db {
        &self.server.as_ref().expect("server running").db
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Response {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request reaches the server")
    }

    /// Creates a key through the admin API and returns `(id, secret)`.
    pub async fn admin_key(&self, body: Value) -> (String, String) {
        let response = self
            .call(Method::POST, "/admin/keys", Some(MASTER_KEY), Some(body))
            .await;
        assert_eq!(response.status(), 201, "admin key creation");
        let created: Value = response.json().await.expect("json");
        (
            created["data"]["id"].as_str().expect("id").to_owned(),
            created["data"]["key"].as_str().expect("key").to_owned(),
        )
    }

    /// A key holding `*` on every session.
    pub async fn root_key(&self) -> String {
        self.admin_key(json!({"label": "root", "scopes": ["*"]})).await.1
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("clean shutdown");
        }
    }
}

/// Asserts `response` has `status` and the `{"error", "docs"}` envelope; returns the message.
pub async fn expect_error(response: Response, status: u16) -> String {
    assert_eq!(response.status(), status, "status");
    assert!(
        response.headers().contains_key("x-request-id"),
        "every response carries X-Request-Id"
    );
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    assert_eq!(content_type.as_deref(), Some("application/json"));
    let body: Value = response.json().await.expect("error body is JSON");
    let error = body["error"].as_str().expect("`error` is a string").to_owned();
    let docs = body["docs"].as_str().expect("`docs` is a string");
    assert!(docs.starts_with("https://"), "docs is a link: {docs}");
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(2),
        "only error and docs: {body}"
    );
    error
}

/// Declares a test that runs once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($(#[$meta:meta])* async fn $name:ident($server:ident, $config:expr) $body:block) => {
        $(#[$meta])*
        mod $name {
            use super::*;

            async fn run(backend: common::Backend, config: titan_server::config::Config) {
                let Some($server) = common::TestServer::start(backend, config).await else { return };
                $body
            }

            #[tokio::test]
            async fn sqlite() {
                run(common::Backend::Sqlite, $config).await;
            }

            #[tokio::test]
            async fn postgres() {
                run(common::Backend::Postgres, $config).await;
            }
        }
    };
}
