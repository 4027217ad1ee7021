-- Maps published through the staff API. Every publish or removal raises the one revision in
-- webmap_maps_state, so each worker and host notices a change by reading one number.
CREATE TABLE IF NOT EXISTS webmap_maps (
    id text PRIMARY KEY,
    definition jsonb NOT NULL,
    version text NOT NULL,
    updated timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS webmap_maps_state (
    id smallint PRIMARY KEY CHECK (id = 1),
    revision bigint NOT NULL
);
INSERT INTO webmap_maps_state (id, revision) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
