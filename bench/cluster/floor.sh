#!/usr/bin/env bash
# bench/cluster/floor.sh: the lower bound of a Pulumi bootstrap of the lab's swarm, in two parts
# that no Pulumi program can go below (issue 4's target: half of Ansible's time):
#   engine  `pulumi up` of a program with one dynamic resource whose create returns at once: the
#           CLI, the Node.js language host, the program's Node process and the dynamic provider's
#           Node process start, register and exit; nothing touches the network.
#   docker  the swarm operations alone, through the Engine API on each node's own socket (no SSH,
#           no bastion, no process per call; floor_docker.py): init on mgr1, the workers join in
#           parallel, mgr2 then mgr3 join one at a time, labels on every node — what the program
#           and the playbook both do.
# Usage: bash bench/cluster/floor.sh [RUNS] (default 5). Needs the default lab (3 managers,
# 2 workers) and takes its lock; leaves every node out of any swarm. Writes bench/cluster/floor.md.
set -euo pipefail
RUNS=${1:-5}
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
die() { echo "bench/cluster/floor: $*" >&2; exit 1; }
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS '$RUNS': want a positive number"
# shellcheck source=../../scripts/lab-env.sh
. "$REPO/scripts/lab-env.sh"
command -v pulumi >/dev/null || die "no pulumi CLI on PATH; fix: bash scripts/setup.sh"
VENV=$(bash "$HERE/setup.sh") # Python with the Docker SDK (the Ansible bench's venv)
LAB_JSON="$SWARM_ETL_LAB_DIR/lab.json"
[[ -f $LAB_JSON ]] || die "no lab; fix: bash lab/lab.sh up"

exec 8>/run/swarm-etl-lab.lock
flock 8

WORK=$(mktemp -d /tmp/swarm-etl-floor.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mapfile -t HOSTS < <(jq -r '(.managers + .workers)[].name' "$LAB_JSON")
[[ ${#HOSTS[@]} -eq 5 && $(jq '.managers | length' "$LAB_JSON") -eq 3 ]] || die "needs the default lab (3 managers, 2 workers): bash lab/lab.sh up"
reset() { bash "$HERE/reset.sh" "${HOSTS[@]}" 8>&-; }
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR] = $1} END {printf "%.2f", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# --- engine: a one-resource program, its own state backend
mkdir -p "$WORK/engine/state"
cat >"$WORK/engine/Pulumi.yaml" <<'EOF'
name: floor
runtime:
  name: nodejs
  options:
    typescript: true
main: index.ts
EOF
cat >"$WORK/engine/index.ts" <<'EOF'
import * as pulumi from "@pulumi/pulumi";
const provider: pulumi.dynamic.ResourceProvider = { async create() { return { id: "noop", outs: {} }; } };
export const id = new pulumi.dynamic.Resource(provider, "noop", {}, {}).id;
EOF
cp "$REPO/tsconfig.json" "$WORK/engine/"
ln -s "$REPO/node_modules" "$WORK/engine/node_modules"
engine_run() {
  (
    cd "$WORK/engine"
    export PULUMI_BACKEND_URL="file://$WORK/engine/state" PULUMI_CONFIG_PASSPHRASE=floor
    pulumi stack rm --force --yes floor >/dev/null 2>&1 || true
    pulumi stack init floor >/dev/null 2>&1
    local t0 t1
    t0=$(now)
    pulumi up --yes --skip-preview --stack floor >"$WORK/engine.log" 2>&1 8>&- || { cat "$WORK/engine.log" >&2; exit 1; }
    t1=$(now)
    echo "$t1 - $t0" | bc
  )
}

docker_run() {
  reset
  "$VENV/bin/python" "$HERE/floor_docker.py" "$LAB_JSON" 8>&-
}

engine_run >/dev/null # warm: the first run fills the Node compile cache, as any second run finds it
: >"$WORK/engine.times"
: >"$WORK/docker.times"
for ((i = 1; i <= RUNS; i++)); do
  engine_run >>"$WORK/engine.times"
  docker_run >>"$WORK/docker.times"
done
reset
e=$(median <"$WORK/engine.times") k=$(median <"$WORK/docker.times")
fmt() { tr '\n' ' ' <"$1" | xargs printf '%.2f ' | sed 's/ $//'; }
{
  echo "# The floor of a Pulumi bootstrap of the lab's swarm"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on the lab (3 managers, 2 workers; $(nproc) cores) by \`bash bench/cluster/floor.sh $RUNS\`."
  echo "What no Pulumi program can go below when it bootstraps this swarm: the engine's own start and exit, plus the"
  echo "Docker operations themselves with no tool around them (see the script's header). Compare with the medians of"
  echo "[results.md](results.md)."
  echo
  echo "| part | runs | median | all runs |"
  echo "| --- | --- | --- | --- |"
  echo "| engine: \`pulumi up\` of a one-resource no-op program (CLI, language host, program, dynamic provider) | $RUNS | $e s | $(fmt "$WORK/engine.times") |"
  echo "| docker: init, 2 workers in parallel, 2 managers one at a time, labels; Engine API on the nodes' own sockets | $RUNS | $k s | $(fmt "$WORK/docker.times") |"
  echo "| floor (sum of the medians) | | $(echo "$e + $k" | bc) s | |"
} | tee "$HERE/floor.md"
