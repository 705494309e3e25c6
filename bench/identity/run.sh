#!/usr/bin/env bash
# The identity bench (bench/identity/results.md): Keycloak's start, the token endpoint's latency
# through the edge against the floor, the edge's added latency against the UI reached directly.
#   bash bench/identity/run.sh        (BENCH_N=300 requests per series)
# Brings the lab up and builds the platform's images if needed; its stack `idb` is destroyed at
# the end. Needs the lab otherwise idle (~10 min).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"
bash scripts/setup.sh
bash lab/lab.sh up
. scripts/lab-env.sh
bash images/build.sh --lab
npx ts-node -P tsconfig.json bench/identity/bench.ts
