-- Who each status post of a session was shown to (a JSON array of LID JIDs): deleting a status
-- must reach the same devices its post reached.
CREATE TABLE status_audiences (
    session    TEXT NOT NULL,
    message_id TEXT NOT NULL,
    recipients TEXT NOT NULL,
    created_at BIGINT NOT NULL,               -- ms since epoch
    PRIMARY KEY (session, message_id)
);
