-- API keys: only the SHA-256 of the secret is stored.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    label       TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    scopes      TEXT NOT NULL,           -- JSON array of scope names
    sessions    TEXT,                    -- JSON array of session names; NULL = all sessions
    active      BIGINT NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,         -- ms since epoch
    updated_at  BIGINT NOT NULL,
    expires_at  BIGINT                   -- NULL = never
);
