-- The messages a paced session has accepted and not yet sent, in the order they leave: each
-- row holds the message as it goes to WhatsApp, so a restart sends exactly what was accepted.
CREATE TABLE send_queue (
    position   BIGSERIAL PRIMARY KEY, -- the order of sending
    session    TEXT NOT NULL,
    id         TEXT NOT NULL,    -- the message's WhatsApp id (its row in messages)
    chat_jid   TEXT NOT NULL,    -- the recipient
    message    BYTEA NOT NULL,   -- the encoded WhatsApp message
    attempts   INTEGER NOT NULL DEFAULT 0, -- sends that failed for a passing reason
    queued_at  BIGINT NOT NULL,  -- ms since epoch
    UNIQUE (session, id)
);
CREATE INDEX send_queue_by_session ON send_queue (session, position);

-- When the session's last queued message left (ms since epoch): the next one waits its gap from
-- there, across restarts.
ALTER TABLE sessions ADD COLUMN paced_at BIGINT;
