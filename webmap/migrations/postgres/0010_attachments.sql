-- Photos residents attach to comments (SPEC §6, §7): at most three per comment, numbered
-- 1-3, each a re-encoded JPEG without metadata (comments/photos.py) with its required
-- description (the alt text). The bytes live in the database so both backends, and every
-- copy of the database, carry them with their comment; the purge deletes the rows (no
-- foreign key, as the mail queue has none: rows are only ever removed by the purge).
CREATE TABLE IF NOT EXISTS webmap_comment_photos (
    comment_id text NOT NULL,
    n integer NOT NULL CHECK (n BETWEEN 1 AND 3),
    alt text NOT NULL,
    width integer NOT NULL,
    height integer NOT NULL,
    size integer NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (comment_id, n)
);
