#!/usr/bin/env bash
# The ETL bench on the swarm (bench/etl/swarm-results.md): the job on the lab's Spark cluster with
# 2 and 1 workers, against `local[2]` and the SQL baseline (bench.py, in the same run), at 1x and 10x;
# the load phase against raw `\copy` into the same PostgreSQL; peak driver and executor memory.
#   bash bench/etl/swarm.sh [--scales 1,10] [--member-cpus 2] [--runs 3]
# Brings the lab up and builds the platform's images if needed; builds the 10x image on mgr1's
# daemon (FROM the platform's Spark image) and pushes it to the lab registry; needs nothing else
# on the lab (its stack `etlb` is destroyed at the end). ~50 min with 3 runs.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"
scales=1,10
member_cpus=2
runs=3
while [ $# -gt 0 ]; do
    case "$1" in
        --scales) scales="${2:?--scales needs a value, e.g. 1,10}"; shift 2 ;;
        --member-cpus) member_cpus="${2:?--member-cpus needs a number, e.g. 2}"; shift 2 ;;
        --runs) runs="${2:?--runs needs a number, e.g. 3}"; shift 2 ;;
        *) echo "bench/etl/swarm.sh: unknown argument $1; use --scales 1,10, --member-cpus 2, --runs 3" >&2; exit 2 ;;
    esac
done
bash scripts/setup.sh
bash lab/lab.sh up
. scripts/lab-env.sh
bash images/build.sh --lab
bash etl/setup.sh
# shellcheck source=../../etl/env.sh
. etl/env.sh

lab_dir="${SWARM_ETL_LAB_DIR:-/var/lib/swarm-etl-lab}"
registry="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["registry"])' "$lab_dir/lab.json")"
mgr1="unix://$lab_dir/hosts/mgr1/run/docker.sock"
spark="$(python3 -c 'import re,sys; print(re.search(r"^\s+spark: (\S+)", open(sys.argv[1]).read(), re.M).group(1))' Pulumi.lab.yaml)"
tag="$(cat bench/etl/Dockerfile.10x bench/etl/generate.py <(echo "$spark") | sha256sum | cut -c1-12)"
image10="$registry/swarm-etl/spark-bench-10x:$tag"
if ! docker -H "$mgr1" image inspect "$image10" >/dev/null 2>&1; then
    ctx="$(mktemp -d)"
    cp bench/etl/Dockerfile.10x bench/etl/generate.py "$ctx/"
    docker -H "$mgr1" build --network none -q --build-arg SPARK="$spark" -t "$image10" -f "$ctx/Dockerfile.10x" "$ctx"
    rm -rf "$ctx"
fi
docker -H "$mgr1" push -q "$image10" >/dev/null

# The same batches as CSV files for the raw \copy on the swarm (bind-mounted into a client on mgr1).
sources="$SWARM_ETL_CACHE/bench/etl-sources"
for s in ${scales//,/ }; do
    [ -f "$sources/source-${s}x/flights.csv" ] || "$ETL_PY" bench/etl/generate.py "$s" "$sources/source-${s}x"
done

local_json="$(mktemp --suffix .json)"
"$ETL_PY" bench/etl/bench.py --scales "$scales" --runs 1 --master 'local[2]' --driver-memory 2g \
    --out "$(mktemp --suffix .md)" --json "$local_json"
npx ts-node -P tsconfig.json bench/etl/swarm.ts --local-json "$local_json" --image-10x "$image10" --sources "$sources" --scales "$scales" --member-cpus "$member_cpus" --runs "$runs"
