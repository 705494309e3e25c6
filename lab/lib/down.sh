# shellcheck shell=bash
# `lab.sh down`: remove everything `up` made, also after a failed or
# half-finished up; safe to run any number of times.

# lab_procs: pids of lab processes: everything in the lab's cgroups, plus
# (belt and braces) lab daemons by name whose command line names their lab
# config; never a process merely mentioning the lab directory.
lab_procs() {
  {
    cg_pids
    local p comm args
    for p in /proc/[0-9]*; do
      read -r comm 2>/dev/null <"$p/comm" || continue
      case $comm in dockerd | sshd | docker-registry | host-init.sh) ;; *) continue ;; esac
      args=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
      case $args in
        *"$LAB_HOSTS/"* | *"$LAB_DIR/registry/"* | *"$LAB_LIB/host-init.sh"*) echo "${p#/proc/}" ;;
      esac
    done
  } | sort -un
}

# lab_mounts: mounts of the root namespace that belong to the lab.
lab_mounts() { grep -F -e "$LAB_DIR" -e "/run/netns/$NS_PREFIX" /proc/mounts || true; }

# lab_leftovers: describe whatever of the lab is still there (empty: nothing).
lab_leftovers() {
  local p
  [[ -z $(lab_netns) ]] || echo "netns: $(lab_netns | tr '\n' ' ')"
  if ip link show "$OPERATOR_LINK" >/dev/null 2>&1; then echo "link: $OPERATOR_LINK"; fi
  if unreachable_route_ok; then echo "route: unreachable $PRIV_CIDR"; fi
  if cg_exists; then echo "cgroups: $CGROUP_NAME"; fi
  p=$(lab_procs | tr '\n' ' ')
  [[ -z $p ]] || echo "processes: $p"
  [[ -z $(lab_mounts) ]] || echo "mounts: $(lab_mounts | cut -d' ' -f2 | tr '\n' ' ')"
  return 0
}

# lab_down: kill, unwire, remove state (keys and caches stay).
lab_down() {
  local pids
  # 1. Every process of every host, containers included: no stop timeouts.
  cg_kill_all || true
  pids=$(lab_procs)
  # shellcheck disable=SC2086 # one pid per word
  [[ -z $pids ]] || kill -9 $pids 2>/dev/null || true
  # 2. Namespaces, veths, bridges, the operator link and route, /run/netns.
  net_down
  # 3. Cgroups (once empty) and per-lab state.
  cg_kill_all || true
  cg_remove
  # The `lab` stack's Pulumi state describes hosts that exist only while the lab does.
  rm -rf "$LAB_HOSTS" "$LAB_STATE" "$LAB_DIR/registry" "$LAB_DIR/lab.json" "$STACK_CONFIG" "$LAB_DIR/pulumi-state"
}

cmd_down() {
  local purge=$1 t0 left
  t0=$(now_ms)
  lab_down
  if ((purge)); then
    # Only what the lab made: others may keep their own files in $LAB_DIR.
    rm -rf "$LAB_SSH" "$LAB_CACHE"
    rmdir "$LAB_DIR" 2>/dev/null || true
    log "purged $LAB_SSH and $LAB_CACHE"
  fi
  left=$(lab_leftovers)
  if [[ -n $left ]]; then
    warn "down left something behind:"
    printf '  %s\n' "$left" >&2
    return 1
  fi
  log "down in $(fmt_ms $(($(now_ms) - t0))): no lab namespace, link, route, cgroup, mount or process left"
}
