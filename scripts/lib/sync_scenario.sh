# The VRRP scenarios of issue #16 (flow state shared between directors) on
# the directors lab (directors_lab.sh): two directors, one VIP mastered by
# director 1, long-lived connections through it (active_active.sh's hold
# client), then director 1 dies (kill -9 of xlbd, link down). Shared by the
# sync lab test (tests/lab/sync_vrrp_test.sh) and `scripts/bench.sh sync`.
#
#   sync_sc_init BUILD_DIR MODE SYNC   MODE nat | dr; SYNC 1: a sync: section
#                                      on both directors, 0: none (today's
#                                      behaviour, for the comparison)
#   sync_sc_up                         the lab; both xlbd; director 1 master
#   sync_sc_lab, sync_sc_start I       the same in steps: the lab, then
#                                      director I's xlbd (so that one can
#                                      start after the flows exist)
#   sync_sc_hold                       SYNC_SC_CONNS connections, exchanging
#   sync_sc_backup_has_flows           director 2's table holds every one of
#                                      them (learnt from director 1)
#   sync_sc_backup_flows_active        ... and shows them "active" (the
#                                      refresh walk's records; SYNC_SC_REFRESH
#                                      sets sync.refresh, e.g. 5s)
#   sync_sc_add_real ADDR              `xlbctl real add` on both directors
#   sync_sc_kill_master                director 1 dies; director 2 master
#   sync_sc_survivors                  connections alive and exchanging
#   sync_sc_run                        the scenario of MODE, step by step, on
#                                      a lab that is up: SYNC_SC_SURVIVED
#                                      (what the test and the bench report)
#
# NAT: the reals' replies go back through the director that holds the VIP.
# The client is in another subnet (203.0.113.9), behind a router (rt,
# 198.51.100.254 and 203.0.113.254, on the same segment); the directors route
# the client's subnet through it; the reals route it through a second address
# of the same VRRP instance (198.51.100.150, the reals' gateway, as
# keepalived's LVS-NAT examples do), so it moves with the VIP.
# DR: the reals start as real1 and real2 only (real3 is added during the
# scenario), so the Maglev tables change while the VIP moves.

source "$(dirname "${BASH_SOURCE[0]}")/directors_lab.sh"
source "$(dirname "${BASH_SOURCE[0]}")/active_active.sh"

SYNC_SC_CONNS=${SYNC_SC_CONNS:-60}
SYNC_SC_CLIENT_NAT=203.0.113.9
SYNC_SC_GATEWAY=198.51.100.150
SYNC_SC_ROUTER=198.51.100.254

sync_sc_init() {  # sync_sc_init BUILD_DIR MODE SYNC
  SYNC_SC_MODE=$2 SYNC_SC_SYNC=$3
  AA_VIPS=1 AA_CONNS_PER_VIP=$SYNC_SC_CONNS
  dl_init "$1" 2
  if [[ $SYNC_SC_MODE == dr ]]; then
    DL_REALS='{address: 198.51.100.21}, {address: 198.51.100.22}'
  else
    DL_REALS=$DL_REALS_DEFAULT
  fi
}

# The config of director I: the service, its VRRP instance (I = 1 master),
# and the sync section naming the other director.
sync_sc_yaml() {
  local i=$1 other=$((3 - $1)) addresses
  addresses="$(dl_vip 1)/24"
  if [[ $SYNC_SC_MODE == nat ]]; then
    addresses+=", $SYNC_SC_GATEWAY/24"
    dl_services_yaml 1 | sed 's/^    port: 80$/    port: 80\n    forward: nat/'
  else
    dl_services_yaml 1
  fi
  cat <<EOF
vrrp:
  - name: vip1
    interface: eth0
    vrid: 51
    priority: $((i == 1 ? 150 : 100))
    advert_interval: 100ms
    addresses: [$addresses]
EOF
  if ((SYNC_SC_SYNC)); then
    cat <<EOF
sync:
  peers: [$(dl_director_addr "$other")]
  key_file: $DL_RUN/sync.key
EOF
    # The refresh walk's period (5s at least), when a test needs it sooner
    # than the default 60s.
    [[ -z ${SYNC_SC_REFRESH:-} ]] || echo "  refresh: $SYNC_SC_REFRESH"
  fi
}

sync_sc_up() {
  local i
  sync_sc_lab
  for ((i = 1; i <= DL_N; i++)); do sync_sc_start "$i"; done
  netns_wait_for 10 "director 1 master of $(dl_vip 1)" dl_has_addr 1 "$(dl_vip 1)"
  if ((SYNC_SC_SYNC)); then
    netns_wait_for 10 "sync peers up" sync_sc_peers_up
  fi
}

sync_sc_start() { dl_start_xlbd "$1" "$(sync_sc_yaml "$1")"; }  # sync_sc_start I

sync_sc_lab() {
  local i j
  dl_up 1
  # Every director reads the same key (32 bytes or more, mode 0600).
  (umask 077 && head -c 48 /dev/urandom >"$DL_RUN/sync.key")
  if [[ $SYNC_SC_MODE == nat ]]; then
    netns_add "$DL_PREFIX-rt"
    netns_attach "$DL_PREFIX-rt" "$DL_S" prt "$SYNC_SC_ROUTER/24" 203.0.113.254/24
    ip netns exec "$DL_PREFIX-rt" sysctl -qw net.ipv4.ip_forward=1 \
      net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
    ip -n "$DL_C" addr add "$SYNC_SC_CLIENT_NAT/24" dev eth0
    ip -n "$DL_C" route add "$(dl_vip 1)/32" via 203.0.113.254 src "$SYNC_SC_CLIENT_NAT"
    for ((i = 1; i <= DL_N; i++)); do
      # A NAT director forwards (bpf_fib_lookup answers only then), as
      # LVS-NAT's does.
      ip netns exec "${DL_D[i]}" sysctl -qw net.ipv4.ip_forward=1
      ip -n "${DL_D[i]}" route add 203.0.113.0/24 via "$SYNC_SC_ROUTER"
    done
    for j in 1 2 3; do
      ip -n "${DL_R[j]}" route add 203.0.113.0/24 via "$SYNC_SC_GATEWAY"
    done
  fi
}

sync_sc_peer_up() {  # sync_sc_peer_up I: director I hears its peer
  [[ $(dl_xlbctl "$1" --json sync | jq -r '[.peers[] | select(.up)] | length') == 1 ]]
}
sync_sc_peers_up() { sync_sc_peer_up 1 && sync_sc_peer_up 2; }

sync_sc_hold() {
  aa_start_holds && netns_wait_for 5 "every connection exchanging" aa_all_alive_fresh
}

# The client ports of the live connections director I has entries for.
# A copy made from a peer's record is "syn_recv" until the peer's refresh
# says the flow is established: any live state counts.
sync_sc_flows() {
  dl_xlbctl "$1" --json conns --limit 100000 |
    jq -r '.connections[] | select(.state != "expired" and .state != "closing")
      | .client | sub(".*:"; "")' | sort -u
}
sync_sc_flow_count() { sync_sc_flows "$1" | wc -l; }
# Whether director 2 shows director 1's flows as "active" (established):
# only the refresh walk's records bring that, NEW records leave at the SYN.
sync_sc_backup_flows_active() {
  local have
  have=$(comm -12 <(sync_sc_flows 1) <(dl_xlbctl 2 --json conns --limit 100000 |
    jq -r '.connections[] | select(.state == "active") | .client | sub(".*:"; "")' | sort -u) |
    wc -l)
  ((have >= SYNC_SC_CONNS))
}
sync_sc_backup_has_flows() {
  local have
  have=$(comm -12 <(sync_sc_flows 1) <(sync_sc_flows 2) | wc -l)
  ((have >= SYNC_SC_CONNS))
}

sync_sc_add_real() {  # sync_sc_add_real ADDR
  local i
  for ((i = 1; i <= DL_N; i++)); do dl_xlbctl "$i" real add "$(dl_vip 1):80" "$1" >/dev/null; done
}

sync_sc_kill_master() {
  dl_kill_director 1
  netns_wait_for 5 "director 2 master of $(dl_vip 1)" dl_has_addr 2 "$(dl_vip 1)"
}

# The connections still alive and exchanging (a reset or stalled one is not).
# 0 when the client has exited (every connection failed, or it ended).
sync_sc_survivors() {
  local alive gap
  if ! kill -0 "${AA_HOLD_PIDS[1]}" 2>/dev/null; then
    tail -n 5 "$DL_RUN/hold1.out" "$DL_RUN/hold1.err" >&2
    echo 0
    return
  fi
  read -r alive gap < <(aa_hold_status)
  echo "$alive"
}

# What director 2's NAT table holds: entries of nat_replies.
sync_sc_nat_replies() {
  dl_xlbctl 2 --json status | jq '.tables[] | select(.name == "nat_replies") | .entries'
}
sync_sc_has_replies() { (($(sync_sc_nat_replies) >= SYNC_SC_CONNS)); }

# How many of director 1's flows Maglev on director 2 now sends to ADDR
# (`xlbctl trace --syn`: what a new connection would get).
sync_sc_moved_to() {  # sync_sc_moved_to ADDR
  local port real moved=0
  while read -r port; do
    real=$(dl_xlbctl 2 --json trace "$(dl_vip 1):80" "$DL_CLIENT_ADDR:$port" --syn | jq -r '.real')
    [[ $real == "$1"* ]] && moved=$((moved + 1))
  done < <(sync_sc_flows 1)
  echo "$moved"
}

# Each step of sync_sc_run goes through $SYNC_SC_STEP DESCRIPTION CMD...:
# by default a failed step is said on stderr and the scenario goes on (the
# bench reports the survivors); the lab test sets it to `check`.
SYNC_SC_STEP=${SYNC_SC_STEP:-sync_sc_step}
sync_sc_step() { "${@:2}" || echo "sync scenario: FAILED: $1" >&2; }

# The scenario of MODE (see the top): connections through director 1; with
# sync, director 2 learns them (and, NAT, their reply halves); DR: real3 is
# added on both 1 s before director 1 dies; then director 1 dies.
# SYNC_SC_SURVIVED: the connections alive and exchanging after that.
sync_sc_run() {
  local n=$SYNC_SC_CONNS state added=198.51.100.23 moved
  SYNC_SC_SURVIVED=0
  $SYNC_SC_STEP "$n long-lived $SYNC_SC_MODE connections through director 1" sync_sc_hold
  if ((SYNC_SC_SYNC)); then
    $SYNC_SC_STEP "director 2 has an entry for each of them, learnt from director 1" \
      netns_wait_for 5 "director 2 has the flows" sync_sc_backup_has_flows
    state=$(dl_xlbctl 2 --json sync)
    echo "director 2: $(jq -c '{records: [.peers[].records_received], applied, dropped}' <<<"$state")"
    $SYNC_SC_STEP "director 2 counts no forged, replayed or malformed datagram" \
      test "$(jq '[.dropped.auth_failed, .dropped.replayed, .dropped.malformed] | add' <<<"$state")" = 0
    if [[ $SYNC_SC_MODE == nat ]]; then
      $SYNC_SC_STEP "director 2 holds their NAT reply halves too" \
        netns_wait_for 5 "reply halves" sync_sc_has_replies
      echo "director 2: $(sync_sc_nat_replies) NAT reply entries"
    fi
  fi
  if [[ $SYNC_SC_MODE == dr ]]; then
    if ((SYNC_SC_SYNC)) && [[ -n ${SYNC_SC_REFRESH:-} ]]; then
      $SYNC_SC_STEP "director 2 shows them active (director 1's refresh walk, every $SYNC_SC_REFRESH)" \
        netns_wait_for 15 "the flows active on director 2" sync_sc_backup_flows_active
    fi
    sync_sc_add_real "$added"
    # The scenario: the reals change 1 s before the master dies.
    sleep 1
    moved=$(sync_sc_moved_to "$added")
    echo "Maglev on director 2 now picks real3 for $moved of the $n flows"
    $SYNC_SC_STEP "the added real changes the choice for some of the flows (else this proves nothing)" \
      test "$moved" -gt 0
  fi
  $SYNC_SC_STEP "director 1 dies; director 2 takes the VIP" sync_sc_kill_master
  SYNC_SC_SURVIVED=$(sync_sc_survivors)
}
