//! A Titan server connected to the WhatsApp emulator, on a fresh database, with an API key that
//! holds every scope, driven through titan-client.

use std::sync::Arc;
use std::time::Duration;

use titan_client::types::{self, CreateKey, Scope};
use titan_client::{Client, Error};
use titan_server::config::{Config, WhatsAppVersion};
use titan_server::server::RunningServer;
use titan_server::store::Db;
use wa_emulator::Emulator;

use crate::database::{self, Engine};
use crate::receiver::Receiver;
use crate::schema::EventSchemas;

/// How long one step (a pairing, a reconnect, a delivery) may take before a test fails. Steps
/// take milliseconds; the margin is for slow CI machines, and a wait that runs out names its step.
pub const STEP: Duration = Duration::from_secs(45);

/// The master key of every test server.
pub const MASTER_KEY: &str = "e2e-master-key-0123456789";

/// A server, the emulator it talks to, and a client for it.
pub struct Harness {
    /// The WhatsApp emulator (plays the phones).
    pub emulator: Emulator,
    /// The database engine the server runs on.
    pub engine: Engine,
    /// A client holding a `*` key.
    pub client: Client,
    /// The server's base URL (changes on restart).
    pub base: String,
    server: Option<RunningServer>,
    database_url: String,
    key: String,
    schemas: Arc<EventSchemas>,
    dir: tempfile::TempDir,
}

/// The user JID of an emulator phone number.
pub fn jid(phone: &str) -> String {
    format!("{phone}@s.whatsapp.net")
}

/// Logs from the server, the clients and the emulator when `RUST_LOG` is set.
fn init_logging() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

/// A client of `base` authenticating with `key`.
pub fn client(base: &str, key: &str) -> Client {
    Client::builder()
        .base_url(base)
        .api_key(key)
        .max_retries(2)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

impl Harness {
    /// A server on a fresh `engine` database and a fresh emulator; `None` when PostgreSQL is not
    /// configured (outside CI).
    pub async fn start(engine: Engine) -> Option<Self> {
        init_logging();
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = database::fresh(engine, &dir).await.expect("fresh database")?;
        let emulator = Emulator::start("127.0.0.1:0".parse().expect("address"))
            .await
            .expect("start the emulator");
        let server = Self::serve(&emulator, &database_url, dir.path()).await;
        let base = format!("http://{}", server.addr);
        let admin = client(&base, MASTER_KEY);
        let created = admin
            .admin_create_key()
            .body(CreateKey::builder().label("e2e").scopes(vec![Scope::ALL]))
            .send()
            .await
            .expect("create the test key");
        let key = created.into_inner().data.key;
        let schemas = Arc::new(EventSchemas::served(&base).await);
        Some(Self {
            client: client(&base, &key),
            emulator,
            engine,
            base,
            server: Some(server),
            database_url,
            key,
            schemas,
            dir,
        })
    }

    async fn serve(emulator: &Emulator, database_url: &str, dir: &std::path::Path) -> RunningServer {
        let config = Config {
            bind: "127.0.0.1:0".parse().expect("address"),
            master_key: Some(MASTER_KEY.into()),
            whatsapp_url: emulator.ws_url(),
            whatsapp_version: Some(WhatsAppVersion(2, 3000, 0)),
            media_roots: vec![emulator.media_ca_pem().to_owned()],
            rate_limit: 100_000,
            secret_key: Some("e2e-secret-key".into()),
            webhook_allow_private: true,
            media_allow_private: true,
            media_store: dir.join("media").to_string_lossy().into_owned(),
            ..Config::default()
        };
        let db = Db::connect(database_url).await.expect("connect and migrate");
        RunningServer::start(config, db).await.expect("start the server")
    }

    /// A webhook receiver subscribed to every event of every session.
    pub async fn receiver(&self) -> Receiver {
        let receiver = Receiver::start(self.schemas()).await;
        self.client
            .create_webhook()
            .body(types::CreateWebhook::builder().url(&receiver.url))
            .send()
            .await
            .expect("create the webhook");
        receiver
    }

    /// The event schemas of the served spec, which every receiver checks envelopes against.
    pub fn schemas(&self) -> Arc<EventSchemas> {
        Arc::clone(&self.schemas)
    }

    /// The API key (every scope) the client uses, for raw HTTP calls.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The server's database.
    pub fn db(&self) -> &Db {
        &self.server.as_ref().expect("server running").db
    }

    /// Stops the server (sessions flush and keep their `running` mark) and starts a new one on
    /// the same database; the client follows it to its new address.
    pub async fn restart(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("stop the server");
        }
        let server = Self::serve(&self.emulator, &self.database_url, self.dir.path()).await;
        self.base = format!("http://{}", server.addr);
        self.client = client(&self.base, &self.key);
        self.server = Some(server);
    }

    /// Stops the server and the emulator.
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("stop the server");
        }
        self.emulator.stop().await.expect("stop the emulator");
    }

    /// `method` `path` with the harness's key and JSON `body`, outside the SDK (for routes and
    /// answers a test checks as raw JSON); the status and the JSON answer (`null` when there is
    /// none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.key());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("send a request");
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("read an answer");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        )
    }

    /// The session `name` now.
    pub async fn session(&self, name: &str) -> types::Session {
        self.client
            .get_session()
            .session(name)
            .send()
            .await
            .expect("get session")
            .into_inner()
            .data
    }

    /// The messages of one chat as `session` stores them, newest first (one page).
    pub async fn history(&self, session: &str, chat: &str) -> Vec<types::Message> {
        self.client
            .list_chat_messages()
            .session(session)
            .chat_id(chat)
            .send()
            .await
            .expect("list chat messages")
            .into_inner()
            .data
    }

    /// Polls the session until `accept` holds, within [`STEP`]; `what` names the wait.
    pub async fn wait_for(&self, name: &str, what: &str, accept: impl Fn(&types::Session) -> bool) -> types::Session {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            let session = self.session(name).await;
            if accept(&session) {
                return session;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "session {name}: no {what} within {STEP:?}; last seen {session:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the session has `status` with `reason`.
    pub async fn wait_status(
        &self,
        name: &str,
        status: types::Status,
        reason: Option<types::StatusReason>,
    ) -> types::Session {
        self.wait_for(name, &format!("{status:?}/{reason:?}"), |s| {
            s.status == status && s.status_reason == reason
        })
        .await
    }

    /// Creates and starts a session.
    pub async fn create_started(&self, name: &str) -> types::Session {
        self.client
            .create_session()
            .body(types::CreateSession::builder().name(name).start(true))
            .send()
            .await
            .expect("create session")
            .into_inner()
            .data
    }

    /// Creates a session and links it by QR code to `phone`; returns the linked device id once
    /// the session is `CONNECTED`.
    pub async fn link_by_qr(&self, name: &str, phone: &str) -> u32 {
        self.create_started(name).await;
        let qr = self
            .client
            .get_pairing_qr()
            .session(name)
            .send()
            .await
            .expect("QR code")
            .into_inner()
            .data;
        assert!(qr.qr.starts_with("data:image/png;base64,"), "a PNG data URL");
        let linked = self.emulator.scan_qr(&qr.code, Some(phone)).expect("scan the QR code");
        self.wait_status(name, types::Status::Connected, None).await;
        linked.device
    }

    /// Creates a session and links it to `phone` with a pair code; returns the linked device id
    /// once the session is `CONNECTED`.
    pub async fn link_by_code(&self, name: &str, phone: &str) -> u32 {
        self.create_started(name).await;
        let ask = || {
            self.client
                .request_pairing_code()
                .session(name)
                .body(types::PairCodeRequest::builder().phone_number(format!("+{phone}")))
                .send()
        };
        let code = ask().await.expect("pair code").into_inner().data.code;
        assert_eq!(code.len(), 9, "XXXX-XXXX: {code}");
        assert_eq!(
            status_of(ask().await),
            409,
            "a second code while the first is valid is a conflict"
        );
        let linked = self
            .emulator
            .enter_pair_code(phone, &code)
            .await
            .expect("type the pair code");
        self.wait_status(name, types::Status::Connected, None).await;
        linked.device
    }
}

/// The status code of a failed call.
pub fn status_of<T: std::fmt::Debug>(result: Result<T, impl Into<Error>>) -> u16 {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(error) => error.into().status().unwrap_or_default(),
    }
}
