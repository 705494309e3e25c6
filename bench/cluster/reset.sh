#!/usr/bin/env bash
# bench/cluster/reset.sh HOST...: every given lab host leaves any swarm (in parallel). A join that
# Docker left "pending" (after its own 20 s join timeout) survives `leave --force`: that host's
# dockerd is restarted and it leaves again. Exits 1, naming them, if hosts are still in a swarm.
# Used by run.sh and floor.sh between timed runs (the caller holds the lab lock).
set -euo pipefail
LAB="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/lab/lab.sh"
lab() { bash "$LAB" "$@"; }
state() { lab docker "$1" info --format '{{.Swarm.LocalNodeState}}' 2>&1; }
for h in "$@"; do lab docker "$h" swarm leave --force >/dev/null 2>&1 & done
wait
bad=""
for h in "$@"; do
  s=$(state "$h")
  if [[ $s != inactive ]]; then
    echo "reset: $h is $s after leaving; restarting its dockerd" >&2
    lab dockerd "$h" stop >&2 && lab dockerd "$h" start >&2
    lab docker "$h" swarm leave --force >/dev/null 2>&1 || true
    s=$(state "$h")
  fi
  [[ $s == inactive ]] || bad+=" $h:$s"
done
[[ -z $bad ]] || { echo "reset: nodes still in a swarm:$bad" >&2; exit 1; }
