-- Staff sessions ended by signing out: the session's random id and when its cookie would have
-- expired anyway (after which the row is removed). A copied cookie of an ended session is
-- refused on every worker and host.
CREATE TABLE IF NOT EXISTS webmap_ended_sessions (
    session_id text PRIMARY KEY,
    expires double precision NOT NULL
);
