-- Responses of POST requests sent with an Idempotency-Key, replayed for 24 hours.
CREATE TABLE idempotency_keys (
    api_key_id   TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,          -- SHA-256 of method, path, query and body
    status       BIGINT,                 -- NULL while the first request is still running
    content_type TEXT,
    body         BYTEA,
    created_at   BIGINT NOT NULL,        -- ms since epoch
    PRIMARY KEY (api_key_id, idem_key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
