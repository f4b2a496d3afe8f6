-- Attachments: a message's media (with the CDN keys that download it again), location or shared
-- contacts (JSON), and the media file's id for the media API.
ALTER TABLE messages ADD COLUMN attachment TEXT;
ALTER TABLE messages ADD COLUMN media_id TEXT;
CREATE INDEX messages_by_media ON messages (session, media_id);
