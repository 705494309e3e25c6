#!/usr/bin/env bash
# Runs the whole ETL job once on this machine against the warehouse in WAREHOUSE_URL, setting up
# what it needs first (Debian packages, the venv: etl/setup.sh).
#
#   WAREHOUSE_URL=postgresql://etl@db.example:5432/warehouse \
#   WAREHOUSE_PASSWORD_FILE=~/.secrets/warehouse-password  etl/run.sh
#
# Every setting of the job is an environment variable (etl/README.md); here LANDING_DIR defaults
# to $SWARM_ETL_CACHE/landing. Exit codes: 0 success, 1 error, 2 bad configuration, 3 a
# data-quality check failed.
set -euo pipefail
ETL="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -z "${WAREHOUSE_URL:-}${WAREHOUSE_URL_FILE:-}${WAREHOUSE_HOST:-}${WAREHOUSE_HOST_FILE:-}" ]; then
    echo "etl/run.sh: set WAREHOUSE_URL (e.g. postgresql://etl@db.example:5432/warehouse) and the password in" \
         "WAREHOUSE_PASSWORD_FILE; see etl/README.md" >&2
    exit 2
fi
bash "$ETL/setup.sh" >&2
# shellcheck source=env.sh
. "$ETL/env.sh"
export LANDING_DIR="${LANDING_DIR:-$SWARM_ETL_CACHE/landing}"
cd "$ETL"
exec "$ETL_PY" -m flights_etl
