#!/usr/bin/env bash
# Install PostgreSQL 15 + PostGIS 3, start the cluster, and create the test role, database and
# extensions. Idempotent: safe to run on a machine where some or all of it is already there.
# Tests find the database at WEBMAP_TEST_DATABASE_URL, default
# postgresql://webmap:webmap@127.0.0.1:5432/webmap_test.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
if ! dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1; then
    apt-get install -y -qq postgresql-15 postgresql-15-postgis-3 >/dev/null
fi
if ! pg_lsclusters -h | grep -q '^15 \+main'; then
    pg_createcluster 15 main
fi
pg_ctlcluster 15 main start 2>/dev/null || true   # "already running" is fine
for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
done
pg_isready -h 127.0.0.1 -p 5432

as_postgres() { su postgres -c "$1"; }
as_postgres "psql -v ON_ERROR_STOP=1 -q -c \"DO \\\$\\\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'webmap') THEN
    CREATE ROLE webmap LOGIN SUPERUSER PASSWORD 'webmap';
  END IF; END \\\$\\\$;\""
if ! as_postgres "psql -tAc \"SELECT 1 FROM pg_database WHERE datname = 'webmap_test'\"" | grep -q 1; then
    as_postgres "createdb -O webmap webmap_test"
fi
as_postgres "psql -v ON_ERROR_STOP=1 -q -d webmap_test -c 'SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS unaccent;'"
