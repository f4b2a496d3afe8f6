-- Each session's WhatsApp Business labels and the chats they are on, kept from the account's
-- app state (label_edit, label_jid), changed through the API or on any of its devices.
-- WhatsApp has no "list labels": this copy is the list.
CREATE TABLE labels (
    session    TEXT NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,            -- WhatsApp's label id: a number, as text
    name       TEXT NOT NULL,
    color      BIGINT NOT NULL,            -- colour index, 0 to 19
    updated_at BIGINT NOT NULL,            -- ms since epoch
    PRIMARY KEY (session, id)
);

CREATE TABLE label_chats (
    session  TEXT NOT NULL,
    label_id TEXT COLLATE "C" NOT NULL,
    chat_id  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (session, label_id, chat_id)
);
