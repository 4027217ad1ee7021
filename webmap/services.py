"""The composition root: every service built once, from one ``Database``.

``open_services(settings)`` is the only place the service graph is made; the web app
(``create_app``) and the command line both use it, so a CLI command sees exactly what the API
serves (published maps included). Views reach the graph through ``current()``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .auth import TokenRepository
from .basemap import BasemapService, load_basemaps
from .basemap.proxy import ProxyCache
from .comments.service import CommentService
from .comments.storage import CommentRepository
from .database import Database, PostgresDatabase, SqliteDatabase, open_database
from .layers import MapsOfLayer
from .limits import RateLimits
from .mapimage.service import MapImageService
from .maps import MapDefinition, MapRegistry, MapRepository
from .maps.checks import check_fields, check_layers, unnamed_count
from .plans.service import PlanService
from .plans.storage import PlanRepository
from .problems import ServiceUnavailable
from .report.collect import ReportBuilder
from .search import PostgresIndexes, SearchService, SqliteIndexes
from .search.index import Indexes
from .settings import Settings
from .store.base import Store
from .store.common import sweep_scratch
from .store.gpkg import GpkgStore
from .store.postgis import PostgisStore
from .styles import StyleCatalogue
from .tiles.cache import DiskTileCache, TileCache

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger("webmap.services")
EXTENSION = "webmap"
STALE_MARGIN_S = 3600.0
"""An entry of ``data/tmp`` this long past the import time limit is left by a killed run."""
"""The key of the one ``Services`` object in ``app.extensions``."""


@dataclass(frozen=True, kw_only=True)
class Services:
    """Everything a request or a command needs, built over one database."""

    settings: Settings
    database: Database
    layers: Store
    maps: MapRegistry
    comments: CommentService
    tokens: TokenRepository
    search: SearchService
    tile_cache: TileCache
    basemaps: BasemapService
    styles: StyleCatalogue
    plans: PlanService
    limits: RateLimits
    map_images: MapImageService

    @property
    def reports(self) -> ReportBuilder:
        """The response reports, over the comments and the map images (keeps no state)."""
        return ReportBuilder(self.comments, self.map_images)

    @property
    def backend(self) -> str:
        """``geopackage`` or ``postgis``: which layer store serves."""
        return self.layers.backend

    def layer_users(self) -> MapsOfLayer:
        """The served maps as a replacement or removal of a layer sees them."""
        def style_property(style_id: str) -> str | None:
            style = self.styles.get(style_id)
            return None if style is None else style.property
        return MapsOfLayer(self.maps, style_property)

    def ping(self) -> None:
        """Raise ``ServiceUnavailable`` naming the first part that cannot be reached."""
        parts = (("database", self.database.ping), ("layers", self.layers.ping),
                 ("published maps", self.maps.ping), ("comments", self.comments.storage.ping),
                 ("staff tokens", self.tokens.ping),
                 ("plans", self.plans.storage.ping))
        for name, ping in parts:
            try:
                ping()
            except ServiceUnavailable as exc:
                raise ServiceUnavailable(f"{name}: {exc.detail}",
                                         headers={"Retry-After": "5"}) from exc

    def close(self) -> None:
        """Release the store's and the database's connections."""
        self.layers.close()
        self.database.close()


def _layer_store(database: Database, settings: Settings) -> Store:
    """The layer backend the database implies: PostGIS tables, or GeoPackage files."""
    if isinstance(database, PostgresDatabase):
        return PostgisStore(database, settings.data_dir,
                            query_timeout_s=settings.query_timeout_s,
                            raster_max_read_pixels=settings.raster_tile_max_read_pixels)
    if isinstance(database, SqliteDatabase):
        return GpkgStore(database, settings.data_dir, query_timeout_s=settings.query_timeout_s,
                         raster_max_read_pixels=settings.raster_tile_max_read_pixels)
    raise TypeError(f"no layer store for a {type(database).__name__}")


def _search_indexes(database: Database, settings: Settings) -> Indexes:
    if isinstance(database, PostgresDatabase):
        return PostgresIndexes(database)
    return SqliteIndexes(settings.data_dir / "search")


def private_files() -> None:
    """Files and folders this process creates (databases, layers, caches, scratch) are the
    service's alone: 0600 and 0700, whatever umask it was started with."""
    os.umask(os.umask(0o077) | 0o077)


def _tile_cache(root: Path, settings: Settings) -> DiskTileCache:
    return DiskTileCache(root, enabled=settings.tile_cache,
                         max_bytes=settings.tile_cache_mb * 1024 * 1024,
                         max_files=settings.tile_cache_files)


def build_services(settings: Settings) -> Services:
    """Every service for these settings (close them with ``Services.close``)."""
    private_files()
    # imports are stopped after import_timeout_s: older scratch entries are a killed run's
    sweep_scratch(settings.data_dir, settings.import_timeout_s + STALE_MARGIN_S)
    database = open_database(data_dir=settings.data_dir, database_url=settings.database_url)
    try:
        layers = _layer_store(database, settings)
        cache_root = settings.data_dir / "cache"
        basemaps = BasemapService(load_basemaps(settings.styles_dir / "basemaps"), layers,
                                  _tile_cache(cache_root / "basemaps", settings),
                                  directory=settings.styles_dir / "basemaps",
                                  proxy_cache=ProxyCache(
                                      cache_root / "proxy",
                                      max_bytes=settings.basemap_proxy_cache_mb * 1024 * 1024,
                                      ttl=settings.basemap_proxy_cache_hours * 3600.0),
                                  proxy_timeout=settings.basemap_proxy_timeout)
        styles = StyleCatalogue(settings.styles_dir, drawn=basemaps.palettes)

        def style_property(style_id: str) -> str | None:
            style = styles.get(style_id)
            return None if style is None else style.property

        def check(definition: MapDefinition) -> None:
            check_layers(definition, layers.layer)
            check_fields(definition, layers.layer, style_property,
                         lambda info, name: unnamed_count(layers, info, name))
            styles.check_publish(definition)

        maps = MapRegistry(settings.layers_dir / "maps", storage=MapRepository(database),
                           check=check)
        return Services(
            settings=settings, database=database, layers=layers, maps=maps,
            comments=CommentService(CommentRepository(database), maps=maps, store=layers,
                                    photo_max_bytes=settings.photo_max_bytes),
            tokens=TokenRepository(database),
            search=SearchService(layers, _search_indexes(database, settings)),
            tile_cache=_tile_cache(cache_root / "tiles", settings),
            basemaps=basemaps, styles=styles,
            plans=PlanService(layers, PlanRepository(database), styles=styles),
            limits=RateLimits(settings),
            map_images=MapImageService(layers, basemaps, styles))
    except BaseException:
        database.close()
        raise


@contextmanager
def open_services(settings: Settings) -> Iterator[Services]:
    """The services for these settings, closed when the block ends."""
    services = build_services(settings)
    try:
        yield services
    finally:
        services.close()


def services_of(app: Flask) -> Services:
    """The services an app was made with."""
    found: Services = app.extensions[EXTENSION]
    return found


def current() -> Services:
    """The services of the app handling this request."""
    from flask import current_app

    return services_of(current_app)
