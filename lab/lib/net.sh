# shellcheck shell=bash
# The lab's wiring. Bridges live in their own namespace (in the root
# namespace, bridge-nf plus the FORWARD DROP policy of any dockerd there would
# drop lab traffic):
#
#   root ns  swetl-op 198.18.10.1 --veth-- op-pub ─┐
#   swetl-net:  br-pub  <── bastion-pub, mgrN-pub ─┘  (public 198.18.10.0/24)
#               br-priv <── bastion-priv, mgrN-priv, wkrN-priv (198.18.20.0/24)
#   swetl-<host>: pub0 / priv0 (the other ends of those veths)
#
# The root namespace reaches the public bridge only, and an `unreachable`
# route keeps the private range from leaking out of its default route.

# ns_sysctl NS KEY VALUE: sysctl inside a network namespace (net.* is per ns).
ns_sysctl() {
  nsenter --net="/run/netns/$1" -- sh -c "echo $3 >/proc/sys/${2//.//}"
}

# ns_add NS: create the named network namespace with loopback up.
ns_add() {
  ip netns add "$1"
  ip -n "$1" link set lo up
}

# veth_to_bridge HOST SIDE ADDR: veth "<host>-<side>" on br-<side> in swetl-net,
# its peer "<side>0" in the host's namespace with ADDR/24.
veth_to_bridge() {
  local h=$1 side=$2 addr=$3 ns
  ns=$(host_ns "$h")
  ip -n "$NET_NS" link add "$h-$side" type veth peer name "${side}0" netns "$ns"
  ip -n "$NET_NS" link set "$h-$side" master "br-$side" up
  ip -n "$ns" addr add "$addr/24" dev "${side}0"
  ip -n "$ns" link set "${side}0" up
}

# lab_addresses_taken: something outside the lab already uses 198.18.0.0/15?
lab_addresses_taken() {
  local line
  while read -r line; do
    [[ -z $line || $line == *" $OPERATOR_LINK "* ]] || return 0
  done < <(ip -o -4 addr show to 198.18.0.0/15)
  return 1
}

net_up() {
  lab_addresses_taken && die "198.18.0.0/15 is already used on this machine: $(ip -o -4 addr show to 198.18.0.0/15)"
  # `ip netns add` turns /run/netns into a mount point if it is none: remember
  # that it was us, so that `down` unmounts it again.
  if ! mountpoint -q /run/netns 2>/dev/null; then touch "$LAB_STATE/netns-mount"; fi

  ns_add "$NET_NS"
  local br h pub
  for br in br-pub br-priv; do
    ip -n "$NET_NS" link add "$br" type bridge stp_state 0
    ip -n "$NET_NS" link set "$br" up
  done

  for h in $(all_hosts); do
    ns_add "$(host_ns "$h")"
    pub=$(host_pub "$h")
    [[ -z $pub ]] || veth_to_bridge "$h" pub "$pub"
    veth_to_bridge "$h" priv "$(host_priv "$h")"
  done
  # The bastion never routes between its two sides.
  ns_sysctl "$(host_ns bastion)" net.ipv4.ip_forward 0

  # Operator side: the root namespace sees the public bridge only.
  ip link add "$OPERATOR_LINK" type veth peer name op-pub netns "$NET_NS"
  ip -n "$NET_NS" link set op-pub master br-pub up
  ip addr add "$OPERATOR_ADDR/24" dev "$OPERATOR_LINK"
  ip link set "$OPERATOR_LINK" up
  ip route replace unreachable "$PRIV_CIDR"
}

# (No `cmd | grep -q` anywhere: with pipefail, grep's early exit can fail cmd.)
# unreachable_route_ok: the root namespace has the `unreachable` private route.
unreachable_route_ok() { [[ $(ip route show type unreachable) == *"unreachable $PRIV_CIDR"* ]]; }

# lab_netns: the lab's network namespaces that exist now.
lab_netns() { ip netns list | awk -v p="$NS_PREFIX" 'index($1, p) == 1 {print $1}'; }

net_down() {
  local ns pids
  for ns in $(lab_netns); do
    # Anything still running in the namespace (normally killed via cgroups).
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    # shellcheck disable=SC2086 # one pid per word
    [[ -z $pids ]] || kill -9 $pids 2>/dev/null || true
    ip netns del "$ns"
  done
  # The operator link is a veth whose peer was in a namespace just deleted: the kernel tears that
  # namespace down in the background and the link goes with it, so it may vanish between the
  # check and the delete ("No such device"). Gone either way is what down wants.
  if ip link show "$OPERATOR_LINK" >/dev/null 2>&1; then
    ip link del "$OPERATOR_LINK" 2>/dev/null || ! ip link show "$OPERATOR_LINK" >/dev/null 2>&1 ||
      die "cannot delete the link $OPERATOR_LINK"
  fi
  if unreachable_route_ok; then
    ip route del unreachable "$PRIV_CIDR"
  fi
  if [[ -f $LAB_STATE/netns-mount ]] && mountpoint -q /run/netns &&
    [[ -z $(ls -A /run/netns) ]]; then
    umount /run/netns
  fi
}

# net_ok: the root-namespace side of the wiring is in place.
net_ok() {
  [[ $(lab_netns | wc -l) -eq $(($(all_hosts | wc -l) + 1)) ]] &&
    [[ $(ip -o addr show dev "$OPERATOR_LINK" 2>/dev/null) == *"inet $OPERATOR_ADDR/24"* ]] &&
    unreachable_route_ok
}
