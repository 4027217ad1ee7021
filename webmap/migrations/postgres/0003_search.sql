-- The registry of place-search index tables, one pair per layer version (search/postgres.py).
CREATE TABLE IF NOT EXISTS webmap_search_indexes (
    name text PRIMARY KEY,
    layer_id text NOT NULL,
    version text NOT NULL,
    spec text NOT NULL
);
