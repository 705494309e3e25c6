# shellcheck shell=bash
# SSH: one client key for the whole lab, one ed25519 host key per host (all
# kept across `down`, so known_hosts and Pulumi.lab.yaml stay valid), a
# per-host sshd_config, and the operator's OpenSSH config that reaches every
# host through the bastion (ProxyJump).

SSH_CONFIG=$LAB_SSH/config
KNOWN_HOSTS=$LAB_SSH/known_hosts
CLIENT_KEY=$LAB_SSH/id_ed25519

# ssh_keys: the client key and each host's key, generated once.
ssh_keys() {
  mkdir -p "$LAB_SSH/hostkeys"
  chmod 700 "$LAB_SSH"
  [[ -f $CLIENT_KEY ]] || ssh-keygen -q -t ed25519 -N '' -C swarm-etl-lab -f "$CLIENT_KEY"
  cut -d' ' -f1,2 <"$CLIENT_KEY.pub" >"$LAB_SSH/authorized_keys"
  chmod 600 "$LAB_SSH/authorized_keys"
  local h k
  for h in $(all_hosts); do
    k=$LAB_SSH/hostkeys/$h/ssh_host_ed25519_key
    mkdir -p "${k%/*}"
    [[ -f $k ]] || ssh-keygen -q -t ed25519 -N '' -C "$h" -f "$k"
  done
}

# strict_modes: "yes" unless a directory above authorized_keys is writable by
# group or others (sshd would then refuse the key with StrictModes yes).
strict_modes() {
  local d=$LAB_SSH mode
  while [[ -n $d ]]; do
    mode=$(stat -c %a "$d")
    if (((8#$mode & 8#022) != 0)); then echo no; return; fi
    d=${d%/*}
  done
  echo yes
}

# sshd_config HOST: write HOST's sshd_config (runs inside the host, where
# /run is the host's own directory).
sshd_config() {
  local h=$1
  cat >"$(host_dir "$h")/sshd_config" <<EOF
# sshd of lab host $h (written by lab/lab.sh up)
ListenAddress $(ssh_addr "$h"):22
HostKey $LAB_SSH/hostkeys/$h/ssh_host_ed25519_key
PidFile /run/sshd.pid
AuthorizedKeysFile $LAB_SSH/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes $(strict_modes)
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
X11Forwarding no
PrintMotd no
PrintLastLog no
UseDNS no
MaxStartups 100:30:200
MaxSessions 50
ClientAliveInterval 30
AcceptEnv LANG LC_*
# A home of the lab's own: the machine's ~/.bashrc (e.g. a pyenv init racing on its shims when
# many sessions start at once) must not run in the lab's sessions.
SetEnv HOME=$LAB_DIR/home
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
}

# ssh_client_files: the operator's ssh config and pinned known_hosts.
ssh_client_files() {
  local h names
  : >"$KNOWN_HOSTS.tmp"
  for h in $(all_hosts); do
    names=$h,$(host_priv "$h")
    [[ -z $(host_pub "$h") ]] || names=$names,$(host_pub "$h")
    echo "$names $(host_key "$h")" >>"$KNOWN_HOSTS.tmp"
  done
  mv "$KNOWN_HOSTS.tmp" "$KNOWN_HOSTS"

  {
    echo "# Written by \`lab/lab.sh up\` — every lab host, reached through the bastion."
    echo "# Usage: ssh -F $SSH_CONFIG wkr1 hostname"
    echo
    echo "Host bastion"
    echo "  HostName $(host_pub bastion)"
    for h in $(docker_hosts); do
      echo
      echo "Host $h"
      echo "  HostName $(host_priv "$h")"
      echo "  ProxyJump bastion"
    done
    cat <<EOF

Host *
  User root
  Port 22
  IdentityFile $CLIENT_KEY
  IdentitiesOnly yes
  UserKnownHostsFile $KNOWN_HOSTS
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  HostKeyAlgorithms ssh-ed25519
  CheckHostIP no
  UpdateHostKeys no
  BatchMode yes
  ConnectTimeout 5
  ServerAliveInterval 15
  LogLevel ERROR
EOF
  } >"$SSH_CONFIG.tmp"
  chmod 644 "$SSH_CONFIG.tmp"
  mv "$SSH_CONFIG.tmp" "$SSH_CONFIG"
}

# lab_ssh HOST CMD...: run CMD on HOST the way an operator does.
lab_ssh() { ssh -F "$SSH_CONFIG" "$@"; }

# ssh_verify: in parallel, `hostname` on every host through the bastion must
# print the host's name. Prints failures; returns non-zero if any.
ssh_verify() {
  local h out rc=0 tmp pids=()
  tmp=$(mktemp -d)
  for h in $(all_hosts); do
    timeout 20 ssh -F "$SSH_CONFIG" "$h" hostname >"$tmp/$h" 2>&1 </dev/null &
    pids+=($!)
  done
  wait "${pids[@]}" || true
  for h in $(all_hosts); do
    out=$(<"$tmp/$h")
    if [[ $out != "$h" ]]; then
      warn "ssh $h: expected hostname '$h', got: ${out:-nothing}"
      rc=1
    fi
  done
  rm -rf "$tmp"
  return "$rc"
}
