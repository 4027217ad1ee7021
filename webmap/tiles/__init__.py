"""Tiles: grids, one tile request, the generalisation policy, the MVT encoder and the cache.

Modules: ``grids`` (tile matrix sets), ``request`` (a checked tile and its bounds),
``policy`` (the numbers every renderer follows), ``encode`` and ``mvtencode`` (vector tiles
from shapely arrays), ``cache`` (rendered tiles kept per layer version).
"""
