-- Consultation comments. UNIQUE (map_id, idempotency_key) makes a retried submission land
-- once; times are ISO 8601 text in UTC. PostgreSQL adds a PostGIS column for QGIS.
CREATE TABLE webmap_comments (
    id TEXT PRIMARY KEY,
    map_id TEXT NOT NULL,
    created TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'published', 'hidden')),
    text TEXT NOT NULL,
    language TEXT NOT NULL,
    geometry TEXT,
    feature_collection TEXT,
    feature_id TEXT,
    name TEXT,
    email TEXT,
    idempotency_key TEXT,
    UNIQUE (map_id, idempotency_key)
);
CREATE INDEX webmap_comments_map ON webmap_comments (map_id, status, created);
