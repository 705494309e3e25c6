#!/usr/bin/env bash
# bench/cluster/setup.sh: the Ansible side of the cluster bench, idempotent.
# A Python venv in ${SWARM_ETL_CACHE:-~/.cache/swarm-etl}/ansible-venv with the exact
# versions of bench/cluster/requirements.txt (ansible, which ships community.docker, and the
# Docker SDK for Python). The lab's hosts are network namespaces of this machine, so the nodes
# run Ansible's modules with this same venv's interpreter (ansible_python_interpreter).
# A rerun with the same requirements does nothing (~0.1 s). Prints the venv's path last.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${SWARM_ETL_CACHE:-$HOME/.cache/swarm-etl}"
VENV="$CACHE/ansible-venv"
REQ="$HERE/requirements.txt"
STAMP="$VENV/.swarm-etl-bench-requirements.sha256"
PYTHON="${PYTHON:-python3}"

want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [[ -x $VENV/bin/ansible-playbook && -f $STAMP && $(cat "$STAMP") == "$want" ]]; then
  echo "$VENV"
  exit 0
fi

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' ||
  { echo "setup: ansible-core 2.19 needs Python >= 3.11 on the controller; $PYTHON is $("$PYTHON" --version 2>&1); fix: PYTHON=/path/to/python3.11 bash $0" >&2; exit 1; }
mkdir -p "$CACHE"
[[ -x $VENV/bin/python ]] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ" >&2
# Exactly what requirements.txt lists, nothing older left over.
"$VENV/bin/python" - "$REQ" <<'PY' >&2
import sys, re
from importlib.metadata import version
bad = []
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, want = re.split(r"==", line)
    got = version(name)
    if got != want:
        bad.append(f"{name} {got} (want {want})")
if bad:
    sys.exit("setup: wrong versions in the venv: " + ", ".join(bad))
PY
"$VENV/bin/ansible-galaxy" collection list community.docker 2>/dev/null | grep -q '^community.docker ' ||
  { echo "setup: community.docker is missing from the ansible package in $VENV" >&2; exit 1; }
echo "$want" >"$STAMP"
echo "$VENV"
