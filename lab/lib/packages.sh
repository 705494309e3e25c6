# shellcheck shell=bash
# Debian packages the lab needs: installed ones (idempotent, only what is
# missing) and downloaded-only ones (unpacked into the cache, never installed,
# so no init script starts a daemon in the wrong namespace).

# Packages installed on the machine. util-linux (nsenter, unshare, flock),
# mount and hostname are essential in Debian, listed for fresh minimal images.
# shellcheck disable=SC2034 # used by up.sh
LAB_PACKAGES=(docker.io openssh-server openssh-client iproute2 iptables util-linux mount hostname)

APT_UPDATED=0

# apt_update_once: `apt-get update`, at most once per run.
apt_update_once() {
  ((APT_UPDATED)) && return 0
  log "apt-get update"
  apt-get update -qq >/dev/null
  APT_UPDATED=1
}

# pkg_installed PKG: dpkg says PKG is fully installed.
pkg_installed() {
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

# ensure_packages PKG...: install the missing ones, without starting services.
ensure_packages() {
  local missing=() p
  for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]}"
  apt_update_once
  # Forbid postinst scripts to start sshd/dockerd in the root namespace.
  local policy=/usr/sbin/policy-rc.d ours=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && ours=1
  fi
  DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    { ((ours)) && rm -f "$policy"; die "apt-get install ${missing[*]} failed"; }
  if ((ours)); then rm -f "$policy"; fi
}

# fetch_deb PKG: path of PKG's .deb in the cache, downloading it if needed.
fetch_deb() {
  local pkg=$1 dir=$LAB_CACHE/debs deb
  mkdir -p "$dir"
  deb=$(find "$dir" -maxdepth 1 -name "${pkg}_*.deb" | sort | tail -n1)
  if [[ -z $deb ]]; then
    log "apt-get download $pkg"
    (cd "$dir" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >/dev/null 2>&1) ||
      { apt_update_once && (cd "$dir" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >/dev/null); } ||
      die "apt-get download $pkg failed"
    deb=$(find "$dir" -maxdepth 1 -name "${pkg}_*.deb" | sort | tail -n1)
  fi
  [[ -n $deb ]] || die "no .deb for $pkg in $dir"
  printf '%s\n' "$deb"
}

# unpack_deb PKG: directory holding PKG's files (dpkg -x), cached by version.
unpack_deb() {
  local pkg=$1 deb ver dir
  deb=$(fetch_deb "$pkg")
  ver=$(dpkg-deb -f "$deb" Version)
  dir=$LAB_CACHE/pkg/$pkg-${ver//:/_}
  if [[ ! -f $dir/.unpacked ]]; then
    rm -rf "$dir" && mkdir -p "$dir"
    dpkg -x "$deb" "$dir"
    touch "$dir/.unpacked"
  fi
  printf '%s\n' "$dir"
}

# deb_upstream_version PKG: "1.35.0" from "1:1.35.0-4+deb12u1+b1".
deb_upstream_version() {
  local v
  v=$(dpkg-deb -f "$(fetch_deb "$1")" Version)
  v=${v#*:}
  printf '%s\n' "${v%-*}"
}
