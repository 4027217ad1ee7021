"""Maps (SPEC §6): ``model`` (dataclasses), ``schema`` (documents parsed, errors naming the
field), ``storage`` (published maps in the database), ``registry`` (file and published maps
served together)."""

from .model import (
    GEOMETRY_KINDS,
    BaseMap,
    Consultation,
    Localized,
    MapDefinition,
    MapLayer,
    MapNotFound,
    SearchSource,
    text,
)
from .registry import MapCheck, MapRegistry
from .schema import MAP_ID, MapDefinitionError, load_map, parse_map
from .storage import MapRepository, MapStorage, StoredMap

__all__ = ["GEOMETRY_KINDS", "MAP_ID", "BaseMap", "Consultation", "Localized", "MapCheck",
           "MapDefinition", "MapDefinitionError", "MapLayer", "MapNotFound", "MapRegistry",
           "MapRepository", "MapStorage", "SearchSource", "StoredMap", "load_map", "parse_map",
           "text"]
