-- Plans imported from the national models (Ryhti plan JSON, NGP detaljplan): the plan as
-- webmap reads it (definition) and the document it came from (source), kept for export.
-- The plan's objects are ordinary layers in the layer store; definition lists their ids.
CREATE TABLE webmap_plans (
    id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    definition TEXT NOT NULL,
    source TEXT NOT NULL,
    updated TEXT NOT NULL
);
