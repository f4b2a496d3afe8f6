-- Polls: the options and message secret of each poll message (JSON), so votes can be decrypted
-- and named in `message.vote`.
ALTER TABLE messages ADD COLUMN poll TEXT;
