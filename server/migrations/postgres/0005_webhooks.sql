-- Outbox fan-out: an event is copied into one delivery per matching webhook, then flagged.
ALTER TABLE events ADD COLUMN fanned_out BIGINT NOT NULL DEFAULT 0;
CREATE INDEX events_to_fan_out ON events (id) WHERE fanned_out = 0;

-- Webhooks: where events are POSTed.
CREATE TABLE webhooks (
    id                 TEXT PRIMARY KEY,   -- wh_<ULID>
    url                TEXT NOT NULL,
    label              TEXT,
    events             TEXT NOT NULL,      -- JSON array of event types; [] or ["*"] = all
    session            TEXT,               -- NULL = every session
    enabled            BIGINT NOT NULL,
    headers            TEXT NOT NULL,      -- JSON object of extra request headers
    retry_attempts     BIGINT NOT NULL,
    retry_delay_secs   BIGINT NOT NULL,
    retry_policy       TEXT NOT NULL,      -- constant | linear | exponential
    secret             TEXT NOT NULL,      -- the HMAC key, sealed with the server's secret key
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

-- One event for one webhook, from fan-out until delivered or dead; its last attempt's outcome.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,      -- dlv_<ULID>, in fan-out order: the order of a lane
    webhook_id      TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    session         TEXT NOT NULL,         -- with webhook_id, the lane that keeps order
    state           TEXT NOT NULL,         -- pending | delivered | dead
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,       -- ms since epoch
    status_code     BIGINT,
    latency_ms      BIGINT,
    error           TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX deliveries_lane ON deliveries (webhook_id, session, id) WHERE state = 'pending';
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_updated ON deliveries (updated_at) WHERE state = 'delivered';
