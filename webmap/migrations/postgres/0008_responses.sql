-- Staff responses to comments (SPEC §7). A comment keeps the response being written
-- (response) apart from the one the public may read (published_response, copied when staff
-- publish a map's responses), so a draft never shows. themes is a JSON array of strings.
-- notify: the resident asked to be told by e-mail when the responses are published.
ALTER TABLE webmap_comments ADD COLUMN themes text NOT NULL DEFAULT '[]';
ALTER TABLE webmap_comments ADD COLUMN response text;
ALTER TABLE webmap_comments ADD COLUMN changed_plan boolean NOT NULL DEFAULT false;
ALTER TABLE webmap_comments ADD COLUMN responded timestamptz;
ALTER TABLE webmap_comments ADD COLUMN published_response text;
ALTER TABLE webmap_comments ADD COLUMN notify boolean NOT NULL DEFAULT false;
-- When each map's responses were last published.
CREATE TABLE webmap_response_publications (
    map_id text PRIMARY KEY,
    published timestamptz NOT NULL,
    responses integer NOT NULL
);
-- One message per comment whose resident asked to be told, queued in the same transaction
-- that publishes the responses; sent is set once the SMTP server has accepted it.
CREATE TABLE webmap_mail_queue (
    comment_id text PRIMARY KEY,
    map_id text NOT NULL,
    recipient text,
    language text NOT NULL,
    subject text NOT NULL,
    body text NOT NULL,
    queued timestamptz NOT NULL,
    sent timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    last_error text
);
CREATE INDEX webmap_mail_queue_unsent ON webmap_mail_queue (sent, queued);
