#!/usr/bin/env bash
# dockerd of lab host HOST, run inside the host's namespaces: by host-init.sh when the host
# starts, and by `lab.sh dockerd HOST start` (through nsenter) after a crash or a stop.
set -euo pipefail
h=${1:?usage: dockerd.sh HOST}
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
close_inherited_fds
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
