-- Plans imported from the national models (Ryhti plan JSON, NGP detaljplan): the plan as
-- webmap reads it (definition) and the document it came from (source), kept for export.
-- The plan's objects are ordinary layers in the layer store; definition lists their ids.
CREATE TABLE IF NOT EXISTS webmap_plans (
    id text PRIMARY KEY,
    model text NOT NULL,
    definition jsonb NOT NULL,
    source jsonb NOT NULL,
    updated timestamptz NOT NULL
);
