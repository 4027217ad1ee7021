-- Maps published through the staff API. Every publish or removal raises the one revision in
-- webmap_maps_state, so each worker notices a change by reading one number.
CREATE TABLE webmap_maps (
    id TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    version TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE webmap_maps_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
);
INSERT INTO webmap_maps_state (id, revision) VALUES (1, 0);
