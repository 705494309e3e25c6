#!/usr/bin/env bash
# The ETL bench (bench/etl/results.md): the Spark job against \copy + SQL, at 1x and 10x the data.
#   bench/etl/run.sh [--scales 1,10] [--runs 3] [--master local[2]]
# Sets up what it needs (etl/setup.sh), starts its own PostgreSQL 15 in a temp dir, stops it after.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$HERE/../../etl/setup.sh"
# shellcheck source=../../etl/env.sh
. "$HERE/../../etl/env.sh"
exec "$ETL_PY" "$HERE/bench.py" "$@"
