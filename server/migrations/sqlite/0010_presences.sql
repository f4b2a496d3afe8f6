-- The last presence each session heard of per chat or contact (presence.update): online or
-- offline with when last seen, typing, recording or paused, so it can be read back.
CREATE TABLE presences (
    session    TEXT NOT NULL,
    chat_id    TEXT NOT NULL,              -- the contact, or the chat they type in
    state      TEXT NOT NULL,              -- available | unavailable | composing | paused
    media      TEXT,                       -- audio while recording, else NULL
    last_seen  BIGINT,                     -- Unix seconds, when WhatsApp said
    updated_at BIGINT NOT NULL,            -- ms since epoch
    PRIMARY KEY (session, chat_id)
);
