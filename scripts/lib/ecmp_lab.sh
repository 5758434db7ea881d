# The ECMP lab: N directors announce a VIP over BGP (FRR) to a router, which
# spreads the clients' flows over them with an equal-cost multipath route;
# BFD (100 ms x 3) withdraws a dead director's path. Sourced by the lab test
# (tests/lab/ecmp_lab_test.sh); built on directors_lab.sh (directors, reals,
# xlbd) and netns.sh, and netns_down removes everything, FRR's files too.
# The directors' bgpd starts empty: xlbd configures it (its bgp: section).
#
#   client C     192.0.2.10/24, default via the router  (client switch: br0 in CS)
#   router RT    eth0 192.0.2.1/24, eth1 198.51.100.254/24; AS 64512;
#                zebra + bgpd + bfdd, maximum-paths 8, L4 multipath hash
#   director i   198.51.100.i/24 (i = 1..8), AS 64513, zebra + bgpd + bfdd
#                announcing the VIP, xlbd (DR service, no VRRP)
#   real j       198.51.100.2j/24 (j = 1..3), the VIP on lo, default via
#                the router, xlb-lab-server :80
#   VIP          203.0.113.101/32 (dl_vip 1 with DL_VIP_NET): in no segment,
#                so every hop routes it (the client does not ARP for it)
#
# One segment (the bridge in S, directors_lab.sh's) holds the router, the
# directors and the reals: the directors are one-armed (XDP_TX back to the
# segment towards the real's MAC), and the reals answer the client directly
# through their default route, the router (direct server return). Every
# director is in the same AS, 64513: the router sees identical AS paths,
# so plain maximum-paths makes them equal-cost (one AS each would need
# `bestpath as-path multipath-relax`), and the router's re-advertisement of
# the VIP back to the other directors is dropped by their AS-path loop
# check (so a director never routes the VIP via the router).
#
#   ecmp_init BUILD_DIR [DIRECTORS]   names (default 3 directors)
#   ecmp_up                           namespaces, links, reals, router's FRR
#   ecmp_start_director I             director I's FRR and xlbd
#   ecmp_start_xlbd I [BGP_YAML]      director I's xlbd alone (a restart);
#                                     BGP_YAML its bgp: section (default
#                                     ecmp_bgp_yaml I; "" for none)
#   ecmp_add_director I               a director more (namespace, link,
#                                     router's neighbor), then start it
#   ecmp_kill_director I              its link down, then kill -9 of its
#                                     xlbd, bgpd, bfdd, zebra
#   ecmp_router_paths [VIP]           the router's kernel route to VIP
#                                     (ECMP_VIP): how many nexthops (0: none);
#                                     ecmp_router_paths_are N for waits
#   ecmp_bfd_up_count                 the router's BFD sessions that are up;
#                                     ecmp_bfd_up_are N for waits
#   ecmp_vtysh NAME ARGS...           vtysh on an FRR instance (rt, d1...);
#                                     ecmp_frr_dir NAME its directory (frr.log)
#
# ECMP_SYNC=1 (default 0: none) gives every director a sync: section (flow
# state shared, issue #16): its peers are directors 1..ECMP_SYNC_DIRECTORS
# (default 4) but itself, those not started yet being peers that are down,
# so a director that joins later is a peer from the start; one key, 48
# random bytes in the run directory (mode 0600), for all.
#
# FRR runs one instance per namespace (-N PREFIX-NAME), started by frr.sh:
# its config, pid files, vty and zserv sockets in /var/run/frr/PREFIX-NAME;
# bfdd starts after bgpd is connected to zebra, or bgpd never registers its
# BFD sessions (PLATFORM.md).

source "$(dirname "${BASH_SOURCE[0]}")/directors_lab.sh"
source "$(dirname "${BASH_SOURCE[0]}")/frr.sh"

ECMP_AS_ROUTER=64512
ECMP_AS_DIRECTORS=64513
ECMP_ROUTER_ADDR=198.51.100.254
ECMP_CLIENT_ADDR=192.0.2.10
DL_VIP_NET=203.0.113
ECMP_SYNC=${ECMP_SYNC:-0}
ECMP_SYNC_DIRECTORS=${ECMP_SYNC_DIRECTORS:-4}
declare -A ECMP_FRR_PIDS  # NAME -> "zebra bgpd bfdd" PIDs

ecmp_init() {  # ecmp_init BUILD_DIR [DIRECTORS]
  [[ -x /usr/lib/frr/bgpd && -x /usr/lib/frr/bfdd && -x /usr/lib/frr/zebra ]] || {
    echo "ecmp_lab: FRR is not installed (scripts/setup.sh installs frr)" >&2
    return 1
  }
  dl_init "$1" "${2:-3}"
  ECMP_RT=$DL_PREFIX-rt ECMP_CS=$DL_PREFIX-cs
  ECMP_VIP=$(dl_vip 1)
}

ecmp_log() { dl_log "$@"; }

ecmp_up() {
  local i j
  netns_add "$DL_S"
  netns_bridge "$DL_S"
  netns_add "$ECMP_CS"
  netns_bridge "$ECMP_CS"
  netns_add "$DL_C"
  netns_attach "$DL_C" "$ECMP_CS" pc "$ECMP_CLIENT_ADDR/24"
  ip -n "$DL_C" route add default via 192.0.2.1
  netns_add "$ECMP_RT"
  netns_attach_as "$ECMP_RT" eth0 "$ECMP_CS" prt 192.0.2.1/24
  netns_attach_as "$ECMP_RT" eth1 "$DL_S" prt "$ECMP_ROUTER_ADDR/24"
  # Forward; hash flows on ports too (the default hashes addresses only,
  # so one client would land on one director).
  ip netns exec "$ECMP_RT" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 \
    net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.eth1.rp_filter=0
  for ((i = 1; i <= DL_N; i++)); do dl_add_director "$i"; done
  dl_add_reals 1
  for j in 1 2 3; do ip -n "${DL_R[j]}" route add default via "$ECMP_ROUTER_ADDR"; done
  if ((ECMP_SYNC)); then (umask 077 && head -c 48 /dev/urandom >"$DL_RUN/sync.key"); fi
  ecmp_start_router
}

# --- FRR ------------------------------------------------------------------------
ecmp_frr_dir() { frr_dir "$DL_PREFIX-$1"; }
ecmp_ns() { if [[ $1 == rt ]]; then echo "$ECMP_RT"; else echo "${DL_D[${1#d}]}"; fi; }  # NAME: rt, d1...
ecmp_vtysh() { frr_vtysh "$DL_PREFIX-$1" "$(ecmp_ns "$1")" "${@:2}"; }  # ecmp_vtysh NAME ARGS...

# The BFD profile both ends use: 100 ms x 3, detection in 300 ms.
ecmp_bfdd_conf() {
  printf 'bfd\n profile fast\n  detect-multiplier 3\n  receive-interval 100\n  transmit-interval 100\n !\n!\n'
}

# ecmp_frr_start NAME NS BGPD_CONF: zebra, bgpd (config BGPD_CONF), then bfdd
# once bgpd is zebra's client (frr.sh); PIDs in ECMP_FRR_PIDS[NAME].
ecmp_frr_start() {
  local dir
  dir=$(ecmp_frr_dir "$1")
  mkdir -p "$dir"
  printf '%s\n' "$3" >"$dir/bgpd.conf"
  ecmp_bfdd_conf >"$dir/bfdd.conf"
  frr_start "$DL_PREFIX-$1" "$2" "$DL_RUN/$1.frr.out" bgpd bfdd
  ECMP_FRR_PIDS[$1]="${FRR_PIDS[*]}"
}

ecmp_start_router() {
  local i neighbors=
  for ((i = 1; i <= DL_N; i++)); do neighbors+=" neighbor $(dl_director_addr "$i") peer-group DIRECTORS"$'\n'; done
  ecmp_frr_start rt "$ECMP_RT" "router bgp $ECMP_AS_ROUTER
 bgp router-id $ECMP_ROUTER_ADDR
 no bgp ebgp-requires-policy
 neighbor DIRECTORS peer-group
 neighbor DIRECTORS remote-as $ECMP_AS_DIRECTORS
 neighbor DIRECTORS bfd profile fast
 neighbor DIRECTORS timers connect 1
 neighbor DIRECTORS advertisement-interval 0
${neighbors} address-family ipv4 unicast
  maximum-paths 8
 exit-address-family"
}

# ecmp_start_director I: director I's FRR (zebra, bgpd, bfdd) with no BGP
# config at all, then xlbd with one DR service for the VIP to the three
# reals and a bgp: section: xlbd configures bgpd (its neighbour the router,
# BFD 100 ms x 3) and announces the VIP once a real passed a check.
ecmp_start_director() {
  ecmp_frr_start "d$1" "${DL_D[$1]}" ""
  ecmp_start_xlbd "$1"
}
ecmp_start_xlbd() {  # I [BGP_YAML]: director I's xlbd (again), its bgp: section BGP_YAML
  dl_start_xlbd "$1" "$(dl_services_yaml 1)
${2-$(ecmp_bgp_yaml "$1")}
$(ecmp_sync_yaml "$1")" --state-dir "$DL_RUN/d$1"
}
ecmp_sync_yaml() {  # I: director I's sync: section (nothing unless ECMP_SYNC=1)
  local i peers=()
  ((ECMP_SYNC)) || return 0
  for ((i = 1; i <= ECMP_SYNC_DIRECTORS; i++)); do ((i == $1)) || peers+=("$(dl_director_addr "$i")"); done
  printf 'sync:\n  peers: [%s]\n  key_file: %s\n' "$(IFS=,; echo "${peers[*]}" | sed 's/,/, /g')" "$DL_RUN/sync.key"
}
ecmp_bgp_yaml() {  # I: director I's bgp: section
  cat <<EOF
bgp:
  asn: $ECMP_AS_DIRECTORS
  router_id: $(dl_director_addr "$1")
  frr_pathspace: $DL_PREFIX-d$1
  bfd: {interval: 100ms, multiplier: 3}
  neighbors: [{address: $ECMP_ROUTER_ADDR, asn: $ECMP_AS_ROUTER, bfd: true}]
EOF
}

# ecmp_add_director I: one director more on the segment (I = DL_N + 1), the
# router's neighbor for it, and its FRR and xlbd.
ecmp_add_director() {
  local i=$1
  dl_add_director "$i"
  DL_N=$((i > DL_N ? i : DL_N))
  ecmp_vtysh rt -c 'configure terminal' -c "router bgp $ECMP_AS_ROUTER" \
    -c "neighbor $(dl_director_addr "$i") peer-group DIRECTORS" >/dev/null
  ecmp_start_director "$i"
}

# ecmp_kill_director I: the director dies: its link down, then kill -9 of
# xlbd and its FRR daemons (its XDP program outlives xlbd).
ecmp_kill_director() {
  local pid
  exec 3>&2 2>/dev/null  # no "Killed" notices from bash
  # The link first: a killed bgpd's kernel closes its TCP session (FIN),
  # which would tell the router at once; a dead machine says nothing, and
  # only BFD notices.
  ip -n "${DL_D[$1]}" link set eth0 down
  for pid in "${DL_XLBD[$1]}" ${ECMP_FRR_PIDS[d$1]}; do kill -9 "$pid"; done
  for pid in "${DL_XLBD[$1]}" ${ECMP_FRR_PIDS[d$1]}; do wait "$pid" || true; netns_forget "$pid"; done
  exec 2>&3 3>&-
}

ecmp_router_paths() {  # [VIP]: how many nexthops the router's kernel route to it has
  ip -n "$ECMP_RT" -j route show exact "${1:-$ECMP_VIP}/32" |
    jq 'if length == 0 then 0 elif .[0].nexthops then (.[0].nexthops | length) else 1 end'
}
ecmp_router_paths_are() { [[ $(ecmp_router_paths) == "$1" ]]; }

ecmp_bfd_up_count() {
  ecmp_vtysh rt -c 'show bfd peers json' | jq '[.[] | select(.status == "up")] | length'
}
ecmp_bfd_up_are() { [[ $(ecmp_bfd_up_count) == "$1" ]]; }

ecmp_client() { ip netns exec "$DL_C" "$DL_BUILD/tests/lab/xlb-lab-client" "$@"; }
