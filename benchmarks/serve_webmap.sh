#!/usr/bin/env bash
# Start / stop webmap for benchmarks/run_bench.py, beside the peers of
# shared/bench/serve.sh, on the same generated data (shared/bench/gen_data.py).
#
#   serve_webmap.sh start   # import oulu.gpkg (buildings, addresses) and
#                           # ortho.tif into a fresh data dir, then
#                           # gunicorn with docker/gunicorn.conf.py, 2 workers,
#                           # on 127.0.0.1:8090
#   serve_webmap.sh start --backend postgis
#                           # the same on PostGIS: a fresh database
#                           # $WEBMAP_BENCH_PG_URL (default webmap_bench in the
#                           # bench cluster, role bench) gets the layers; the
#                           # COG and the tile cache stay in the data dir
#   serve_webmap.sh stop    # kill exactly the PID that start wrote
#
# The backend can also come from WEBMAP_BENCH_BACKEND=geopackage|postgis; it is
# written to $PIDS/backend and into import.json for run_bench.py. gunicorn
# runs with the shipped docker/gunicorn.conf.py, so the threads per worker are
# its default (4 on PostGIS, 1 on files); THREADS=n sets them (WEBMAP_THREADS).
#
# The buildings import is timed; the time goes to $PIDS/import.json, which
# run_bench.py copies into its results. PIDs live in their own folder
# ($BENCH/webmap-pids), so shared/bench/serve.sh stop leaves webmap alone.
set -euo pipefail
BENCH=${BENCH:-/tmp/bench}
DATA=${DATA:-$BENCH/data}
WEBMAP_VENV=${WEBMAP_VENV:-/work/main/.venv}
DATA_DIR=${WEBMAP_BENCH_DATA_DIR:-$BENCH/webmap-data}
PIDS=${WEBMAP_PIDS:-$BENCH/webmap-pids}
BIND=${WEBMAP_BIND:-127.0.0.1:8090}
WORKERS=${WORKERS:-2}
THREADS=${THREADS:-}
REPO=$(cd "$(dirname "$0")/.." && pwd)
GUNICORN_CONFIG=$REPO/docker/gunicorn.conf.py
BACKEND=${WEBMAP_BENCH_BACKEND:-geopackage}
PG_ADMIN_URL=${WEBMAP_BENCH_PG_ADMIN_URL:-postgresql://bench:bench@127.0.0.1:5432/bench}
PG_URL=${WEBMAP_BENCH_PG_URL:-postgresql://bench:bench@127.0.0.1:5432/webmap_bench}
LOGS=$BENCH/logs
mkdir -p "$PIDS" "$LOGS"

now() { date +%s.%N; }

start() {
  if [ -e "$PIDS/webmap.pid" ] && kill -0 "$(cat "$PIDS/webmap.pid")" 2>/dev/null; then
    echo "webmap already running (pid $(cat "$PIDS/webmap.pid")); run '$0 stop' first" >&2
    exit 1
  fi
  # A fresh data dir: no layers, no tile cache left from an earlier run.
  rm -rf "$DATA_DIR"
  mkdir -p "$DATA_DIR"
  export WEBMAP_DATA_DIR=$DATA_DIR
  unset WEBMAP_DATABASE_URL
  if [ "$BACKEND" = postgis ]; then
    # A fresh database: no layers, tables or comments from an earlier run.
    local db=${PG_URL##*/}; db=${db%%\?*}
    psql "$PG_ADMIN_URL" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
      -c "CREATE DATABASE $db" > "$LOGS/webmap-pg-create.log" 2>&1 \
      || { echo "could not create database $db:" >&2; cat "$LOGS/webmap-pg-create.log" >&2; exit 1; }
    psql "$PG_URL" -q -c "CREATE EXTENSION IF NOT EXISTS postgis" \
      -c "CREATE EXTENSION IF NOT EXISTS unaccent" >> "$LOGS/webmap-pg-create.log" 2>&1
    export WEBMAP_DATABASE_URL=$PG_URL
  elif [ "$BACKEND" != geopackage ]; then
    echo "unknown backend $BACKEND (geopackage or postgis)" >&2; exit 2
  fi
  export WEBMAP_LOG_LEVEL=${WEBMAP_LOG_LEVEL:-WARNING}
  local webmap="$WEBMAP_VENV/bin/webmap" t0 t1 t2 t3
  t0=$(now)
  "$webmap" layers import "$DATA/oulu.gpkg" --id buildings --layer buildings \
      > "$LOGS/webmap-import-buildings.log" 2>&1 \
    || { echo "import of buildings failed:" >&2; cat "$LOGS/webmap-import-buildings.log" >&2; exit 1; }
  t1=$(now)
  "$webmap" layers import "$DATA/oulu.gpkg" --id addresses --layer addresses \
      > "$LOGS/webmap-import-addresses.log" 2>&1 \
    || { echo "import of addresses failed:" >&2; cat "$LOGS/webmap-import-addresses.log" >&2; exit 1; }
  t2=$(now)
  "$webmap" layers import "$DATA/ortho.tif" --id ortho \
      > "$LOGS/webmap-import-ortho.log" 2>&1 \
    || { echo "import of ortho failed:" >&2; cat "$LOGS/webmap-import-ortho.log" >&2; exit 1; }
  t3=$(now)
  export WEBMAP_WORKERS=$WORKERS
  [ -n "$THREADS" ] && export WEBMAP_THREADS=$THREADS
  local threads
  threads=$("$WEBMAP_VENV/bin/python" -c \
    "import runpy, sys; print(runpy.run_path(sys.argv[1])['threads'])" "$GUNICORN_CONFIG")
  python3 - "$t0" "$t1" "$t2" "$t3" "$BACKEND" "$threads" > "$PIDS/import.json" <<'EOF'
import json, sys
t0, t1, t2, t3 = map(float, sys.argv[1:5])
print(json.dumps({"backend": sys.argv[5], "threads": int(sys.argv[6]),
                  "buildings_s": round(t1 - t0, 2),
                  "addresses_s": round(t2 - t1, 2), "ortho_s": round(t3 - t2, 2)}))
EOF
  echo "$BACKEND" > "$PIDS/backend"
  echo "imported: $(cat "$PIDS/import.json")"

  # Started from $BENCH so that nothing is read from the working tree's layers/.
  (cd "$BENCH" && exec "$WEBMAP_VENV/bin/gunicorn" --config "$GUNICORN_CONFIG" -b "$BIND" \
      'webmap.app:create_app()') > "$LOGS/webmap.log" 2>&1 &
  echo $! > "$PIDS/webmap.pid"

  local url="http://$BIND/collections/buildings"
  for _ in $(seq 60); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && break
    kill -0 "$(cat "$PIDS/webmap.pid")" 2>/dev/null || break
    sleep 1
  done
  if curl -fsS -o /dev/null "$url"; then
    echo "up: $url (pid $(cat "$PIDS/webmap.pid"))"
  else
    echo "webmap did not answer $url; log:" >&2
    tail -n 40 "$LOGS/webmap.log" >&2
    exit 1
  fi
}

stop() {
  local f="$PIDS/webmap.pid" pid
  [ -e "$f" ] || { echo "webmap: no pid file"; return 0; }
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    echo "stopped webmap ($pid)"
  fi
  rm -f "$f" "$PIDS/backend"
}

command=${1:-}
shift || true
while [ $# -gt 0 ]; do
  case "$1" in
    --backend) BACKEND=${2:?--backend needs geopackage or postgis}; shift 2 ;;
    --backend=*) BACKEND=${1#--backend=}; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

case "$command" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start [--backend geopackage|postgis] | stop" >&2; exit 2 ;;
esac
