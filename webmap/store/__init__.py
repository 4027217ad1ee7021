"""Layer storage behind one interface (``base.Store``): GeoPackage files or PostGIS tables over
the one database (``services.open_services`` picks the backend), with rasters as COG files
for both (``rasters``) and what both share in ``common`` and ``catalogue``."""
