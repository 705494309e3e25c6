# shellcheck shell=bash
# Per-host cgroups: every process of host H (its init, sshd, dockerd,
# containerd, shims) lives in swetl/H/init and its containers in swetl/H/ctr
# (dockerd --cgroup-parent), in every mounted hierarchy. `down` freezes and
# kills whole subtrees, so no container stop timeout is ever waited for, and
# the RSS of the lab is the RSS of the processes listed there.
# Works with cgroup v1 (this machine: v1 controllers under a tmpfs, plus a v2
# "unified" mount) and with a pure v2 /sys/fs/cgroup.

# cg_scan_roots: one line per cgroup hierarchy root (deduplicated).
cg_scan_roots() {
  if [[ -f /sys/fs/cgroup/cgroup.procs ]]; then echo /sys/fs/cgroup; return; fi
  local d
  for d in /sys/fs/cgroup/*/; do
    if [[ -f ${d}cgroup.procs ]]; then readlink -f "$d"; fi
  done | sort -u
}
CG_ROOTS=$(cg_scan_roots)
cg_roots() { echo "$CG_ROOTS"; }

# cg_mkdir ROOT REL: mkdir ROOT/REL level by level; cpuset levels get the
# parent's cpus/mems (a fresh v1 cpuset accepts no task while empty).
cg_mkdir() {
  local rel=$2 path=$1 part
  local IFS=/
  for part in $rel; do
    [[ -n $part ]] || continue
    local parent=$path
    path=$path/$part
    [[ -d $path ]] || mkdir "$path"
    if [[ -f $path/cpuset.cpus && -z $(<"$path/cpuset.cpus") ]]; then # kernfs: size is 0
      cat "$parent/cpuset.cpus" >"$path/cpuset.cpus"
      cat "$parent/cpuset.mems" >"$path/cpuset.mems"
    fi
  done
}

# cg_create HOST: the init and ctr cgroups of HOST in every hierarchy.
cg_create() {
  local r
  for r in $(cg_roots); do
    cg_mkdir "$r" "$CGROUP_NAME/$1/init"
    cg_mkdir "$r" "$CGROUP_NAME/$1/ctr"
  done
}

# cg_join HOST PID: move PID into HOST's init cgroup everywhere.
cg_join() {
  local r
  for r in $(cg_roots); do
    echo "$2" >"$r/$CGROUP_NAME/$1/init/cgroup.procs"
  done
}

# cg_pids: pids in the lab's cgroups, sorted.
cg_pids() {
  local r
  for r in $(cg_roots); do
    if [[ -d $r/$CGROUP_NAME ]]; then find "$r/$CGROUP_NAME" -name cgroup.procs -exec cat {} + 2>/dev/null || true; fi
  done | sort -un
}

# cg_freeze STATE: FROZEN or THAWED for every host subtree (v1 freezer or v2).
cg_freeze() {
  local r d v2=0
  [[ $1 == FROZEN ]] && v2=1
  for r in $(cg_roots); do
    for d in "$r/$CGROUP_NAME"/*/; do
      if [[ -f ${d}freezer.state ]]; then
        echo "$1" >"${d}freezer.state" 2>/dev/null || true
      elif [[ -f ${d}cgroup.freeze ]]; then
        echo "$v2" >"${d}cgroup.freeze" 2>/dev/null || true
      fi
    done
  done
}

# cg_kill_all: SIGKILL every process of the lab's cgroups and wait until they
# are gone. Each round freezes the subtrees first, so nothing forks away
# while we kill (v1 kills frozen tasks when they are thawed).
cg_kill_all() {
  local pids r i
  for ((i = 0; i < 100; i++)); do
    pids=$(cg_pids)
    [[ -n $pids ]] || return 0
    for r in $(cg_roots); do # cgroup v2 (kernel >= 5.14) kills a subtree at once
      if [[ -f $r/$CGROUP_NAME/cgroup.kill ]]; then echo 1 >"$r/$CGROUP_NAME/cgroup.kill" || true; fi
    done
    cg_freeze FROZEN
    pids=$(cg_pids)
    # shellcheck disable=SC2086 # one pid per word
    [[ -z $pids ]] || kill -9 $pids 2>/dev/null || true
    cg_freeze THAWED
    sleep 0.05
  done
  warn "processes left in the lab cgroups: $(cg_pids | tr '\n' ' ')"
  return 1
}

# cg_remove: rmdir the lab's cgroups, deepest first.
cg_remove() {
  local r
  for r in $(cg_roots); do
    [[ -d $r/$CGROUP_NAME ]] || continue
    find "$r/$CGROUP_NAME" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [[ ! -d $r/$CGROUP_NAME ]] || warn "could not remove $r/$CGROUP_NAME"
  done
}

# cg_exists: any lab cgroup left?
cg_exists() {
  local r
  for r in $(cg_roots); do
    if [[ -d $r/$CGROUP_NAME ]]; then return 0; fi
  done
  return 1
}

# rss_kib PID...: summed VmRSS in KiB.
rss_kib() {
  local p sum=0 v
  for p in "$@"; do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    sum=$((sum + ${v:-0}))
  done
  echo "$sum"
}
