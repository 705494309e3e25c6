#!/usr/bin/env bash
# bench/cluster/run.sh: bootstrap the lab's swarm with `pulumi up` of swarm-etl and with an Ansible
# playbook (community.docker), alternately, and write bench/cluster/results.md (issue 4, "Speed,
# against the peer").
#
#   bash bench/cluster/run.sh [--runs N] [--workers "2 6"] [--source worktree|HEAD] [--no-labels]
#
#   --runs N        timed runs of each tool per size (default 3)
#   --workers LIST  worker counts, 3 managers each (default "2"); "W:N" runs size W N times,
#                   e.g. --workers "2:3 6:2"
#   --source        which program `pulumi up` runs: a copy of the working tree taken at start
#                   (default; the copy shields the runs from edits made meanwhile) or of HEAD
#   --no-labels     no node labels in either tool
#   --out FILE      the report (default bench/cluster/results.md)
#
# Per size: lab/lab.sh up --managers 3 --workers W (down first if the lab has another size); then N
# times: reset (every node `swarm leave --force`), time ansible-playbook, verify, reset, time
# `pulumi up --yes --skip-preview` on the stack `bench` (the lab's config, demo off, same labels),
# verify, reset, `pulumi stack rm --force`. At the end (also on failure) the lab is back to its
# default size (3 managers, 2 workers), with no swarm and no `bench` stack.
# The whole run holds /run/swarm-etl-lab.lock (fd 8; every child runs with it closed).
# Needs: root, the engine (bash scripts/setup.sh). Runs bench/cluster/setup.sh itself.
# Other sessions share the machine's 2 cores: before each timed command the bench waits (up to 60 s)
# for 2 quiet seconds (machine CPU busy < 25%), and records the load around each run in the report.
# PULUMI_NODEJS_TRANSPILE_ONLY (engine/env.sh: true unless set) reaches `pulumi up`; the report says which.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
RUNS=3 SIZES="2" SOURCE=worktree LABELS=1 MANAGERS=3 OUT="$HERE/results.md"
ARGS=""
for a in "$@"; do [[ $a == *" "* ]] && ARGS+=" \"$a\"" || ARGS+=" $a"; done
die() { echo "bench/cluster: $*" >&2; exit 1; }
while (($#)); do
  case $1 in
    --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
    --workers) SIZES=${2:?--workers needs a list}; shift 2 ;;
    --source) SOURCE=${2:?--source needs worktree or HEAD}; shift 2 ;;
    --no-labels) LABELS=0; shift ;;
    --out) OUT=$(realpath -m "${2:?--out needs a file}"); shift 2 ;;
    -h | --help) sed -n "2,/^set -euo/{/^set/d;s/^# \\{0,1\\}//p}" "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs $RUNS: want a positive number"
[[ $SOURCE == worktree || $SOURCE == HEAD ]] || die "--source $SOURCE: want worktree or HEAD"
for s in $SIZES; do [[ $s =~ ^[0-9]+(:[1-9][0-9]*)?$ ]] || die "--workers: '$s' is not W or W:N"; done
[[ $EUID -eq 0 ]] || die "needs root (the lab does)"

VENV=$(bash "$HERE/setup.sh")
# shellcheck source=../../scripts/lab-env.sh
. "$REPO/scripts/lab-env.sh"
command -v pulumi >/dev/null || die "no pulumi CLI on PATH; fix: bash scripts/setup.sh"
LAB_DIR=$SWARM_ETL_LAB_DIR
LAB="$REPO/lab/lab.sh"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOGS="$HERE/.logs/$STAMP"
WORK=$(mktemp -d /tmp/swarm-etl-bench-cluster.XXXXXX)
PROGRAM="$WORK/program"
mkdir -p "$LOGS" "$PROGRAM"
TSV="$LOGS/runs.tsv"
: >"$TSV"
log() { printf '%s %s\n' "$(date +%T)" "$*" | tee -a "$LOGS/bench.log" >&2; }

# --- the program under test: a copy, so edits in the working tree during the bench change nothing
if [[ $SOURCE == HEAD ]]; then
  git -C "$REPO" archive HEAD | tar -x -C "$PROGRAM"
  PROGRAM_ID="$(git -C "$REPO" rev-parse --short HEAD) (HEAD)"
else
  (cd "$REPO" && git ls-files -co --exclude-standard -z | grep -zv '^bench/' | tar --null -T - -c) | tar -x -C "$PROGRAM"
  dirty=$(cd "$REPO" && git status --porcelain -- . ':!bench' | awk '{print $2}' | tr '\n' ' ')
  PROGRAM_ID="$(git -C "$REPO" rev-parse --short HEAD)${dirty:+ + uncommitted changes in: ${dirty% }}"
fi
rm -f "$PROGRAM"/Pulumi.*.yaml.tmp* "$PROGRAM/Pulumi.bench.yaml"
ln -s "$REPO/node_modules" "$PROGRAM/node_modules"

# --- Ansible, isolated from any user config; fresh SSH control sockets per run (no warm connections)
export ANSIBLE_CONFIG="$HERE/ansible.cfg"
ANSIBLE_COLLECTIONS_PATH=$("$VENV/bin/python" -c 'import ansible_collections, os; print(os.path.dirname(ansible_collections.__path__[0]))')
export ANSIBLE_COLLECTIONS_PATH ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP="$WORK/ansible-tmp"

lab() { bash "$LAB" "$@" 8>&-; }
lab_size() { # "MANAGERS/WORKERS" of the running lab, or none
  (
    [[ -f $LAB_DIR/state/size && -f $LAB_DIR/state/complete ]] || { echo none; exit; }
    # shellcheck disable=SC1091
    . "$LAB_DIR/state/size"
    echo "$LAB_MANAGERS/$LAB_WORKERS"
  )
}
nodes() { local i; for ((i = 1; i <= MANAGERS; i++)); do echo "mgr$i"; done; for ((i = 1; i <= W; i++)); do echo "wkr$i"; done; }
in_program() { (cd "$PROGRAM" && "$@" 8>&-); }
stack_exists() { in_program pulumi stack ls --json 2>/dev/null | jq -e 'any(.[]; .name == "bench")' >/dev/null; }

lab_up() { # lab_up MANAGERS WORKERS: the lab at that size (down first if it has another)
  local size
  size=$(lab_size)
  if [[ $size != none && $size != "$1/$2" ]]; then
    log "lab has size $size: lab down"
    lab down >>"$LOGS/lab.log" 2>&1
  fi
  log "lab up --managers $1 --workers $2"
  lab up --managers "$1" --workers "$2" >>"$LOGS/lab.log" 2>&1 || die "lab up failed; see $LOGS/lab.log"
  # A rebuilding `up` runs `down`, which removes the lab's state backend after `up` made it.
  [[ $PULUMI_BACKEND_URL != file://* ]] || mkdir -p "${PULUMI_BACKEND_URL#file://}"
}

reset_swarm() { # every node leaves any swarm (reset.sh); dies unless all are inactive afterwards
  local -a hosts
  mapfile -t hosts < <(nodes)
  bash "$HERE/reset.sh" "${hosts[@]}" 8>&- 2>>"$LOGS/lab.log" || die "reset: nodes still in a swarm; see $LOGS/lab.log"
}

close_ssh_masters() { # the ControlPersist masters Ansible left behind (untimed)
  local s
  for s in "$1"/*; do
    if [[ -S $s ]]; then ssh -o ControlPath="$s" -O exit placeholder >/dev/null 2>&1 8>&- || true; fi
  done
}

cpu_busy() { # jiffies the whole machine spent busy so far
  awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat
}
wait_quiet() { # waits for 2 s with the machine's CPU under 25% busy (at most 60 s); sets QUIET_WAIT
  local t0=$SECONDS a b hz ncpu
  hz=$(getconf CLK_TCK) ncpu=$(nproc)
  while :; do
    a=$(cpu_busy); sleep 2; b=$(cpu_busy)
    (((b - a) * 100 < 25 * 2 * hz * ncpu)) && break
    ((SECONDS - t0 < 60)) || { log "  machine still busy after 60 s (other sessions); timing anyway"; break; }
  done
  QUIET_WAIT=$((SECONDS - t0))
}

timed() { # timed LOG CMD...: runs CMD (fd 8 closed, output to LOG), sets WALL CPU_USER CPU_SYS, returns CMD's status
  local logf=$1 rc=0 b0 b1
  shift
  wait_quiet
  LOAD1=$(cut -d' ' -f1 /proc/loadavg)
  b0=$(cpu_busy)
  # Output lines get their time since the start (for the report's breakdown of where the time goes).
  { /usr/bin/time -f '%e %U %S' -o "$logf.time" "$@" 2>&1 8>&- || echo $? >"$logf.rc"; } |
    "$VENV/bin/python" -u -c 'import sys, time
t0 = time.monotonic()
for line in sys.stdin:
    sys.stdout.write(f"{time.monotonic() - t0:7.2f} {line}")' >"$logf"
  [[ ! -f $logf.rc ]] || rc=$(cat "$logf.rc")
  b1=$(cpu_busy)
  read -r WALL CPU_USER CPU_SYS < <(tail -n1 "$logf.time")
  MACHINE_CPU=$(awk -v d=$((b1 - b0)) -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", d / hz}')
  return "$rc"
}

verify() { # verify TOOL RUN: appends the row; dies if the swarm is not what was asked
  local out ok
  out=$("$VENV/bin/python" "$HERE/verify.py" "$SIZE_DIR/expected.json" "$LAB" 60 8>&-) || true
  echo "$out" >>"$LOGS/verify.log"
  ok=$(jq -r .ok <<<"$out")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$W" "$2" "$1" "$WALL" "$CPU_USER" "$CPU_SYS" "$ok" \
    "$(jq -r .readyWait <<<"$out")" "$QUIET_WAIT" "$LOAD1" "$MACHINE_CPU" >>"$TSV"
  log "  $1 run $2: ${WALL} s (cpu ${CPU_USER}+${CPU_SYS} s; machine ${MACHINE_CPU} s; load ${LOAD1}; waited ${QUIET_WAIT} s for quiet), verified: $ok"
  [[ $ok == true ]] || die "$1 run $2 with $W workers: the swarm is not as asked: $(jq -c .problems <<<"$out")$( ((LABELS)) && echo "; if only labels are missing, the program does not apply node labels yet: rerun with --no-labels")"
}

cleanup() {
  local rc=$?
  set +e
  trap - EXIT
  if [[ -n ${LOCKED:-} ]]; then
    if stack_exists; then
      [[ -n ${W:-} ]] && reset_swarm 2>/dev/null
      in_program pulumi stack rm --force --yes bench >>"$LOGS/pulumi-stack.log" 2>&1
    fi
    if [[ $(lab_size) != 3/2 ]]; then
      log "restoring the default lab size (3 managers, 2 workers)"
      lab down >>"$LOGS/lab.log" 2>&1
      lab up >>"$LOGS/lab.log" 2>&1 || log "WARNING: lab up (default size) failed; see $LOGS/lab.log"
    fi
  fi
  rm -rf "$WORK"
  ((rc == 0)) || log "failed (exit $rc); logs in $LOGS"
  exit $rc
}
trap cleanup EXIT

log "waiting for the lab lock /run/swarm-etl-lab.lock"
exec 8>/run/swarm-etl-lab.lock
flock 8
LOCKED=1
log "lab locked; program: $PROGRAM_ID; logs: $LOGS"

# A `bench` stack left behind by an interrupted run goes first (its swarm is reset below).
if stack_exists; then in_program pulumi stack rm --force --yes bench >>"$LOGS/pulumi-stack.log" 2>&1; fi

for spec in $SIZES; do
  W=${spec%%:*}
  N=$RUNS
  [[ $spec == *:* ]] && N=${spec#*:}
  lab_up "$MANAGERS" "$W"
  SIZE_DIR="$WORK/w$W"
  mkdir -p "$SIZE_DIR"
  gen_flags=()
  ((LABELS)) || gen_flags=(--no-labels)
  "$VENV/bin/python" "$HERE/gen.py" "$LAB_DIR/lab.json" "$REPO/Pulumi.lab.yaml" "$SIZE_DIR" "$VENV/bin/python" "${gen_flags[@]}"
  forks=$((MANAGERS + W)); ((forks >= 5)) || forks=5
  export ANSIBLE_FORKS=$forks
  for ((run = 1; run <= N; run++)); do
    log "$MANAGERS managers + $W workers, run $run/$N"
    reset_swarm
    cp_dir="$WORK/ssh-cp-$W-$run"
    mkdir -p "$cp_dir"
    LOGFILE="$LOGS/ansible-w$W-r$run.log"
    if ! ANSIBLE_SSH_CONTROL_PATH_DIR="$cp_dir" timed "$LOGFILE" \
      "$VENV/bin/ansible-playbook" -i "$SIZE_DIR/inventory.yml" "$HERE/swarm.yml"; then
      # Docker's own join timeout (20 s, "continue in the background") is not Ansible's fault:
      # the run is repeated once from a reset swarm, and the report counts it.
      grep -q "continue in the background" "$LOGFILE" || { tail -n 30 "$LOGFILE" >&2; die "ansible-playbook failed (run $run, $W workers); see $LOGFILE"; }
      log "  ansible run $run: a join hit Docker's 20 s join timeout; run repeated (see $LOGFILE.first)"
      echo "ansible $W $run" >>"$LOGS/repeated.txt"
      mv "$LOGFILE" "$LOGFILE.first"
      close_ssh_masters "$cp_dir"
      reset_swarm
      ANSIBLE_SSH_CONTROL_PATH_DIR="$cp_dir" timed "$LOGFILE" \
        "$VENV/bin/ansible-playbook" -i "$SIZE_DIR/inventory.yml" "$HERE/swarm.yml" ||
        { tail -n 30 "$LOGFILE" >&2; die "ansible-playbook failed twice (run $run, $W workers); see $LOGFILE"; }
    fi
    close_ssh_masters "$cp_dir"
    verify ansible "$run"

    reset_swarm
    in_program pulumi stack init bench >>"$LOGS/pulumi-stack.log" 2>&1 || die "pulumi stack init bench failed; see $LOGS/pulumi-stack.log"
    { cat "$SIZE_DIR/stack.yaml"; grep '^encryptionsalt:' "$PROGRAM/Pulumi.bench.yaml"; } >"$SIZE_DIR/Pulumi.bench.yaml"
    mv "$SIZE_DIR/Pulumi.bench.yaml" "$PROGRAM/Pulumi.bench.yaml"
    LOGFILE="$LOGS/pulumi-w$W-r$run.log"
    cd "$PROGRAM"
    timed "$LOGFILE" pulumi up --yes --skip-preview --stack bench ||
      { tail -n 30 "$LOGFILE" >&2; die "pulumi up failed (run $run, $W workers); see $LOGFILE"; }
    cd "$REPO"
    verify pulumi "$run"
    if ((run == 1)); then # what the program declared, for the report
      in_program pulumi stack export --stack bench |
        jq -r '[.deployment.resources[].type | select(startswith("pulumi:") | not)] | group_by(.) | map("`\(.[0])` × \(length)") | join(", ")' \
          >"$LOGS/resources-w$W.txt"
    fi
    reset_swarm
    in_program pulumi stack rm --force --yes bench >>"$LOGS/pulumi-stack.log" 2>&1 || die "pulumi stack rm bench failed"
  done
done

# --- versions, then the report
pkgver() { "$VENV/bin/python" -c "from importlib.metadata import version; print(version('$1'))"; }
jq -n \
  --arg date "$(date -u +%Y-%m-%d)" \
  --arg command "bash bench/cluster/run.sh$ARGS" \
  --argjson managers "$MANAGERS" \
  --argjson labels "$LABELS" \
  --arg machine "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r), Debian $(cat /etc/debian_version)" \
  --arg program "$PROGRAM_ID" \
  --arg pulumi "pulumi CLI $(pulumi version) (built by engine/build.sh), @pulumi/pulumi $(node -p "require('$REPO/node_modules/@pulumi/pulumi/package.json').version"), Node $(node --version), TypeScript $(node -p "require('$REPO/node_modules/typescript/package.json').version"), ts-node $(node -p "require('$REPO/node_modules/ts-node/package.json').version")" \
  --arg ansible "ansible $(pkgver ansible) (ansible-core $(pkgver ansible-core)), community.docker $("$VENV/bin/ansible-galaxy" collection list community.docker 2>/dev/null | awk '$1=="community.docker"{print $2}'), Docker SDK for Python $(pkgver docker), Python $("$VENV/bin/python" -c 'import platform; print(platform.python_version())')" \
  --arg engine "Docker Engine $(lab docker mgr1 version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null), one dockerd per node" \
  --arg ssh "$(ssh -V 2>&1)" \
  --arg transpile "${PULUMI_NODEJS_TRANSPILE_ONLY:-}" --arg logs "$LOGS" \
  --argjson resources "$(for f in "$LOGS"/resources-w*.txt; do w=${f##*-w}; jq -n --arg w "${w%.txt}" --arg r "$(cat "$f")" '{($w): $r}'; done | jq -s 'add // {}')" \
  '{date: $date, resources: $resources, transpileOnly: $transpile, logs: $logs, command: $command, managers: $managers, labels: ($labels == 1),
    versions: {"machine": $machine, "program (swarm-etl)": $program, "Pulumi side": $pulumi, "Ansible side": $ansible,
               "nodes": $engine, "OpenSSH (Ansible transport)": $ssh}}' >"$LOGS/meta.json"
"$VENV/bin/python" "$HERE/report.py" "$TSV" "$LOGS/meta.json" "$OUT"
log "wrote $OUT"
