#!/usr/bin/env bash
# End-to-end check of the lab, as an operator would do it. DESTRUCTIVE: it
# runs `down`/`up` cycles and leaves a fresh default lab running at the end.
#
#   bash lab/test/e2e.sh            # needs root; ~1-2 minutes
#
# Checks: up (timed), status, ssh through the bastion to every host, the
# private range unreachable from the root namespace and not forwarded by the
# bastion or a manager, a manual swarm (init, joins, all Ready, a dnsrr
# service of the lab image on the workers, then leave --force everywhere),
# repair of a broken lab and of a half-finished up, another size, down
# leaving nothing (twice), and up again. Ends with "N passed, N failed".
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$HERE/../lab.sh
# shellcheck source=../lib/common.sh
source "$HERE/../lib/common.sh"
CFG=$LAB_DIR/ssh/config
PASS=0
FAIL=0

ok() { PASS=$((PASS + 1)); printf 'ok     %s\n' "$*"; }
not_ok() { FAIL=$((FAIL + 1)); printf 'NOT OK %s\n' "$*"; }
# t DESC CMD...: a check that CMD succeeds.
t() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
# t_not DESC CMD...: a check that CMD fails.
t_not() { local d=$1; shift; if "$@"; then not_ok "$d"; else ok "$d"; fi; }
# timed VAR CMD...: run CMD, VAR=its wall time in ms; returns CMD's status.
timed() {
  local -n _ms=$1
  shift
  local t0 rc=0
  t0=$(now_ms)
  "$@" || rc=$?
  _ms=$(($(now_ms) - t0))
  return "$rc"
}
lssh() { ssh -F "$CFG" "$@"; }
lssh_q() { ssh -F "$CFG" "$@" >/dev/null; }
hosts_now() { bash "$LAB" status >/dev/null 2>&1; }
quiet() { "$@" >/dev/null 2>&1; }
tcp_from_root() { timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# --- bring-up ----------------------------------------------------------------
cold_up() {
  bash "$LAB" down >/dev/null 2>&1 || true
  local ms
  # Through a pipe with an extra fd on it: had the daemons inherited either,
  # `cat` would never see EOF and the timeout would fail this check.
  if timed ms timeout 300 bash -c "set -o pipefail; bash '$LAB' up 2>&1 7>&1 | cat >/tmp/swetl-e2e-up.log"; then
    ok "up (cold, caches warm; output piped, returns) in $(fmt_ms "$ms")"
  else
    not_ok "up (cold)"
    tail -n 30 /tmp/swetl-e2e-up.log
    exit 1
  fi
  grep -E 'phase .* done|memory' /tmp/swetl-e2e-up.log | sed 's/^/       /'
}

check_ssh() {
  local h
  for h in $(all_hosts); do
    t "ssh -F $CFG $h hostname prints $h" test "$(lssh "$h" hostname 2>&1)" == "$h"
  done
}

check_isolation() {
  local h
  for h in $(docker_hosts); do
    t_not "root ns cannot reach $h private $(host_priv "$h"):22" tcp_from_root "$(host_priv "$h")" 22
  done
  t_not "root ns cannot reach the registry $REGISTRY" tcp_from_root "${REGISTRY%:*}" "${REGISTRY#*:}"
  t "root ns reaches the bastion's sshd $(host_pub bastion):22" tcp_from_root "$(host_pub bastion)" 22
  # A namespace on the public bridge that routes the private range through
  # the bastion or a manager must not get through either.
  local probe=${NS_PREFIX}probe
  ip netns add "$probe"
  ip link add probe0 netns "$probe" type veth peer name probe-pub netns "$NET_NS"
  ip -n "$NET_NS" link set probe-pub master br-pub up
  ip -n "$probe" addr add "$PUB_NET.250/24" dev probe0
  ip -n "$probe" link set probe0 up
  local via
  for via in bastion mgr1; do
    ip -n "$probe" route replace "$PRIV_CIDR" via "$(host_pub "$via")"
    t_not "no forwarding public->private through $via" \
      nsenter --net="/run/netns/$probe" timeout 3 bash -c "exec 3<>/dev/tcp/$(host_priv wkr1)/22" 2>/dev/null
  done
  ip netns del "$probe"
}

# --- a manual swarm through SSH ------------------------------------------------
swarm_nodes_ready() {
  [[ $(lssh mgr1 "docker node ls --format '{{.Status}}'" | grep -c '^Ready$') -eq $((LAB_MANAGERS + LAB_WORKERS)) ]]
}
service_running_on_workers() {
  local lines
  lines=$(lssh mgr1 "docker service ps lab-smoke --filter desired-state=running --format '{{.Node}} {{.CurrentState}}'")
  [[ $(grep -c '^wkr[0-9]* Running' <<<"$lines") -eq 2 ]]
}
check_swarm() {
  local mtok wtok h ms
  t "docker swarm init on mgr1 (via ssh)" lssh_q mgr1 docker swarm init --advertise-addr "$(host_priv mgr1)"
  mtok=$(lssh mgr1 docker swarm join-token -q manager)
  wtok=$(lssh mgr1 docker swarm join-token -q worker)
  for h in $(managers | tail -n +2); do
    t "$h joins as manager" lssh_q "$h" docker swarm join --token "$mtok" --advertise-addr "$(host_priv "$h")" "$(host_priv mgr1):2377"
  done
  for h in $(workers); do
    t "$h joins as worker" lssh_q "$h" docker swarm join --token "$wtok" --advertise-addr "$(host_priv "$h")" "$(host_priv mgr1):2377"
  done
  t "all $((LAB_MANAGERS + LAB_WORKERS)) nodes Ready" wait_until 60 "nodes Ready" swarm_nodes_ready
  lssh mgr1 docker node ls | sed 's/^/       /'
  local img
  img=$(busybox_image)
  timed ms lssh mgr1 docker service create -q --detach --name lab-smoke --replicas 2 --endpoint-mode dnsrr \
    --constraint node.role==worker "$img" sleep 3600 >/dev/null || true
  t "2-replica dnsrr service of $img running on the workers" wait_until 90 "service" service_running_on_workers
  t "service endpoint mode is dnsrr" test "$(lssh mgr1 "docker service inspect lab-smoke --format '{{.Spec.EndpointSpec.Mode}}'")" == dnsrr
  lssh mgr1 docker service ps lab-smoke | sed 's/^/       /'
  t "status exits 0 with the swarm up (DOCKER-USER rules kept)" hosts_now
  t "bash lab/lab.sh status shows the swarm" bash -c "bash '$LAB' status | grep -q 'docker node ls'"
  lssh mgr1 docker service rm lab-smoke >/dev/null
  for h in $(workers) $(managers | tac); do
    t "$h leaves the swarm (--force)" lssh_q "$h" docker swarm leave --force
  done
  t "mgr1 is out of any swarm" test "$(lssh mgr1 "docker info --format '{{.Swarm.LocalNodeState}}'")" == inactive
}
busybox_image() { sed -n 's/.*"busyboxImage": "\([^"]*\)".*/\1/p' "$LAB_DIR/lab.json"; }

# --- repair, size, down --------------------------------------------------------
check_rerun() {
  local ms before after
  before=$(cat "$LAB_HOSTS"/*/dockerd.pid "$LAB_HOSTS"/*/sshd.pid 2>/dev/null | sort | tr '\n' ' ')
  timed ms bash "$LAB" up >/tmp/swetl-e2e-up.log 2>&1
  after=$(cat "$LAB_HOSTS"/*/dockerd.pid "$LAB_HOSTS"/*/sshd.pid 2>/dev/null | sort | tr '\n' ' ')
  t "idempotent up on a running lab ($(fmt_ms "$ms")) only verified" grep -q 'already up, verified' /tmp/swetl-e2e-up.log
  t "idempotent up restarted no dockerd and no sshd" test -n "$before" -a "$before" == "$after"
}

check_repair() {
  kill -9 "$(<"$LAB_HOSTS/wkr2/dockerd.pid")"
  sleep 0.5
  t_not "status fails with wkr2's dockerd killed" hosts_now
  local ms
  timed ms bash "$LAB" up >/tmp/swetl-e2e-up.log 2>&1
  t "up rebuilds a broken lab ($(fmt_ms "$ms"))" hosts_now
  # A half-finished up: stop one in the middle of its work.
  bash "$LAB" down >/dev/null 2>&1
  (timeout -s KILL 2 bash "$LAB" up >/dev/null 2>&1 || true) 2>/dev/null
  t_not "status fails after a half-finished up" hosts_now
  timed ms bash "$LAB" up >/tmp/swetl-e2e-up.log 2>&1
  t "up after a half-finished up ($(fmt_ms "$ms"))" hosts_now
}

check_size() {
  local ms
  timed ms bash "$LAB" up --managers 1 --workers 1 >/tmp/swetl-e2e-up.log 2>&1
  t "up --managers 1 --workers 1 ($(fmt_ms "$ms"))" hosts_now
  t "that lab has 3 hosts" test "$(ip netns list | grep -c "^${NS_PREFIX}[bmw]")" -eq 3
  t "its stack config lists 1 worker" test "$(grep -c '^    - name: wkr' "$STACK_CONFIG")" -eq 1
  t "LAB_MANAGERS=1 LAB_WORKERS=0 up works" quiet env LAB_MANAGERS=1 LAB_WORKERS=0 bash "$LAB" up
}

# (Output compared, not `grep -q`: with pipefail an early grep exit can fail.)
# shellcheck disable=SC2143
nothing_left() {
  [[ -z $(ip netns list | grep "^$NS_PREFIX") ]] || { echo "netns left"; return 1; }
  [[ -z $(ip -o link show | grep -e swetl -e br-pub -e br-priv) ]] || { echo "links left"; return 1; }
  [[ -z $(grep -e "$LAB_DIR" -e /run/netns /proc/mounts) ]] || { echo "mounts left"; return 1; }
  [[ -z $(ip route show type unreachable | grep "$PRIV_CIDR") ]] || { echo "route left"; return 1; }
  [[ -z $(find /sys/fs/cgroup -maxdepth 2 -name "$CGROUP_NAME") ]] || { echo "cgroups left"; return 1; }
  local pat="$LAB_DIR/| /run/docker/containerd/containerd|host-init.sh"
  [[ -z $(pgrep -f "$pat") ]] || { echo "processes left:"; pgrep -a -f "$pat"; return 1; }
}

check_down() {
  local ms
  # Something to kill: a container that ignores SIGTERM on wkr1.
  "$DOCKER" -H "unix://$(docker_sock wkr1)" run -d --name stubborn "$(busybox_image)" sh -c 'trap "" TERM; sleep 1000' >/dev/null 2>&1 ||
    "$DOCKER" -H "unix://$(docker_sock wkr1)" run -d --name stubborn "$(busybox_image)" sleep 1000 >/dev/null
  timed ms bash "$LAB" down >/tmp/swetl-e2e-down.log 2>&1
  echo "info   down took $(fmt_ms "$ms") with a running container that ignores SIGTERM"
  t "down leaves no netns, link, mount, route, cgroup or process" nothing_left
  t "down twice is fine" quiet bash "$LAB" down
  t "down twice still leaves nothing" nothing_left
  t_not "status fails when the lab is down" quiet bash "$LAB" status
  t "ssh keys kept by down" test -f "$LAB_DIR/ssh/id_ed25519"
}

main() {
  [[ $EUID -eq 0 ]] || { echo "needs root" >&2; exit 1; }
  cold_up
  t "status exits 0" hosts_now
  check_ssh
  check_isolation
  check_swarm
  check_rerun
  check_repair
  check_size
  cold_up
  check_down
  local ms
  timed ms bash "$LAB" up >/tmp/swetl-e2e-up.log 2>&1
  t "up again after down ($(fmt_ms "$ms"))" hosts_now
  check_ssh
  echo "$PASS passed, $FAIL failed"
  ((FAIL == 0))
}

main "$@"
