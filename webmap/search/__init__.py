"""Place search (SPEC §6): a map's addresses and place names found by accent-free prefix.

Each search source gets an index per layer version: one row per result (label, point, bbox,
sort fields) and one key per word start of its name, all keys made by ``search_key`` in
Python, so the database compares plain strings and never normalises by itself. Embedded,
an index is an immutable SQLite file under ``data_dir/search``; on PostGIS, two tables listed
in ``webmap_search_indexes``, shared by every host. Both are built aside and published in one
step (``os.replace`` / a transaction) under a lock, so a half-built index is never read.

Modules: ``keys`` (normalisation), ``build`` (a layer read into entries and keys), ``index``
(the storage contract and its query), ``sqlite`` and ``postgres`` (the two storages),
``service`` (lookup and ranking).
"""

from .index import Indexes
from .keys import house_number_order, normalise, parse_hstore, search_key
from .postgres import PostgresIndexes
from .service import SearchHit, SearchService, rank_hits
from .sqlite import SqliteIndexes

__all__ = ["Indexes", "PostgresIndexes", "SearchHit", "SearchService", "SqliteIndexes",
           "house_number_order", "normalise", "parse_hstore", "rank_hits",
           "search_key"]
