-- The layer catalogue of the PostGIS store: one row per layer, naming its table (or COG).
-- Like every migration it is idempotent, so a database made before migrations were recorded
-- takes it without change.
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE IF NOT EXISTS webmap_layers (
    id text PRIMARY KEY,
    kind text NOT NULL,
    title text NOT NULL,
    description text NOT NULL DEFAULT '',
    attribution text NOT NULL DEFAULT '',
    source_crs text NOT NULL,
    minx double precision NOT NULL, miny double precision NOT NULL,
    maxx double precision NOT NULL, maxy double precision NOT NULL,
    feature_count bigint NOT NULL,
    geometry_type text NOT NULL,
    fields text NOT NULL,
    version text NOT NULL,
    location text NOT NULL,
    updated text NOT NULL
);
