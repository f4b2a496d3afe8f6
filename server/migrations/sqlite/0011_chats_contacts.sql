-- Each session's chats: their activity, kept with every stored message, and the marks the
-- account puts on them (archived, pinned, muted, read), whether made through the API or on the
-- account's other devices (app-state changes).
CREATE TABLE chats (
    session       TEXT NOT NULL,
    chat_id       TEXT NOT NULL,
    activity      BIGINT NOT NULL DEFAULT 0, -- seq of the newest stored message; 0: none yet
    last_at       BIGINT,                  -- when that message was sent (ms since epoch)
    unread        BIGINT NOT NULL DEFAULT 0, -- messages received since the account last read the chat
    marked_unread BIGINT NOT NULL DEFAULT 0, -- 1: marked unread by the account
    archived      BIGINT NOT NULL DEFAULT 0,
    pinned_at     BIGINT,                  -- ms since epoch when pinned; NULL: not pinned
    muted_until   BIGINT,                  -- Unix seconds, -1 for ever; NULL: not muted
    updated_at    BIGINT NOT NULL,         -- ms since epoch
    PRIMARY KEY (session, chat_id)
);
CREATE INDEX chats_activity ON chats (session, activity, chat_id);

INSERT INTO chats (session, chat_id, activity, last_at, updated_at)
    SELECT session, chat_id, MAX(seq), MAX(sent_at), MAX(updated_at) FROM messages GROUP BY session, chat_id;

-- Starred messages (POST …/messages/star, or starred on another device).
ALTER TABLE messages ADD COLUMN starred BIGINT NOT NULL DEFAULT 0;

-- The people each session knows: whoever wrote to it (with the display name of their latest
-- message) and the names the account saved for them in its address book (app-state contacts).
CREATE TABLE contacts (
    session     TEXT NOT NULL,
    jid         TEXT NOT NULL,           -- the phone-number JID when known, else the LID
    lid         TEXT,                      -- <digits>@lid, when known
    push_name   TEXT,                      -- from their latest message that carried one
    name        TEXT,                      -- full name in the account's address book
    first_name  TEXT,
    updated_at  BIGINT NOT NULL,           -- ms since epoch
    PRIMARY KEY (session, jid)
);

INSERT INTO contacts (session, jid, push_name, updated_at)
    SELECT m.session, m.sender,
        (SELECT p.push_name FROM messages p WHERE p.session = m.session AND p.sender = m.sender
            AND p.from_me = 0 AND p.push_name IS NOT NULL ORDER BY p.seq DESC LIMIT 1),
        MAX(m.updated_at)
    FROM messages m WHERE m.from_me = 0 AND m.sender IS NOT NULL
        AND (m.sender LIKE '%@s.whatsapp.net' OR m.sender LIKE '%@lid')
    GROUP BY m.session, m.sender;
