# shellcheck shell=bash
# `lab.sh up`: build the lab, or check a running one of the same size.

# recorded_size: "MANAGERS WORKERS" of the lab on disk, empty if none.
recorded_size() {
  [[ -f $LAB_STATE/size ]] || return 0
  (
    # shellcheck disable=SC1091
    source "$LAB_STATE/size"
    echo "${LAB_MANAGERS:-} ${LAB_WORKERS:-}"
  )
}

# lab_remnants: anything of a lab (complete or not) on this machine?
lab_remnants() {
  [[ -n $(lab_netns) || -d $LAB_HOSTS || -d $LAB_STATE ]] && return 0
  ip link show "$OPERATOR_LINK" >/dev/null 2>&1 && return 0
  cg_exists
}

# lab_healthy: a complete lab is running and answers (no SSH involved).
lab_healthy() {
  local h
  [[ -f $LAB_STATE/complete ]] && net_ok && image_ok || return 1
  for h in $(all_hosts); do host_ok "$h" || { warn "$h is not healthy"; return 1; }; done
}

# write_outputs: ssh config + known_hosts, Pulumi.lab.yaml, lab.json.
write_outputs() {
  ssh_client_files
  write_stack_config
  write_lab_json
}

# lab_rss: "N processes, RSS X MiB" of everything in the lab's cgroups.
lab_rss() {
  local pids
  mapfile -t pids < <(cg_pids)
  printf '%d processes, RSS %d MiB' "${#pids[@]}" $(($(rss_kib "${pids[@]}") / 1024))
}

up_summary() {
  local t0=$1 what=$2 line
  log "$what: 1 bastion, $LAB_MANAGERS managers, $LAB_WORKERS workers in $(fmt_ms $(($(now_ms) - t0)))"
  for line in "${PHASE_REPORT[@]}"; do log "  $line"; done
  log "  memory: $(lab_rss)"
  log "  stack config: $STACK_CONFIG"
  log "  try: ssh -F $SSH_CONFIG wkr1 hostname"
}

# bring_up: everything from nothing (the caller made sure nothing is left).
bring_up() {
  local t0=$1 h
  phase prepare
  ensure_packages "${LAB_PACKAGES[@]}"
  unpack_deb docker-registry >/dev/null
  busybox_rootfs_tar >/dev/null
  ssh_keys
  mkdir -p "$LAB_STATE" "$LAB_HOSTS"
  printf 'LAB_MANAGERS=%d\nLAB_WORKERS=%d\n' "$LAB_MANAGERS" "$LAB_WORKERS" >"$LAB_STATE/size"

  phase network
  net_up

  phase start
  registry_prepare
  for h in $(all_hosts); do host_prepare "$h"; done
  for h in $(all_hosts); do host_start "$h"; done

  phase ready
  hosts_wait

  phase image
  image_publish

  phase outputs
  write_outputs

  phase verify
  ssh_verify || die "ssh through the bastion failed"
  touch "$LAB_STATE/complete"
  phase ""
  up_summary "$t0" "up (cold)"
}

cmd_up() {
  validate_size
  local t0
  t0=$(now_ms)
  mkdir -p "$LAB_DIR" "$LAB_CACHE" "$LAB_DIR/home" "$LAB_DIR/pulumi-state"

  local have
  have=$(recorded_size)
  if [[ -f $LAB_STATE/complete && $have == "$LAB_MANAGERS $LAB_WORKERS" ]]; then
    phase check
    if lab_healthy && write_outputs && ssh_verify; then
      phase ""
      up_summary "$t0" "already up, verified"
      return 0
    fi
    warn "the running lab is not healthy: rebuilding it"
  elif [[ -n $have && $have != "$LAB_MANAGERS $LAB_WORKERS" ]]; then
    log "the lab on disk has size '$have' (managers workers): rebuilding it"
  fi

  if lab_remnants; then
    phase down
    lab_down
    # down removed the old lab's state backend with it (its stacks described that lab's swarm).
    mkdir -p "$LAB_DIR/home" "$LAB_DIR/pulumi-state"
  fi
  bring_up "$t0"
}
