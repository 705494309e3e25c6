# shellcheck shell=bash
# shellcheck disable=SC2034 # constants used by the other lib files
# Constants and small helpers shared by every lab script (sourced, not run).
#
# The lab is one bastion, N managers and M workers, each a network namespace
# "swetl-<host>" on this machine, wired to two bridges (public, private) that
# live in the namespace "swetl-net". See lab/README.md for the whole picture.

# --- Paths -------------------------------------------------------------------
LAB_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_ROOT=$(dirname "$LAB_LIB")       # .../lab
REPO_ROOT=$(dirname "$LAB_ROOT")     # the Pulumi project (Pulumi.lab.yaml goes here)
LAB_DIR=${SWARM_ETL_LAB_DIR:-/var/lib/swarm-etl-lab}
LAB_DIR=${LAB_DIR%/}
LAB_CACHE=${SWARM_ETL_CACHE:-${HOME:-/root}/.cache/swarm-etl}/lab
LAB_SSH=$LAB_DIR/ssh                 # client key, host keys, ssh config: kept by `down`
LAB_STATE=$LAB_DIR/state             # size, completion marker
LAB_HOSTS=$LAB_DIR/hosts             # per-host dirs: /run, docker data, logs
LAB_LOCK=${SWARM_ETL_LAB_LOCK:-/run/lock/swarm-etl-lab.lock}
STACK_CONFIG=$REPO_ROOT/Pulumi.lab.yaml
export SWARM_ETL_LAB_DIR=$LAB_DIR    # host-init.sh re-sources this file
DOCKER=/usr/bin/docker               # Debian's docker.io client (matches the engine)

# --- Addresses (RFC 2544 benchmark range: never routed off this machine) ----
PUB_NET=198.18.10
PRIV_NET=198.18.20
PUB_CIDR=$PUB_NET.0/24
PRIV_CIDR=$PRIV_NET.0/24
OPERATOR_ADDR=$PUB_NET.1             # root namespace, on br-pub only
REGISTRY=$PRIV_NET.2:5000            # runs on the bastion, private side only
NS_PREFIX=swetl-
NET_NS=${NS_PREFIX}net               # holds br-pub and br-priv
OPERATOR_LINK=swetl-op               # root-namespace end of the operator veth
CGROUP_NAME=swetl                    # /sys/fs/cgroup/<ctrl>/swetl/<host>/{init,ctr}

# --- Size ---------------------------------------------------------------------
DEFAULT_MANAGERS=3
DEFAULT_WORKERS=2
MAX_MANAGERS=9                       # mgr i -> .1i (11..19)
MAX_WORKERS=99                       # wkr j -> .(20+j)

# --- Logging and timing ---------------------------------------------------------
log() { printf '[lab] %s\n' "$*" >&2; }
warn() { printf '[lab] WARNING: %s\n' "$*" >&2; }
die() { printf '[lab] ERROR: %s\n' "$*" >&2; exit 1; }

# now_ms: wall clock in milliseconds (bash 5 EPOCHREALTIME, no fork).
now_ms() { local t=${EPOCHREALTIME/./}; printf '%s' "${t:0:-3}"; }
# fmt_ms MS: "1.234s"
fmt_ms() { printf '%d.%03ds' $(($1 / 1000)) $(($1 % 1000)); }

PHASE_NAME=""
PHASE_START=0
PHASE_REPORT=()
# phase NAME: end the running phase (printing its duration) and start NAME.
# `phase ""` just ends the running one.
phase() {
  local t
  t=$(now_ms)
  if [[ -n $PHASE_NAME ]]; then
    local d=$((t - PHASE_START))
    log "phase $PHASE_NAME done in $(fmt_ms "$d")"
    PHASE_REPORT+=("$(printf '%-10s %s' "$PHASE_NAME" "$(fmt_ms "$d")")")
  fi
  PHASE_NAME=$1
  PHASE_START=$t
  [[ -z $1 ]] || log "phase $1 ..."
}

# --- Hosts ----------------------------------------------------------------------
LAB_MANAGERS=${LAB_MANAGERS:-$DEFAULT_MANAGERS}
LAB_WORKERS=${LAB_WORKERS:-$DEFAULT_WORKERS}

# validate_size: die unless LAB_MANAGERS/LAB_WORKERS are sane numbers.
validate_size() {
  if ! [[ $LAB_MANAGERS =~ ^[0-9]{1,2}$ ]] || ((10#$LAB_MANAGERS < 1 || 10#$LAB_MANAGERS > MAX_MANAGERS)); then
    die "managers must be 1..$MAX_MANAGERS (got '$LAB_MANAGERS')"
  fi
  if ! [[ $LAB_WORKERS =~ ^[0-9]{1,2}$ ]] || ((10#$LAB_WORKERS > MAX_WORKERS)); then
    die "workers must be 0..$MAX_WORKERS (got '$LAB_WORKERS')"
  fi
  LAB_MANAGERS=$((10#$LAB_MANAGERS)) LAB_WORKERS=$((10#$LAB_WORKERS))
}

# load_size: size of the lab recorded by the last `up` (falls back to env/defaults).
load_size() {
  if [[ -f $LAB_STATE/size ]]; then
    # shellcheck disable=SC1091
    source "$LAB_STATE/size"
  fi
}

managers() { local i; for ((i = 1; i <= LAB_MANAGERS; i++)); do echo "mgr$i"; done; }
workers() { local i; for ((i = 1; i <= LAB_WORKERS; i++)); do echo "wkr$i"; done; }
docker_hosts() { managers; workers; }
all_hosts() { echo bastion; docker_hosts; }

# host_role HOST: bastion | manager | worker
host_role() {
  case $1 in
    bastion) echo bastion ;;
    mgr*) echo manager ;;
    wkr*) echo worker ;;
    *) die "unknown host '$1'" ;;
  esac
}

# host_pub HOST: public address, empty for workers.
host_pub() {
  case $1 in
    bastion) echo "$PUB_NET.2" ;;
    mgr*) echo "$PUB_NET.$((10 + ${1#mgr}))" ;;
    *) echo "" ;;
  esac
}

# host_priv HOST: private address.
host_priv() {
  case $1 in
    bastion) echo "$PRIV_NET.2" ;;
    mgr*) echo "$PRIV_NET.$((10 + ${1#mgr}))" ;;
    wkr*) echo "$PRIV_NET.$((20 + ${1#wkr}))" ;;
  esac
}

# ssh_addr HOST: the address sshd listens on (public for the bastion only).
ssh_addr() { if [[ $1 == bastion ]]; then host_pub bastion; else host_priv "$1"; fi; }

host_dir() { echo "$LAB_HOSTS/$1"; }
host_ns() { echo "$NS_PREFIX$1"; }
docker_sock() { echo "$LAB_HOSTS/$1/run/docker.sock"; }

# dk HOST ARGS...: docker CLI against HOST's engine (from the root namespace).
dk() { local h=$1; shift; "$DOCKER" -H "unix://$(docker_sock "$h")" "$@"; }

# in_ns HOST CMD...: run CMD in HOST's network namespace only (root filesystem).
in_ns() { local h=$1; shift; nsenter --net="/run/netns/$(host_ns "$h")" -- "$@"; }

# tcp_open HOST ADDR PORT: can HOST's namespace open a TCP connection? (1 s max)
tcp_open() { in_ns "$1" timeout 1 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; }

# wait_until SECONDS DESC CMD...: retry CMD every 0.1 s until it succeeds.
wait_until() {
  local secs=$1 desc=$2 deadline
  shift 2
  deadline=$(($(now_ms) + secs * 1000))
  until "$@"; do
    (($(now_ms) < deadline)) || { warn "timed out after ${secs}s waiting for $desc"; return 1; }
    sleep 0.1
  done
}

# pid_alive PIDFILE: the pid in PIDFILE is a running process.
pid_alive() { [[ -s $1 ]] && kill -0 "$(<"$1")" 2>/dev/null; }

# json_str S: S as a JSON string literal.
json_str() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

# host_key HOST: "ssh-ed25519 <base64>" (no comment) of HOST's sshd.
host_key() { cut -d' ' -f1,2 <"$LAB_SSH/hostkeys/$1/ssh_host_ed25519_key.pub"; }

# --- Daemons ------------------------------------------------------------------
# Closes every fd the calling script inherited (0-2 and 255, bash's handle on the script, stay):
# a daemon started from it must not hold its caller's pipe (the caller would wait for EOF
# forever) or lock file (/run/swarm-etl-lab.lock would stay taken for the daemon's lifetime).
close_inherited_fds() {
  local fd
  for fd in /proc/self/fd/*; do
    fd=${fd##*/}
    case $fd in 0 | 1 | 2 | 255) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
  done
}
