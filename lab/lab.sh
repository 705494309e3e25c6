#!/usr/bin/env bash
# The swarm-etl lab: a bastion, managers and workers as network namespaces on
# this machine, each with its own sshd and dockerd, plus a registry — a
# multi-host Docker Swarm target reachable only through an SSH bastion.
#
#   lab/lab.sh up [--managers N] [--workers M]   build it (or verify a running one)
#   lab/lab.sh down [--purge]                     remove it (--purge: keys and caches too)
#   lab/lab.sh status                             show it; exit 0 only if fully up
#   lab/lab.sh ssh HOST [CMD...]                  ssh to a host through the bastion
#   lab/lab.sh docker HOST ARGS...                docker CLI on a host's engine (admin path)
#   lab/lab.sh dockerd HOST kill|crash|stop|start kill a node's dockerd (containers live on), crash the
#                                                 whole node (containers too), stop or (re)start it
#
# Also: `npm run lab -- up`. Size from LAB_MANAGERS / LAB_WORKERS too (default 3 / 2).
# State in SWARM_ETL_LAB_DIR (default /var/lib/swarm-etl-lab); see lab/README.md.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib
# shellcheck source=lib/common.sh
source "$LIB/common.sh"
# shellcheck source=lib/packages.sh
source "$LIB/packages.sh"
# shellcheck source=lib/cgroup.sh
source "$LIB/cgroup.sh"
# shellcheck source=lib/net.sh
source "$LIB/net.sh"
# shellcheck source=lib/ssh.sh
source "$LIB/ssh.sh"
# shellcheck source=lib/hosts.sh
source "$LIB/hosts.sh"
# shellcheck source=lib/registry.sh
source "$LIB/registry.sh"
# shellcheck source=lib/image.sh
source "$LIB/image.sh"
# shellcheck source=lib/outputs.sh
source "$LIB/outputs.sh"
# shellcheck source=lib/up.sh
source "$LIB/up.sh"
# shellcheck source=lib/down.sh
source "$LIB/down.sh"
# shellcheck source=lib/status.sh
source "$LIB/status.sh"

usage() { sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

# lock: one up/down at a time (fd 9; host-init processes never inherit it).
lock() {
  mkdir -p "$(dirname "$LAB_LOCK")"
  exec 9>>"$LAB_LOCK"
  flock -w 900 9 || die "another lab.sh holds $LAB_LOCK"
}

on_exit() {
  local rc=$?
  if ((rc != 0)) && [[ ${CMD:-} == up && -n $PHASE_NAME ]]; then
    warn "up failed in phase $PHASE_NAME (exit $rc). Logs: $LAB_HOSTS/*/log/." \
      "Rerun 'lab/lab.sh up' (it starts over) or 'lab/lab.sh down'."
  fi
}

main() {
  CMD=${1:-help}
  (($#)) && shift
  case $CMD in
    up | down | status) [[ $EUID -eq 0 ]] || die "the lab needs root (namespaces, cgroups, mounts)" ;;
  esac
  case $CMD in
    up)
      while (($#)); do
        case $1 in
          --managers) LAB_MANAGERS=${2:?--managers needs a number}; shift 2 ;;
          --managers=*) LAB_MANAGERS=${1#*=}; shift ;;
          --workers) LAB_WORKERS=${2:?--workers needs a number}; shift 2 ;;
          --workers=*) LAB_WORKERS=${1#*=}; shift ;;
          *) die "up: unknown argument '$1'" ;;
        esac
      done
      trap on_exit EXIT
      lock
      cmd_up
      ;;
    down)
      local purge=0
      while (($#)); do
        case $1 in
          --purge) purge=1; shift ;;
          *) die "down: unknown argument '$1'" ;;
        esac
      done
      lock
      load_size
      cmd_down "$purge"
      ;;
    status) cmd_status ;;
    ssh) exec ssh -F "$SSH_CONFIG" "$@" ;;
    docker)
      [[ -n ${1:-} ]] || die "usage: lab.sh docker HOST ARGS..."
      local h=$1
      shift
      exec "$DOCKER" -H "unix://$(docker_sock "$h")" "$@"
      ;;
    dockerd)
      [[ $EUID -eq 0 ]] || die "the lab needs root (namespaces, cgroups, mounts)"
      [[ -n ${1:-} && -n ${2:-} ]] || die "usage: lab.sh dockerd HOST kill|crash|stop|start"
      load_size
      dockerd_ctl "$1" "$2"
      ;;
    help | -h | --help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
