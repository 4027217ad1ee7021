-- Stable feature ids and what each comment's resident chose (see the SQLite migration).
ALTER TABLE webmap_layers ADD COLUMN id_field text NOT NULL DEFAULT '';
ALTER TABLE webmap_layers ADD COLUMN max_fid bigint NOT NULL DEFAULT 0;
ALTER TABLE webmap_layers ADD COLUMN fid_high bigint NOT NULL DEFAULT 0;
ALTER TABLE webmap_comments ADD COLUMN feature_version text;
ALTER TABLE webmap_comments ADD COLUMN feature_key text;
ALTER TABLE webmap_comments ADD COLUMN feature_label text;
ALTER TABLE webmap_comments ADD COLUMN feature_geometry text;
ALTER TABLE webmap_comments ADD COLUMN feature_attributes text;
-- QGIS reading the table sees a plan-feature comment at the feature it was made on.
DROP INDEX IF EXISTS webmap_comments_geom;
ALTER TABLE webmap_comments DROP COLUMN geom;
ALTER TABLE webmap_comments ADD COLUMN geom geometry(Geometry, 4326)
    GENERATED ALWAYS AS (ST_SetSRID(ST_GeomFromGeoJSON(COALESCE(geometry, feature_geometry)),
                                    4326)) STORED;
CREATE INDEX webmap_comments_geom ON webmap_comments USING gist (geom);
