-- whatsapp-rust's key store, one set of rows per Titan session (store::device). Every table is
-- keyed by `session` first so a session's rows are found, and wiped, through the primary key.
-- Times are unix seconds unless the column says otherwise.

-- The session's own device: keys, identity, account, counters (serde JSON of wacore's Device).
CREATE TABLE wa_device (
    session    TEXT   NOT NULL,
    data       TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,          -- ms since epoch
    PRIMARY KEY (session)
);

-- Signal identity keys of remote addresses (`user[:device]@server`).
CREATE TABLE wa_identities (
    session TEXT  NOT NULL,
    address TEXT  NOT NULL,
    key     BLOB  NOT NULL,
    PRIMARY KEY (session, address)
);

-- Signal sessions with remote addresses (serialized session records).
CREATE TABLE wa_sessions (
    session TEXT  NOT NULL,
    address TEXT  NOT NULL,
    record  BLOB  NOT NULL,
    PRIMARY KEY (session, address)
);

-- Our one-time pre-keys, with whether the server has them.
CREATE TABLE wa_prekeys (
    session  TEXT   NOT NULL,
    id       BIGINT NOT NULL,
    record   BLOB   NOT NULL,
    uploaded BIGINT NOT NULL,            -- 0 or 1
    PRIMARY KEY (session, id)
);

-- Our signed pre-keys.
CREATE TABLE wa_signed_prekeys (
    session TEXT   NOT NULL,
    id      BIGINT NOT NULL,
    record  BLOB   NOT NULL,
    PRIMARY KEY (session, id)
);

-- Group sender keys (address = `group::sender`).
CREATE TABLE wa_sender_keys (
    session TEXT  NOT NULL,
    address TEXT  NOT NULL,
    record  BLOB  NOT NULL,
    PRIMARY KEY (session, address)
);

-- App-state sync keys shared by the phone; `stored_seq` orders them by arrival.
CREATE TABLE wa_app_state_keys (
    session     TEXT   NOT NULL,
    key_id      BLOB   NOT NULL,
    key_data    BLOB   NOT NULL,
    fingerprint BLOB   NOT NULL,
    timestamp   BIGINT NOT NULL,
    stored_seq  BIGINT NOT NULL,
    PRIMARY KEY (session, key_id)
);

-- App-state collection versions and ltHash state (serde JSON of HashState).
CREATE TABLE wa_app_state_versions (
    session TEXT NOT NULL,
    name    TEXT NOT NULL,
    state   TEXT NOT NULL,
    PRIMARY KEY (session, name)
);

-- App-state value MACs by index MAC, per collection.
CREATE TABLE wa_app_state_mutation_macs (
    session   TEXT   NOT NULL,
    name      TEXT   NOT NULL,
    index_mac BLOB   NOT NULL,
    version   BIGINT NOT NULL,
    value_mac BLOB   NOT NULL,
    PRIMARY KEY (session, name, index_mac)
);

-- Base keys saved for retry collision detection.
CREATE TABLE wa_base_keys (
    session    TEXT   NOT NULL,
    address    TEXT   NOT NULL,
    message_id TEXT   NOT NULL,
    base_key   BLOB   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (session, address, message_id)
);

-- Known device lists of users (devices as serde JSON of Vec<DeviceInfo>).
CREATE TABLE wa_device_registry (
    session    TEXT   NOT NULL,
    user_id    TEXT   NOT NULL,
    devices    TEXT   NOT NULL,
    timestamp  BIGINT NOT NULL,
    phash      TEXT,
    raw_id     BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (session, user_id)
);

-- Cached group metadata blobs (opaque to the store).
CREATE TABLE wa_group_metadata (
    session    TEXT   NOT NULL,
    group_jid  TEXT   NOT NULL,
    info       BLOB   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (session, group_jid)
);

-- LID to phone-number mappings; looked up by either side.
CREATE TABLE wa_lid_pn_mapping (
    session         TEXT   NOT NULL,
    lid             TEXT   NOT NULL,
    phone_number    TEXT   NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    learning_source TEXT   NOT NULL,
    PRIMARY KEY (session, lid)
);
CREATE INDEX wa_lid_pn_mapping_phone ON wa_lid_pn_mapping (session, phone_number, updated_at);

-- Per group, which devices hold our current sender key.
CREATE TABLE wa_sender_key_devices (
    session    TEXT   NOT NULL,
    group_jid  TEXT   NOT NULL,
    device_jid TEXT   NOT NULL,
    has_key    BIGINT NOT NULL,          -- 0 or 1
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (session, group_jid, device_jid)
);
CREATE INDEX wa_sender_key_devices_device ON wa_sender_key_devices (session, device_jid);

-- Trusted-contact privacy tokens (an empty token is a sender-only placeholder).
CREATE TABLE wa_tc_tokens (
    session          TEXT   NOT NULL,
    jid              TEXT   NOT NULL,
    token            BLOB   NOT NULL,
    token_timestamp  BIGINT NOT NULL,
    sender_timestamp BIGINT,
    PRIMARY KEY (session, jid)
);
CREATE INDEX wa_tc_tokens_token_timestamp ON wa_tc_tokens (session, token_timestamp);

-- Payloads of sent messages, kept for retry receipts.
CREATE TABLE wa_sent_messages (
    session    TEXT   NOT NULL,
    chat_jid   TEXT   NOT NULL,
    message_id TEXT   NOT NULL,
    payload    BLOB   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (session, chat_jid, message_id)
);
CREATE INDEX wa_sent_messages_created_at ON wa_sent_messages (session, created_at);

-- Decrypted inbound messages awaiting the durability hook's commit.
CREATE TABLE wa_pending_inbound_messages (
    session     TEXT   NOT NULL,
    chat        TEXT   NOT NULL,
    sender      TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    message     BLOB   NOT NULL,
    inserted_at BIGINT NOT NULL,
    PRIMARY KEY (session, chat, sender, id)
);
CREATE INDEX wa_pending_inbound_messages_inserted_at ON wa_pending_inbound_messages (session, inserted_at);

-- Message secrets of messages, to decrypt later add-ons (votes, reactions, edits).
CREATE TABLE wa_msg_secrets (
    session    TEXT   NOT NULL,
    chat       TEXT   NOT NULL,
    sender     TEXT   NOT NULL,
    msg_id     TEXT   NOT NULL,
    secret     BLOB   NOT NULL,
    expires_at BIGINT NOT NULL,          -- 0 = never
    message_ts BIGINT NOT NULL,          -- 0 = unknown
    PRIMARY KEY (session, chat, sender, msg_id)
);
CREATE INDEX wa_msg_secrets_expires_at ON wa_msg_secrets (session, expires_at) WHERE expires_at <> 0;
