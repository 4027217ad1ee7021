-- Consultation comments (SQLite keeps the same columns, without geom: comments/storage.py).
-- UNIQUE (map_id, idempotency_key) makes a retried submission land once; geom is for QGIS.
CREATE TABLE IF NOT EXISTS webmap_comments (
    id text PRIMARY KEY,
    map_id text NOT NULL,
    created timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'published', 'hidden')),
    text text NOT NULL,
    language text NOT NULL,
    geometry text,
    feature_collection text,
    feature_id text,
    name text,
    email text,
    idempotency_key text,
    geom geometry(Geometry, 4326)
        GENERATED ALWAYS AS (ST_SetSRID(ST_GeomFromGeoJSON(geometry), 4326)) STORED,
    UNIQUE (map_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS webmap_comments_map ON webmap_comments (map_id, status, created);
CREATE INDEX IF NOT EXISTS webmap_comments_geom ON webmap_comments USING gist (geom);
