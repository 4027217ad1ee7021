-- Stable feature ids and what each comment's resident chose.
-- A layer remembers its id attribute (id_field, '' for none), the greatest fid of the version
-- served (max_fid: fids are dense when it equals feature_count) and the greatest fid ever
-- given (fid_high), so a feature new in a replacement never takes the id of one removed.
ALTER TABLE webmap_layers ADD COLUMN id_field TEXT NOT NULL DEFAULT '';
ALTER TABLE webmap_layers ADD COLUMN max_fid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webmap_layers ADD COLUMN fid_high INTEGER NOT NULL DEFAULT 0;
-- A comment on a plan feature keeps a snapshot of it as the resident saw it: the layer
-- version, the feature's id attribute value, its label, its geometry (GeoJSON in CRS84) and
-- its key attributes (a JSON object).
ALTER TABLE webmap_comments ADD COLUMN feature_version TEXT;
ALTER TABLE webmap_comments ADD COLUMN feature_key TEXT;
ALTER TABLE webmap_comments ADD COLUMN feature_label TEXT;
ALTER TABLE webmap_comments ADD COLUMN feature_geometry TEXT;
ALTER TABLE webmap_comments ADD COLUMN feature_attributes TEXT;
