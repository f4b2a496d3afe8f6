-- The groups each session's account is in, as last read from WhatsApp (a full list when the
-- session connects or a list is refreshed, one group after each change it hears of), so listing
-- them asks WhatsApp nothing and survives a restart.
CREATE TABLE groups (
    session    TEXT NOT NULL,
    id         TEXT NOT NULL,              -- <id>@g.us
    data       TEXT NOT NULL,              -- JSON: the Group object the API answers
    updated_at BIGINT NOT NULL,            -- ms since epoch
    PRIMARY KEY (session, id)
);

-- When each session's whole group list was last read from WhatsApp; no row: never, so the
-- list is read before it is answered.
CREATE TABLE group_lists (
    session   TEXT PRIMARY KEY,
    synced_at BIGINT NOT NULL              -- ms since epoch
);
