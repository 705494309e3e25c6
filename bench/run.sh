#!/usr/bin/env bash
# Runs one bench against the lab: `bash bench/run.sh <name>` (npm run bench -- <name>).
# Benches: ssh-handshakes, ssh-latency. Each writes its report to bench/results/<name>.md.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
name="${1:?usage: bench/run.sh <name> (ssh-handshakes|ssh-latency)}"
bash scripts/setup.sh
bash lab/lab.sh up
. scripts/lab-env.sh
npx ts-node -P tsconfig.json "bench/$name.ts"
