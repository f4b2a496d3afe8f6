//! What the emulated WhatsApp knows: accounts (phone numbers) with their linked devices, and the
//! connections waiting to be linked.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use tokio::sync::mpsc;
use wacore::libsignal::protocol::KeyPair;
use wacore_binary::node::Node;

use crate::identity::ServerIdentity;
use crate::signal::{AppStateKey, KeyShare, Recipient};

/// Something the emulator asks a connection task to do.
#[derive(Debug)]
pub enum Command {
    /// Send this stanza.
    Send(Node),
    /// Remember the device offered in the `<pair-success>` that follows.
    Offer(Offer),
    /// Send this final stanza (a `<stream:error>`) and close.
    Terminate(Node),
    /// Close the socket without a word.
    Drop,
}

/// The sending side of a live connection.
pub type ConnectionHandle = mpsc::UnboundedSender<Command>;

/// The Signal keys a device uploaded, served to peers as prekey bundles.
#[derive(Debug, Clone)]
pub struct KeyBundle {
    /// Signal registration id.
    pub registration_id: u32,
    /// Identity public key (32 bytes, no type prefix).
    pub identity: [u8; 32],
    /// The current signed prekey.
    pub signed: wacore::iq::prekeys::SignedPreKeyNode,
    /// Unused one-time prekeys by id; each is handed out once.
    pub one_time: BTreeMap<u32, [u8; 32]>,
}

/// One linked device of an account (device 0 is the phone itself and never connects here).
#[derive(Debug, Clone)]
pub struct Device {
    /// Device number in the JID (`phone:id@s.whatsapp.net`); also its ADV key index.
    pub id: u32,
    /// The Noise static key the device logs in with.
    pub noise_public: [u8; 32],
    /// The push name the device registered with.
    pub push_name: Option<String>,
    /// `ADVSignedDeviceIdentity` as the device countersigned it at pairing.
    pub signed_identity: Option<Vec<u8>>,
    /// Uploaded prekeys; until then peers are not told about the device.
    pub keys: Option<KeyBundle>,
    /// Whether the phone has sent the device the account's app-state key.
    pub key_shared: bool,
}

/// Why an account's devices cannot log in.
#[derive(Debug, Clone, Copy)]
pub enum Restriction {
    /// Temporarily banned: login failure 402 with the ban code and the seconds left.
    Banned {
        /// WhatsApp's ban reason code (101 too many messages to non-contacts, ...).
        code: u16,
        /// When the ban ends.
        until: std::time::Instant,
    },
    /// Every login fails with this `<failure reason>`.
    Refused {
        /// The failure reason (503 and 500 make clients retry; 403 logs them out).
        reason: u16,
    },
}

/// A stanza waiting for a device: messages stay until the device receipts them, receipts and
/// notifications are dropped once delivered.
#[derive(Debug, Clone)]
pub struct Queued {
    /// The stanza as it is delivered.
    pub node: Node,
    /// Whether it stays queued until the device acknowledges it.
    pub durable: bool,
}

/// A phone number on the emulated network.
pub struct Account {
    /// E.164 digits without `+`.
    pub phone: String,
    /// The account's LID user part.
    pub lid: String,
    /// The phone's identity key, which signs companion devices.
    pub identity: KeyPair,
    /// ADV raw id, stable per account.
    pub raw_id: u32,
    /// The phone's Signal registration id.
    pub registration_id: u32,
    /// The app-state key the phone shares with its companions.
    pub app_state_key: AppStateKey,
    /// Linked companions by device id.
    pub devices: BTreeMap<u32, Device>,
    /// Push name, about text, picture and privacy settings.
    pub profile: crate::profile::Profile,
    /// Blocked contacts: the JID as the client sent it → (the blocked phone number, when).
    pub blocked: BTreeMap<String, (String, u64)>,
    /// The app-state collections the phone and its companions sync (archive, pin, mute, ...).
    pub app_state: crate::app_state::AppState,
    /// The files the phone itself sent, by message id. The phone keeps its copy after the CDN's
    /// expires, so it can re-upload the file when a companion asks (media retry); it can only
    /// do so for these, since it cannot decrypt what other devices send.
    pub sent_media: HashMap<String, crate::media_retry::SentMedia>,
    next_device: u32,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("phone", &self.phone)
            .field("lid", &self.lid)
            .field("devices", &self.devices)
            .finish()
    }
}

/// A connection showing QR codes, by the ref in them.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The connection to send `<pair-success>` to.
    pub connection: ConnectionHandle,
    /// The companion's Noise static key (from its handshake).
    pub noise_public: [u8; 32],
    /// The push name it registered with.
    pub push_name: Option<String>,
}

/// A device offered to a connection in `<pair-success>`, waiting for its `<pair-device-sign>`.
#[derive(Debug, Clone)]
pub struct Offer {
    /// The account it joins.
    pub phone: String,
    /// The device as it will be stored.
    pub device: Device,
}

/// All mutable state, behind one lock (held only for map operations, never across awaits).
#[derive(Debug, Default)]
pub struct Registry {
    /// Accounts by phone number.
    pub accounts: BTreeMap<String, Account>,
    /// Waiting QR connections by ref.
    pub pending: HashMap<String, Pending>,
    /// Groups by id.
    pub groups: BTreeMap<String, crate::groups::Group>,
    /// The last group id handed out.
    pub next_group: u64,
    /// Channels (newsletters) by id.
    pub channels: BTreeMap<String, crate::channels::Channel>,
    /// The last channel number handed out.
    pub next_channel: u64,
    /// Uploaded media blobs by direct path.
    pub media: HashMap<String, bytes::Bytes>,
    /// Profile and group pictures by id.
    pub pictures: HashMap<u64, crate::profile::Picture>,
    /// The last picture id handed out.
    pub next_picture: u64,
    /// Companions waiting for a pair code to be typed, by phone number.
    pub link_codes: HashMap<String, crate::pair_code::LinkCode>,
    /// Logged-in connections by (phone, device).
    pub online: HashMap<(String, u32), ConnectionHandle>,
    /// Logins refused because the same device was already connected (WhatsApp would replace
    /// the first connection; two servers running one session is a bug this makes visible).
    pub concurrent_logins: u64,
    /// The patterns of the most recent completed handshakes, oldest first (for tests and
    /// diagnostics; bounded so a long-running emulator does not grow).
    pub handshakes: Vec<crate::noise::Pattern>,
    /// Stanzas for each (phone, device), delivered at its next login if it is offline.
    pub outbox: HashMap<(String, u32), Vec<Queued>>,
    /// Accounts whose logins are refused, and why.
    pub restrictions: HashMap<String, Restriction>,
    /// Accounts whose next prekey fetches fail (fault injection): how many are left to fail.
    pub key_fetch_refusals: HashMap<String, usize>,
    /// Prekey fetches failed on purpose, counted.
    pub refused_key_fetches: u64,
    /// Last presence each account announced: available, and when it changed (unix seconds).
    pub presence: HashMap<String, (bool, u64)>,
    /// Devices whose next delivered message is damaged in transit (fault injection).
    pub corrupt_next: std::collections::HashSet<(String, u32)>,
    /// Devices subscribed to each account's presence.
    pub subscribers: HashMap<String, std::collections::HashSet<(String, u32)>>,
    /// How many QR refs an unpaired connection is offered (`None`: WhatsApp's six).
    pub qr_refs: Option<usize>,
    next_phone: u64,
    next_raw_id: u32,
}

/// Flips the last byte of every ciphertext in a `<message>` (its MAC then fails).
fn damage(message: &mut Node) {
    use wacore_binary::node::NodeContent;
    if let Some(NodeContent::Nodes(children)) = message.content.as_mut() {
        for enc in children.iter_mut().filter(|c| c.tag == "enc") {
            if let Some(NodeContent::Bytes(bytes)) = enc.content.as_mut()
                && let Some(last) = bytes.last_mut()
            {
                *last ^= 0xff;
            }
        }
    }
}

/// How many handshake patterns [`Registry::handshakes`] keeps.
pub const HANDSHAKE_HISTORY: usize = 1024;

/// Shared by the WebSocket, admin and media handlers.
#[derive(Debug)]
pub struct Shared {
    /// The server's Noise identity.
    pub identity: ServerIdentity,
    /// The media host's certificate authority and TLS acceptor.
    pub media_tls: crate::media::MediaTls,
    /// The token `media_conn` hands out and the media host requires.
    pub media_auth: String,
    /// Where the media host listens (set once it is bound).
    pub media_addr: std::sync::OnceLock<std::net::SocketAddr>,
    /// Accounts, devices, pairings.
    pub registry: Mutex<Registry>,
    /// Bumped after every registry access, so waiters can re-check a condition.
    pub changes: tokio::sync::watch::Sender<u64>,
}

impl Shared {
    /// Empty state for a server with `identity` and media host `media_tls`.
    pub fn new(identity: ServerIdentity, media_tls: crate::media::MediaTls) -> Self {
        Self {
            identity,
            media_tls,
            media_auth: crate::conn::random_hex(16),
            media_addr: std::sync::OnceLock::new(),
            registry: Mutex::new(Registry::default()),
            changes: tokio::sync::watch::Sender::new(0),
        }
    }

    /// `host:port` of the media host, as `media_conn` advertises it.
    pub fn media_host(&self) -> String {
        self.media_addr
            .get()
            .map_or_else(|| "127.0.0.1:0".to_owned(), ToString::to_string)
    }

    /// Runs `f` with the registry locked.
    pub fn with<T>(&self, f: impl FnOnce(&mut Registry) -> T) -> T {
        let result = {
            let mut registry = self.registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut registry)
        };
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
        result
    }

    /// Resolves once `condition` holds for the registry.
    pub async fn until(&self, mut condition: impl FnMut(&Registry) -> bool) {
        let mut changes = self.changes.subscribe();
        loop {
            let holds = {
                let registry = self.registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                condition(&registry)
            };
            if holds || changes.changed().await.is_err() {
                return;
            }
        }
    }
}

impl Registry {
    /// The account for `phone`, created with fresh keys if it does not exist yet; with no
    /// phone, the account of a device registered under `push_name`, else a new number.
    pub fn account_for(&mut self, phone: Option<&str>, push_name: Option<&str>) -> &mut Account {
        let phone = match phone {
            Some(phone) => phone.to_owned(),
            None => {
                let by_name = push_name.and_then(|name| {
                    self.accounts
                        .values()
                        .find(|a| a.devices.values().any(|d| d.push_name.as_deref() == Some(name)))
                        .map(|a| a.phone.clone())
                });
                match by_name {
                    Some(phone) => phone,
                    None => {
                        self.next_phone += 1;
                        format!("1555{:07}", self.next_phone)
                    }
                }
            }
        };
        let next_raw_id = &mut self.next_raw_id;
        self.accounts.entry(phone.clone()).or_insert_with(|| Account {
            lid: format!(
                "1{:014}",
                phone.parse::<u64>().unwrap_or_default() % 100_000_000_000_000
            ),
            phone,
            identity: wacore::crypto::generate_curve_key_pair(),
            raw_id: {
                *next_raw_id += 1;
                *next_raw_id
            },
            registration_id: rand::random::<u32>() & 0x3fff,
            app_state_key: AppStateKey::generate(),
            devices: BTreeMap::new(),
            profile: crate::profile::Profile::default(),
            blocked: BTreeMap::new(),
            app_state: crate::app_state::AppState::default(),
            sent_media: HashMap::new(),
            next_device: 1,
        })
    }

    /// The stored device that logs in as `phone:device` with this Noise key, if any.
    pub fn device(&self, phone: &str, device: u32, noise_public: &[u8; 32]) -> Option<(&Account, &Device)> {
        let account = self.accounts.get(phone)?;
        let found = account
            .devices
            .get(&device)
            .filter(|d| &d.noise_public == noise_public)?;
        Some((account, found))
    }
}

impl Registry {
    /// The account a JID belongs to: by phone for `@s.whatsapp.net`, by LID for `@lid`.
    pub fn resolve(&self, jid: &wacore_binary::jid::Jid) -> Option<&Account> {
        if jid.is_lid() {
            self.accounts.values().find(|a| a.lid == jid.user.as_str())
        } else {
            self.accounts.get(jid.user.as_str())
        }
    }

    /// The ids of `phone`'s linked companions (none for an unknown number).
    pub fn device_ids(&self, phone: &str) -> Vec<u32> {
        self.accounts.get(phone).map(Account::device_ids).unwrap_or_default()
    }

    /// Removes the companion `phone:device` with its queue (the phone unlinked it, or it logged
    /// itself out); its next login fails with 401. `false` if there is no such device.
    pub fn unlink(&mut self, phone: &str, device: u32) -> bool {
        let removed = self.accounts.get_mut(phone).and_then(|a| a.devices.remove(&device));
        self.outbox.remove(&(phone.to_owned(), device));
        removed.is_some()
    }

    /// Queues `node` for `phone:device` and sends it at once if the device is online.
    pub fn deliver(&mut self, phone: &str, device: u32, mut node: Node, durable: bool) {
        let key = (phone.to_owned(), device);
        if node.tag == "message" && self.corrupt_next.remove(&key) {
            damage(&mut node);
        }
        let online = self
            .online
            .get(&key)
            .filter(|h| h.send(Command::Send(node.clone())).is_ok())
            .is_some();
        if durable || !online {
            self.outbox.entry(key).or_default().push(Queued { node, durable });
        }
    }

    /// What a device must receive when it logs in; non-durable stanzas leave the queue.
    pub fn take_for_login(&mut self, phone: &str, device: u32) -> Vec<Node> {
        let Some(queue) = self.outbox.get_mut(&(phone.to_owned(), device)) else {
            return Vec::new();
        };
        let nodes = queue.iter().map(|q| q.node.clone()).collect();
        queue.retain(|q| q.durable);
        nodes
    }

    /// The `<failure>` a login of `phone` must get now, if any (an expired ban is lifted).
    pub fn login_failure(&mut self, phone: &str) -> Option<Node> {
        use wacore_binary::builder::NodeBuilder;
        match self.restrictions.get(phone).copied()? {
            Restriction::Banned { until, .. } if until <= std::time::Instant::now() => {
                self.restrictions.remove(phone);
                None
            }
            Restriction::Banned { code, until } => {
                let left = until
                    .saturating_duration_since(std::time::Instant::now())
                    .as_secs()
                    .max(1);
                Some(
                    NodeBuilder::new("failure")
                        .attr("reason", "402")
                        .attr("code", code.to_string())
                        .attr("expire", left.to_string())
                        .build(),
                )
            }
            Restriction::Refused { reason } => {
                Some(NodeBuilder::new("failure").attr("reason", reason.to_string()).build())
            }
        }
    }

    /// Records a completed handshake, keeping the last [`HANDSHAKE_HISTORY`].
    pub fn record_handshake(&mut self, pattern: crate::noise::Pattern) {
        if self.handshakes.len() == HANDSHAKE_HISTORY {
            self.handshakes.remove(0);
        }
        self.handshakes.push(pattern);
    }

    /// Sends `node` to the live connection of `phone:device`, if any (nothing is queued).
    pub fn push_live(&self, phone: &str, device: u32, node: Node) {
        if let Some(connection) = self.online.get(&(phone.to_owned(), device)) {
            let _ = connection.send(Command::Send(node));
        }
    }

    /// Sends `command` to every live connection of `phone`.
    pub fn to_account(&self, phone: &str, command: impl Fn() -> Command) {
        for ((owner, _), connection) in &self.online {
            if owner == phone {
                let _ = connection.send(command());
            }
        }
    }

    /// Drops the queued messages `ids` of `phone:device` (the device receipted them).
    pub fn acknowledge(&mut self, phone: &str, device: u32, ids: &[String]) {
        if let Some(queue) = self.outbox.get_mut(&(phone.to_owned(), device)) {
            queue.retain(|q| {
                let id = q
                    .node
                    .attrs
                    .get("id")
                    .map(|v| v.as_str().into_owned())
                    .unwrap_or_default();
                !ids.contains(&id)
            });
        }
    }
}

impl Registry {
    /// The key share `phone:device` is owed (once, after its first prekey upload), with the
    /// one-time prekey it uses taken out of the pool.
    pub fn key_share_due(&mut self, phone: &str, device: u32) -> Option<KeyShare> {
        let account = self.accounts.get(phone)?;
        let (key, raw_id) = (account.app_state_key.clone(), account.raw_id);
        account
            .devices
            .get(&device)
            .filter(|d| !d.key_shared && d.keys.is_some())?;
        let to = self.recipient(phone, device)?;
        if let Some(companion) = self.accounts.get_mut(phone).and_then(|a| a.devices.get_mut(&device)) {
            companion.key_shared = true;
        }
        Some(KeyShare { to, key, raw_id })
    }

    /// `phone:device` as a recipient of its phone's messages, with the one-time prekey the
    /// message uses taken out of the pool (with none left, the session starts from the signed
    /// prekey alone); `None` until the device has uploaded its keys.
    pub fn recipient(&mut self, phone: &str, device: u32) -> Option<Recipient> {
        let account = self.accounts.get_mut(phone)?;
        let (identity, registration_id) = (account.identity.clone(), account.registration_id);
        let keys = account.devices.get_mut(&device)?.keys.as_mut()?;
        let mut bundle = keys.clone();
        bundle.one_time = keys.one_time.pop_first().into_iter().collect();
        Some(Recipient {
            phone: phone.to_owned(),
            device,
            identity,
            registration_id,
            bundle,
        })
    }
}

impl Account {
    /// The ids of its linked companions.
    pub fn device_ids(&self) -> Vec<u32> {
        self.devices.keys().copied().collect()
    }

    /// The devices a stanza addressed to `jid` reaches: the one it names, or all of them for a
    /// bare JID.
    pub fn devices_for(&self, jid: &wacore_binary::jid::Jid) -> Vec<u32> {
        if jid.device != 0 {
            vec![u32::from(jid.device)]
        } else {
            self.device_ids()
        }
    }

    /// The name others see: the last announced push name, else the one `device` (or any
    /// device) registered with.
    pub fn push_name(&self, device: Option<u32>) -> String {
        self.profile
            .push_name
            .clone()
            .or_else(|| {
                device
                    .and_then(|d| self.devices.get(&d))
                    .and_then(|d| d.push_name.clone())
            })
            .or_else(|| self.devices.values().find_map(|d| d.push_name.clone()))
            .unwrap_or_default()
    }

    /// Reserves the next companion device id.
    pub fn next_device_id(&mut self) -> u32 {
        let id = self.next_device;
        self.next_device += 1;
        id
    }
}
