-- Staff responses to comments (SPEC §7). A comment keeps the response being written
-- (response) apart from the one the public may read (published_response, copied when staff
-- publish a map's responses), so a draft never shows. themes is a JSON array of strings.
-- notify: the resident asked to be told by e-mail when the responses are published.
ALTER TABLE webmap_comments ADD COLUMN themes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE webmap_comments ADD COLUMN response TEXT;
ALTER TABLE webmap_comments ADD COLUMN changed_plan INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webmap_comments ADD COLUMN responded TEXT;
ALTER TABLE webmap_comments ADD COLUMN published_response TEXT;
ALTER TABLE webmap_comments ADD COLUMN notify INTEGER NOT NULL DEFAULT 0;
-- When each map's responses were last published.
CREATE TABLE webmap_response_publications (
    map_id TEXT PRIMARY KEY,
    published TEXT NOT NULL,
    responses INTEGER NOT NULL
);
-- One message per comment whose resident asked to be told, queued in the same transaction
-- that publishes the responses; sent is set once the SMTP server has accepted it.
CREATE TABLE webmap_mail_queue (
    comment_id TEXT PRIMARY KEY,
    map_id TEXT NOT NULL,
    recipient TEXT,
    language TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    queued TEXT NOT NULL,
    sent TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX webmap_mail_queue_unsent ON webmap_mail_queue (sent, queued);
