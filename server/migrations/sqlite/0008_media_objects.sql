-- Persisted media: the URL of the object a message's media file was copied to (`file:///…` or
-- `s3://bucket/…`), set by POST …/media/{mediaId}/persist or the session's persistMedia setting.
ALTER TABLE messages ADD COLUMN media_object TEXT;
