-- A layer is editable through OGC API - Features Part 4 only when staff chose so at import
-- (`webmap layers import --editable`, the staff API's `editable`); false for every layer before.
ALTER TABLE webmap_layers ADD COLUMN IF NOT EXISTS editable boolean NOT NULL DEFAULT false;
