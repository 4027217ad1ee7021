-- The layer catalogue of the embedded store: one row per layer, naming its GeoPackage or COG
-- (a path relative to the data directory). The same columns as in PostgreSQL.
CREATE TABLE webmap_layers (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    attribution TEXT NOT NULL DEFAULT '',
    source_crs TEXT NOT NULL,
    minx REAL NOT NULL, miny REAL NOT NULL, maxx REAL NOT NULL, maxy REAL NOT NULL,
    feature_count INTEGER NOT NULL,
    geometry_type TEXT NOT NULL,
    fields TEXT NOT NULL,
    version TEXT NOT NULL,
    location TEXT NOT NULL,
    updated TEXT NOT NULL
);
