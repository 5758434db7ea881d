# The tunnel-forwarding lab (issue #15): the reals sit behind a router, in
# another subnet, with no L2 path to the director; they decapsulate with
# xlb-decap and answer the client directly through the router. Built on
# lab.sh (same names, prefix, run directory, lab_start_servers,
# lab_start_xlbd, xlbctl, lab_client), with its own topology:
#
#   client (C) eth0 198.51.100.2  2001:db8:1::2
#   director (D) eth0 198.51.100.1  2001:db8:1::1      xlbd, XDP on eth0
#   router (RT) eth0 198.51.100.254 2001:db8:1::254    all on S's br0
#      |  br0 203.0.113.254 2001:db8:2::254 (the reals' segment, in RT)
#   real1..3 (R1..R3) eth0 203.0.113.11..13 2001:db8:2::11..13,
#      the VIPs (LAB_VIP4, LAB_VIP6) on lo, xlb-decap on eth0
#
# The client routes the VIPs to the director; the director routes the reals'
# subnet to the router (so a tunnel's next hop is the router, resolved by
# xlbd); the reals' default route is the router, which has the client on-link:
# answers never pass the director. The router routes the outer source
# prefixes (TUNNEL_LAB_SOURCE4/6, for tunnel_source) to the director. Sourced, not run; callers trap netns_down.
#
#   tunnel_lab_init BUILD_DIR   names and files (lab_init), RT, decap pins
#   tunnel_lab_up               namespaces, links, addresses, routes, bpffs
#   tunnel_lab_decap N ARGS...  xlb-decap ARGS in real N with its own pins
#   tunnel_lab_decap_attach N   xlb-decap on real N's eth0 for both VIPs
#   tunnel_lab_decap_sum NAME   a counter of xlb-decap's status, summed over
#                               the reals that have it attached
#   tunnel_lab_service NAME VIP PORT PROTO ENCAP [KEY: VALUE...]
#                               prints one tunnel service (YAML, the three
#                               reals of VIP's family) for tunnel_lab_config
#   tunnel_lab_config SERVICE_YAML...
#                               writes $CONF: interfaces [eth0], the API
#                               socket, the services given
#   then lab_start_servers, lab_start_xlbd [FLAGS], xlbctl, lab_client.

source "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

TUNNEL_LAB_REALS4=(203.0.113.11 203.0.113.12 203.0.113.13)
TUNNEL_LAB_REALS6=(2001:db8:2::11 2001:db8:2::12 2001:db8:2::13)
TUNNEL_LAB_DIRECTOR4=198.51.100.1 TUNNEL_LAB_DIRECTOR6=2001:db8:1::1
TUNNEL_LAB_CLIENT4=198.51.100.2 TUNNEL_LAB_CLIENT6=2001:db8:1::2
TUNNEL_LAB_ROUTER4=198.51.100.254 TUNNEL_LAB_ROUTER6=2001:db8:1::254
TUNNEL_LAB_GATEWAY4=203.0.113.254 TUNNEL_LAB_GATEWAY6=2001:db8:2::254  # the router toward the reals
# Outer source prefixes for tunnel_source, routed to the director. Prefixes
# of their own: one overlapping a segment (198.51.100.128/25) would give
# some flows the router's address or the broadcast address as their outer
# source, and the router drops those as martians (seen: 1 flow in 60 lost).
TUNNEL_LAB_SOURCE4=192.0.2.128/25 TUNNEL_LAB_SOURCE6=2001:db8:ff::/112

tunnel_lab_init() {  # tunnel_lab_init BUILD_DIR
  lab_init "$1"
  RT=${LAB_PREFIX}-rt
  TUNNEL_LAB_DECAP_PINS=$LAB_RUN/decap
}

tunnel_lab_up() {
  local ns i
  for ns in "$C" "$D" "$S" "$RT" "$R1" "$R2" "$R3"; do netns_add "$ns"; done
  # The director's segment: client, director and router on S's bridge.
  netns_bridge "$S"
  netns_attach "$C" "$S" sc "$TUNNEL_LAB_CLIENT4/24" "$TUNNEL_LAB_CLIENT6/64"
  netns_attach "$D" "$S" sd "$TUNNEL_LAB_DIRECTOR4/24" "$TUNNEL_LAB_DIRECTOR6/64"
  netns_attach_as "$RT" eth0 "$S" sr "$TUNNEL_LAB_ROUTER4/24" "$TUNNEL_LAB_ROUTER6/64"
  # The director sends with XDP_TX into its veth: the peer needs an XDP
  # program (PLATFORM.md).
  ip -n "$S" link set dev sd xdpdrv obj "$LAB_BUILD/bpf/pass.bpf.o" sec xdp
  # The reals' segment: the router's own bridge.
  netns_bridge "$RT"
  ip -n "$RT" addr add "$TUNNEL_LAB_GATEWAY4/24" dev br0
  ip -n "$RT" addr add "$TUNNEL_LAB_GATEWAY6/64" dev br0 nodad
  i=1
  for ns in "$R1" "$R2" "$R3"; do
    netns_attach "$ns" "$RT" "p$i" "${TUNNEL_LAB_REALS4[i - 1]}/24" "${TUNNEL_LAB_REALS6[i - 1]}/64"
    lab_real_vips "$ns"
    i=$((i + 1))
  done
  # The director does not forward (a namespace inherits the host's IPv4
  # setting): tunnel flows leave by xlbd's resolved next hop, not the kernel.
  ip netns exec "$D" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
  # The router forwards; the answers from a VIP it has no route for must
  # pass its reverse-path filter.
  ip netns exec "$RT" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
    net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.br0.rp_filter=0
  # Routes after the links are up (a link change flushes them).
  ip -n "$RT" route add "$TUNNEL_LAB_SOURCE4" via "$TUNNEL_LAB_DIRECTOR4"
  ip -n "$RT" -6 route add "$TUNNEL_LAB_SOURCE6" via "$TUNNEL_LAB_DIRECTOR6"
  ip -n "$C" route add 192.0.2.0/24 via "$TUNNEL_LAB_DIRECTOR4"
  ip -n "$C" -6 route add 2001:db8:10::/64 via "$TUNNEL_LAB_DIRECTOR6"
  ip -n "$C" route add 203.0.113.0/24 via "$TUNNEL_LAB_ROUTER4"
  ip -n "$C" -6 route add 2001:db8:2::/64 via "$TUNNEL_LAB_ROUTER6"
  ip -n "$D" route add 203.0.113.0/24 via "$TUNNEL_LAB_ROUTER4"
  ip -n "$D" -6 route add 2001:db8:2::/64 via "$TUNNEL_LAB_ROUTER6"
  for ns in "$R1" "$R2" "$R3"; do
    ip -n "$ns" route add default via "$TUNNEL_LAB_GATEWAY4"
    ip -n "$ns" -6 route add default via "$TUNNEL_LAB_GATEWAY6"
  done
  netns_mount_bpf "$LAB_PINS"
  netns_mount_bpf "$TUNNEL_LAB_DECAP_PINS"
}

tunnel_lab_real_ns() { local v=R$1; echo "${!v}"; }  # tunnel_lab_real_ns N: R1..R3

tunnel_lab_decap() {  # tunnel_lab_decap N ARGS...
  ip netns exec "$(tunnel_lab_real_ns "$1")" "$LAB_BUILD/decap/xlb-decap" \
    --pin-dir "$TUNNEL_LAB_DECAP_PINS/r$1" "${@:2}"
}

tunnel_lab_decap_attach() {  # tunnel_lab_decap_attach N
  tunnel_lab_decap "$1" attach eth0 --vip "$LAB_VIP4" --vip "$LAB_VIP6" --xdp-mode native >/dev/null
}

tunnel_lab_decap_sum() {  # tunnel_lab_decap_sum COUNTER
  local n sum=0 v
  for n in 1 2 3; do
    [[ -e $TUNNEL_LAB_DECAP_PINS/r$n ]] || continue
    v=$(tunnel_lab_decap "$n" status --json | jq -r ".counters.$1")
    sum=$((sum + v))
  done
  echo "$sum"
}

tunnel_lab_service() {  # tunnel_lab_service NAME VIP PORT PROTO ENCAP [KEY: VALUE...]
  local name=$1 vip=$2 port=$3 proto=$4 encap=$5 line real
  local -a reals=("${TUNNEL_LAB_REALS4[@]}")
  [[ $vip == *:* ]] && reals=("${TUNNEL_LAB_REALS6[@]}")
  printf '  - name: %s\n    vip: %s\n    port: %s\n    protocol: %s\n' "$name" "$vip" "$port" "$proto"
  printf '    forward: tunnel\n    encap: %s\n' "$encap"
  for line in "${@:6}"; do printf '    %s\n' "$line"; done
  printf '    reals:\n'
  for real in "${reals[@]}"; do printf '      - {address: %s}\n' "$real"; done
}

tunnel_lab_config() {  # tunnel_lab_config SERVICE_YAML...
  {
    printf 'interfaces: [eth0]\napi: {socket: %s}\nservices:\n' "$SOCK"
    printf '%s\n' "$@"
  } >"$CONF"
}
