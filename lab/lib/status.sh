# shellcheck shell=bash
# `lab.sh status`: what runs, per host; the swarm as mgr1 sees it.
# Exit 0 only if the whole lab is up.

# check VAR CMD...: VAR=up if CMD succeeds, else VAR=DOWN and the lab is not up.
STATUS_BAD=0
check() {
  local -n _out=$1
  shift
  if "$@"; then _out=up; else _out=DOWN; STATUS_BAD=1; fi
}

status_host_line() {
  local h=$1 ns sshd dockerd=- extra="" x
  check ns test -e "/run/netns/$(host_ns "$h")"
  check sshd sshd_up "$h"
  case $(host_role "$h") in
    bastion)
      check x registry_up
      extra="registry $x, ip_forward=$(in_ns bastion cat /proc/sys/net/ipv4/ip_forward 2>/dev/null || echo '?')"
      ;;
    manager)
      check dockerd dockerd_up "$h"
      check x manager_firewall_ok "$h"
      extra="DOCKER-USER pub0->priv0 DROP $x"
      ;;
    worker) check dockerd dockerd_up "$h" ;;
  esac
  printf '%-8s %-8s %-13s %-13s %-5s %-5s %-7s %s\n' \
    "$h" "$(host_role "$h")" "$(host_pub "$h" | sed 's/^$/-/')" "$(host_priv "$h")" \
    "$ns" "$sshd" "$dockerd" "$extra"
}

# status_swarm: `docker node ls` from mgr1 (or the first manager that can).
status_swarm() {
  local h state first=""
  for h in $(managers); do
    dockerd_up "$h" || continue
    state=$(dk "$h" info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}' 2>/dev/null || true)
    [[ -n $first ]] || first="$h: ${state% *}"
    if [[ $state == "active true" ]]; then
      echo "swarm (docker node ls on $h):"
      dk "$h" node ls | sed 's/^/  /'
      return
    fi
  done
  echo "swarm: none initialised (${first:-no manager answers})"
}

cmd_status() {
  if [[ ! -f $LAB_STATE/size ]]; then
    echo "lab is down (no $LAB_STATE/size)"
    local left
    left=$(lab_leftovers)
    [[ -z $left ]] || printf 'leftovers (run lab/lab.sh down):\n%s\n' "$left"
    return 1
  fi
  load_size
  echo "swarm-etl lab in $LAB_DIR: 1 bastion, $LAB_MANAGERS managers, $LAB_WORKERS workers"
  printf '%-8s %-8s %-13s %-13s %-5s %-5s %-7s %s\n' HOST ROLE PUBLIC PRIVATE NETNS SSHD DOCKERD ""
  local h x
  for h in $(all_hosts); do status_host_line "$h"; done
  check x net_ok
  echo "operator: $OPERATOR_LINK $OPERATOR_ADDR/24 + unreachable $PRIV_CIDR: $x"
  check x image_ok
  echo "image in registry: $(busybox_images | tr '\n' ' '): $x"
  check x test -f "$LAB_STATE/complete"
  echo "up completed: $x"
  if ((STATUS_BAD == 0)); then
    check x ssh_verify
    echo "ssh through the bastion to every host (hostname): $x"
  fi
  echo "memory: $(lab_rss)"
  status_swarm
  if ((STATUS_BAD)); then
    echo "lab status: NOT (fully) UP"
    return 1
  fi
  echo "lab status: UP"
}
