-- WhatsApp sessions: one row per linked (or to-be-linked) number.
CREATE TABLE sessions (
    name          TEXT PRIMARY KEY,
    status        TEXT NOT NULL,           -- CONNECTING | CONNECTED | DISCONNECTED
    status_reason TEXT,                    -- SCAN_QR, AUTO_RECONNECT, MANUAL_STOP, ... or NULL
    running       BIGINT NOT NULL DEFAULT 0, -- 1 = should run: restored when the server starts
    phone_number  TEXT,
    lid           TEXT,
    push_name     TEXT,
    business_name TEXT,
    platform      TEXT,
    proxy         TEXT,                    -- http:// or socks5:// URL, credentials included
    config        TEXT NOT NULL,           -- JSON object (SessionConfig)
    last_error    TEXT,                    -- the latest connection failure, for humans
    created_at    BIGINT NOT NULL,         -- ms since epoch
    updated_at    BIGINT NOT NULL
);

-- The event outbox: written in the same transaction as the state each event reflects.
CREATE TABLE events (
    id         TEXT PRIMARY KEY,           -- evt_<ULID>, increasing
    session    TEXT,
    event      TEXT NOT NULL,              -- e.g. session.status, message.received
    payload    TEXT NOT NULL,              -- JSON
    created_at BIGINT NOT NULL
);
CREATE INDEX events_created_at ON events (created_at);

-- Messages sent and received, per session and chat.
CREATE TABLE messages (
    seq        BIGSERIAL PRIMARY KEY, -- arrival order, the history cursor
    session    TEXT NOT NULL,
    chat_id    TEXT NOT NULL,
    id         TEXT NOT NULL,              -- WhatsApp message id
    from_me    BIGINT NOT NULL,
    sender     TEXT,                       -- sender JID (groups: the participant)
    push_name  TEXT,
    type       TEXT NOT NULL,
    text       TEXT,
    quoted_id  TEXT,
    mentions   TEXT,                       -- JSON array of JIDs
    status     TEXT NOT NULL,              -- pending | sent | delivered | read | played | error
    progress   BIGINT NOT NULL,            -- rank of status, so receipts only move it forward
    error      TEXT,
    sent_at    BIGINT NOT NULL,            -- ms since epoch
    updated_at BIGINT NOT NULL,
    UNIQUE (session, chat_id, id, from_me)
);
CREATE INDEX messages_history ON messages (session, chat_id, seq);
CREATE INDEX messages_by_id ON messages (session, id);
