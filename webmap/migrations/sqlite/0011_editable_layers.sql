-- A layer is editable through OGC API - Features Part 4 only when staff chose so at import
-- (`webmap layers import --editable`, the staff API's `editable`); 0 for every layer before.
ALTER TABLE webmap_layers ADD COLUMN editable INTEGER NOT NULL DEFAULT 0;
