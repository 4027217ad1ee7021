-- The place-search index tables built per layer version (webmap/search.py creates the same).
CREATE TABLE IF NOT EXISTS webmap_search_indexes (
    name text PRIMARY KEY,
    layer_id text NOT NULL,
    version text NOT NULL,
    spec text NOT NULL
);
