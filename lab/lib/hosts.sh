# shellcheck shell=bash
# Lab hosts: their directories and daemon configs, starting each host's
# process tree (host-init.sh in its namespaces), and waiting until they serve.

# daemon_json HOST: dockerd config of HOST.
daemon_json() {
  local hd
  hd=$(host_dir "$1")
  cat >"$hd/daemon.json" <<EOF
{
  "deprecated-key-path": $(json_str "$hd/key.json"),
  "insecure-registries": ["$REGISTRY"],
  "storage-driver": "overlay2",
  "log-driver": "json-file",
  "log-opts": { "max-size": "10m", "max-file": "2", "labels": "com.docker.swarm.service.name,com.docker.swarm.task.name,com.docker.swarm.node.id" },
  "live-restore": false,
  "iptables": true,
  "ip-forward": true
}
EOF
}

# host_prepare HOST: HOST's directory: its /run, logs, configs.
host_prepare() {
  local h=$1 hd
  hd=$(host_dir "$h")
  mkdir -p "$hd/run/sshd" "$hd/log"
  chmod 755 "$hd" "$hd/run" "$hd/run/sshd"
  sshd_config "$h"
  [[ $(host_role "$h") == bastion ]] || { mkdir -p "$hd/docker" && daemon_json "$h"; }
}

# host_start HOST: start HOST's init in the background, detached from us
# (own session, output to its log, our lock fd closed).
host_start() {
  local h=$1 hd
  hd=$(host_dir "$h")
  cg_create "$h"
  setsid nsenter --net="/run/netns/$(host_ns "$h")" -- \
    unshare --mount --uts --propagation private -- \
    "$LAB_LIB/host-init.sh" "$h" </dev/null >>"$hd/log/init.log" 2>&1 9>&- &
  disown # never waited for: it lives until `down`
}

# --- Readiness probes (all cheap: no SSH) -------------------------------------
host_init_up() { pid_alive "$(host_dir "$1")/init.pid"; }
sshd_up() { pid_alive "$(host_dir "$1")/sshd.pid" && tcp_open "$1" "$(ssh_addr "$1")" 22; }
dockerd_up() {
  timeout 5 "$DOCKER" -H "unix://$(docker_sock "$1")" info --format '{{.ServerVersion}}' >/dev/null 2>&1
}

# registry_get PATH: HTTP status line of GET PATH on the lab registry.
registry_get() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  in_ns bastion timeout 2 bash -c '
    exec 3<>"/dev/tcp/${1%:*}/${1#*:}"
    printf "GET %s HTTP/1.0\r\nHost: %s\r\nAccept: application/vnd.docker.distribution.manifest.v2+json\r\n\r\n" "$2" "$1" >&3
    head -n1 <&3' _ "$REGISTRY" "$1" 2>/dev/null | tr -d '\r'
}
registry_up() {
  pid_alive "$(host_dir bastion)/registry.pid" && [[ $(registry_get /v2/) == *" 200 "* ]]
}

# The manager rule: dockerd sets ip_forward=1, so no forwarding from the
# public side to the private one.
FW_RULE=(DOCKER-USER -i pub0 -o priv0 -j DROP)
manager_firewall_ok() { in_ns "$1" iptables -w -C "${FW_RULE[@]}" 2>/dev/null; }
manager_firewall() {
  manager_firewall_ok "$1" || in_ns "$1" iptables -w -I "${FW_RULE[@]}" 2>/dev/null
}

# host_logs HOST: the tail of HOST's logs (for error messages).
host_logs() {
  local f
  for f in "$(host_dir "$1")"/log/*.log; do
    [[ -f $f ]] || continue
    echo "--- $f"
    tail -n 15 "$f"
  done >&2
}

# hosts_wait: every host's init, sshd and dockerd (and the registry) answer.
hosts_wait() {
  local h
  for h in $(all_hosts); do
    wait_until 10 "$h init" host_init_up "$h" || { host_logs "$h"; die "$h did not start"; }
  done
  for h in $(all_hosts); do
    wait_until 20 "$h sshd" sshd_up "$h" || { host_logs "$h"; die "sshd of $h is not listening"; }
  done
  wait_until 20 "the registry" registry_up || { host_logs bastion; die "the registry does not answer"; }
  for h in $(docker_hosts); do
    wait_until 60 "$h dockerd" dockerd_up "$h" || { host_logs "$h"; die "dockerd of $h does not answer"; }
  done
  for h in $(managers); do
    wait_until 10 "$h DOCKER-USER rule" manager_firewall "$h" || die "cannot add the DOCKER-USER rule on $h"
  done
}

# host_ok HOST: quick health check of a running host (used by `up` reruns).
host_ok() {
  local h=$1
  host_init_up "$h" && sshd_up "$h" || return 1
  case $(host_role "$h") in
    bastion) registry_up ;;
    manager) dockerd_up "$h" && manager_firewall_ok "$h" ;;
    worker) dockerd_up "$h" ;;
  esac
}

# dockerd_ctl HOST kill|stop|start: crash (SIGKILL), stop (SIGTERM, waits) or start the dockerd
# of a node — what a daemon crash or a host restart does, for the lifecycle tests and drills.
dockerd_ctl() {
  local h=$1 action=$2 hd pid
  hd=$(host_dir "$h")
  [[ -d $hd ]] || die "no lab host $h"
  [[ $(host_role "$h") != bastion ]] || die "the bastion runs no dockerd"
  pid=$(cat "$hd/dockerd.pid" 2>/dev/null || true)
  case $action in
    crash)
      # The node fails: dockerd, containerd, the shims and every container die at once (a plain
      # `kill` leaves the containers running under their shims, as a crash of dockerd alone does).
      dockerd_ctl "$h" kill
      local r p
      for r in $(cg_roots); do
        [[ -d $r/$CGROUP_NAME/$h/ctr ]] && find "$r/$CGROUP_NAME/$h/ctr" -name cgroup.procs -exec cat {} + 2>/dev/null
      done | sort -u | xargs -r kill -KILL 2>/dev/null || true
      for p in $(pgrep -f containerd-shim || true); do
        grep -q "/$CGROUP_NAME/$h/" "/proc/$p/cgroup" 2>/dev/null && kill -KILL "$p" 2>/dev/null
      done
      log "node $h: crashed (dockerd, containerd, shims and containers killed)"
      ;;
    kill | stop)
      [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || { log "dockerd of $h is not running"; return 0; }
      local ctd
      ctd=$(cat "$hd/run/docker/containerd/containerd.pid" 2>/dev/null || true)
      if [[ $action == kill ]]; then
        # A crash of the Docker service: dockerd and its containerd die at once.
        kill -KILL "$pid" ${ctd:+"$ctd"} 2>/dev/null || true
      else
        kill -TERM "$pid"
      fi
      wait_until 60 "dockerd of $h to exit" eval "! kill -0 $pid 2>/dev/null" || die "dockerd of $h did not exit"
      [[ -z $ctd ]] || wait_until 30 "containerd of $h to exit" eval "! kill -0 $ctd 2>/dev/null" || true
      log "dockerd of $h: $([[ $action == kill ]] && echo killed || echo stopped)"
      ;;
    start)
      if dockerd_up "$h"; then log "dockerd of $h already runs"; return 0; fi
      pid_alive "$hd/init.pid" || die "host $h is not running (lab/lab.sh up)"
      setsid nsenter --target "$(cat "$hd/init.pid")" --net --mount --uts -- \
        "$LAB_LIB/dockerd.sh" "$h" </dev/null >>"$hd/log/dockerd.log" 2>&1 9>&- &
      disown
      wait_until 60 "dockerd of $h" dockerd_up "$h" || { host_logs "$h"; die "dockerd of $h does not answer"; }
      cp "$hd/run/docker.pid" "$hd/dockerd.pid"
      log "dockerd of $h: started"
      ;;
    *) die "dockerd: unknown action '$action' (kill, crash, stop or start)" ;;
  esac
}
