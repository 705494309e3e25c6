#!/usr/bin/env bash
# The first process of one lab host ("init"). hosts.sh starts it as
#
#   nsenter --net=/run/netns/swetl-H -- \
#     unshare --mount --uts --propagation private -- host-init.sh H
#
# so it already runs in H's network namespace, with its own mount and UTS
# namespaces. It gives H its hostname (Swarm names nodes by hostname), its own
# /run and a sysfs of its network namespace, starts H's daemons and then
# stays as the anchor of H's namespaces until `down` kills H's cgroup.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

h=${1:?usage: host-init.sh HOST}

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
close_inherited_fds
# shellcheck source=cgroup.sh
source "$LAB_LIB/cgroup.sh"
hd=$(host_dir "$h")
role=$(host_role "$h")

# Join H's cgroup first: everything started below inherits it.
cg_join "$h" $$
echo $$ >"$hd/init.pid"
hostname "$h"

# /run of this host: /run/docker.sock, /run/docker, /run/containerd,
# /run/sshd are per host (dockerd uses a "system" containerd if it finds one
# at /run/containerd, and shims put their sockets there).
mount --bind "$hd/run" /run

# Docker's data where a real host keeps it: a container that bind-mounts
# /var/lib/docker/containers (the log collector) reads this host's logs.
if [[ $role != bastion ]]; then
  mkdir -p /var/lib/docker
  mount --bind "$hd/docker" /var/lib/docker
fi

# A sysfs mounted by the root namespace shows the root namespace's network
# devices, which confuses dockerd/libnetwork: mount one of this namespace,
# keeping the cgroup tree (v1 here: a tmpfs with one mount per controller).
remount_sysfs() {
  local keep=/run/.cgroup
  mkdir -p "$keep"
  if mountpoint -q /sys/fs/cgroup; then mount --move /sys/fs/cgroup "$keep"; fi
  umount -l /sys
  mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
  if mountpoint -q "$keep"; then mount --move "$keep" /sys/fs/cgroup; fi
  rmdir "$keep"
}
remount_sysfs

# start NAME CMD...: run a daemon in the background, log to log/NAME.log,
# record its pid in NAME.pid.
start() {
  local name=$1
  shift
  "$@" </dev/null >>"$hd/log/$name.log" 2>&1 &
  echo $! >"$hd/$name.pid"
}

start sshd /usr/sbin/sshd -D -e -f "$hd/sshd_config"

if [[ $role == bastion ]]; then
  start registry "$LAB_DIR/registry/docker-registry" serve "$LAB_DIR/registry/config.yml"
else
  start dockerd "$LAB_LIB/dockerd.sh" "$h"
fi

echo "host $h ($role) started: $(date -Is)"
# Stay alive (reaping children) as long as the host exists.
sleep infinity &
wait
