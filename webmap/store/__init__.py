"""Storage backends behind one interface (``base.Store``), and the choice between them.

Kept light: the command line opens a store without importing the web app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..settings import Settings
    from .base import Store


def open_store(settings: Settings) -> tuple[Store, str]:
    """The backend for these settings (PostGIS with ``database_url``, else GeoPackage files)
    and its name."""
    if settings.database_url:
        if not settings.database_url.startswith(("postgresql://", "postgres://")):
            raise SystemExit("WEBMAP_DATABASE_URL must be a postgresql://… URL")
        from .postgis import PostgisStore

        return PostgisStore(settings.database_url, data_dir=settings.data_dir), "postgis"
    from .gpkg import GpkgStore

    return GpkgStore(settings.data_dir), "geopackage"
