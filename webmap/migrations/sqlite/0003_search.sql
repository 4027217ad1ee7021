-- Nothing to create: embedded place-search indexes are immutable SQLite files under
-- DATA_DIR/search, one per layer version (search/sqlite.py). PostgreSQL lists its index
-- tables in webmap_search_indexes. The number is kept so both dialects count alike.
SELECT 1;
