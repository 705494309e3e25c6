#!/usr/bin/env bash
# dockerd of lab host HOST, run inside the host's namespaces: by host-init.sh when the host
# starts, and by `lab.sh dockerd HOST start` (through nsenter) after a crash or a stop.
set -euo pipefail
h=${1:?usage: dockerd.sh HOST}
# Close every fd inherited from the caller (as host-init.sh does): a daemon that holds the
# caller's lock file (/run/swarm-etl-lab.lock) or a pipe would block it, or others, for its lifetime.
for fd in /proc/self/fd/*; do
  fd=${fd##*/}
  case $fd in 0 | 1 | 2 | 255) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
done
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=cgroup.sh
source "$LAB_LIB/cgroup.sh"
hd=$(host_dir "$h")
# The host's cgroup (host-init.sh already put us there; a restart through nsenter does not).
cg_join "$h" $$
# Docker API on the per-host unix socket only, never on TCP.
exec dockerd \
  --config-file "$hd/daemon.json" \
  --data-root "$hd/docker" \
  --exec-root /run/docker \
  -H unix:///run/docker.sock \
  --pidfile /run/docker.pid \
  --cgroup-parent "/$CGROUP_NAME/$h/ctr"
