-- Client-token rules, one row per session (PUT /api/sessions/{session}/client-rules): what the
-- browser tokens minted for that session may do. Every call made with a token reads them again.
-- `generation` is new each time rules are created, so tokens minted under rules since deleted
-- stay refused when rules are set again.
CREATE TABLE client_rules (
    session         TEXT PRIMARY KEY,
    generation      TEXT NOT NULL,
    recipient_mode  TEXT NOT NULL,            -- any | conversation
    allowed_actions TEXT NOT NULL,            -- comma-separated actions, empty = none
    rate_limit      BIGINT NOT NULL,          -- requests per minute per ephemeral id, 0 = no limit
    max_daily       BIGINT NOT NULL,          -- sends per UTC day per ephemeral id, 0 = no limit
    allowed_origins TEXT NOT NULL,            -- comma-separated origins, empty = any
    enabled         BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,          -- ms since epoch
    updated_at      BIGINT NOT NULL
);

-- Sends (messages and reactions) made with client tokens, per ephemeral id and UTC day, against
-- the rules' `max_daily`. Kept in the database so a restart does not reset the day's count.
CREATE TABLE client_sends (
    session      TEXT NOT NULL,
    ephemeral_id TEXT NOT NULL,
    day          BIGINT NOT NULL,             -- days since the epoch, UTC
    sends        BIGINT NOT NULL,
    PRIMARY KEY (session, ephemeral_id, day)
);
