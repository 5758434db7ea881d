#!/usr/bin/env bash
# Lab test: tunnel forwarding (issue #15) with the reals behind a router, in
# another subnet, no L2 path to the director (scripts/lib/tunnel_lab.sh).
# xlbd wraps each packet (IPIP or GUE, IPv4 and IPv6) and sends it to the
# router; xlb-decap on each real unwraps it; the real answers the client
# from the VIP through the router. Checks: TCP and UDP for each encapsulation
# and family; a SYN's MSS as the real sees it; ICMP too-big from the VIP for
# a datagram that would not fit the tunnel; 20 long-lived connections across
# a real's removal; a tunnel key on a DR service refused by --check-config.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/tunnel_lab.sh"
source "$here/../../scripts/lib/lab_checks.sh"
tunnel_lab_init "${1:?usage: tunnel_lab_test.sh BUILD_DIR}"
trap netns_down EXIT
trap 'exit 1' INT TERM

tunnel_lab_up
lab_start_servers
for n in 1 2 3; do tunnel_lab_decap_attach "$n"; done

# Port 80 is wrapped in IPIP (6in6 for IPv6), 8080 in GUE; TCP and UDP each.
# The IPIP services spread the outer source over a prefix; the tunnel MTU is
# the default, the director's egress link's (1500).
services=()
for proto in tcp udp; do
  services+=("$(tunnel_lab_service "ipip4-$proto" "$LAB_VIP4" 80 "$proto" ipip \
    "tunnel_source: $TUNNEL_LAB_SOURCE4")")
  services+=("$(tunnel_lab_service "gue4-$proto" "$LAB_VIP4" 8080 "$proto" gue)")
  services+=("$(tunnel_lab_service "ipip6-$proto" "$LAB_VIP6" 80 "$proto" ipip \
    "tunnel_source: $TUNNEL_LAB_SOURCE6")")
  services+=("$(tunnel_lab_service "gue6-$proto" "$LAB_VIP6" 8080 "$proto" gue)")
done
tunnel_lab_config "${services[@]}"
check_config() { ip netns exec "$D" "$LAB_BUILD/controlplane/xlbd" --check-config "$@"; }
check "the configuration with eight tunnel services is valid" fails_with 0 "valid, 8 services" \
  check_config "$CONF"
lab_start_xlbd

# (1) TCP and UDP through each encapsulation, each family: every exchange
# passes (a TCP handshake with the VIP, a UDP answer on a socket connected
# to the VIP: an answer from any other source would not count), only the
# lab's reals answer, at least two of them, and xlb-decap counted the
# variant's packets.
answered_by() { awk '$1 == "server" {print $2}' <<<"$1" | sort | xargs; }  # CLIENT_OUTPUT
only_reals() {  # only_reals CLIENT_OUTPUT: the names are realN, 2 or more
  local names
  names=$(answered_by "$1")
  [[ -n $names && $names =~ ^(real[123] ?)+$ && $(wc -w <<<"$names") -ge 2 ]] ||
    { echo "  answered by: '$names'"; return 1; }
}
said_passed() {  # said_passed CLIENT_OUTPUT MODE N: passed_all, else its end shown
  passed_all "$@" || { tail -4 <<<"$1" | sed 's/^/  /'; return 1; }
}
target() { [[ $1 == *:* ]] && echo "[$1]:$2" || echo "$1:$2"; }
for variant in "ipip 4 80 ipip_v4" "gue 4 8080 gue_v4" "ipip 6 80 ipip_v6" "gue 6 8080 gue_v6"; do
  read -r encap family port counter <<<"$variant"
  vip=$LAB_VIP4
  [[ $family == 6 ]] && vip=$LAB_VIP6
  for proto in tcp udp; do
    flag=()
    [[ $proto == udp ]] && flag=(--udp)
    before=$(tunnel_lab_decap_sum "$counter")
    out=$(lab_client connect --target "$(target "$vip" "$port")" --count 30 "${flag[@]}" 2>&1 || true)
    what="$encap IPv$family $proto"
    check "(1) $what: 30 exchanges with the VIP pass" said_passed "$out" connect 30
    check "(1) $what: answered by the lab's reals, more than one" only_reals "$out"
    after=$(tunnel_lab_decap_sum "$counter")
    check "(1) $what: the reals decapsulated them ($counter $before -> $after)" \
      test "$after" -ge "$((before + 30))"
  done
done

# The answers reach the client from the router, not the director: the
# source MAC of a UDP answer from the VIP is the router's.
mac_of() { ip -n "$1" -j link show dev eth0 | jq -r '.[0].address'; }
answer_mac() {
  local out
  netns_start "$C" timeout 10 tcpdump -i eth0 -nn -e -l -c 1 "udp and src host $LAB_VIP4" \
    >"$LAB_RUN/answer.out" 2>"$LAB_RUN/answer.err"
  local pid=$NETNS_LAST_PID
  netns_wait_for 5 "tcpdump listening" grep -q 'listening on' "$LAB_RUN/answer.err"
  lab_client connect --udp --target "$LAB_VIP4:80" --count 1 >/dev/null 2>&1 || true
  netns_wait_for 5 "an answer captured" grep -q . "$LAB_RUN/answer.out"
  netns_stop "$pid"
  awk '{print $2}' "$LAB_RUN/answer.out"
}
router_mac=$(mac_of "$RT")
seen_mac=$(answer_mac)
check "(1) answers come through the router ($seen_mac; router $router_mac, director $(mac_of "$D"))" \
  test "$seen_mac" = "$router_mac"

# (2) MSS clamp: the client offers 1460 (IPv4) / 1440 (IPv6) on its 1500
# link; the real sees tunnel_mtu 1500 less the tunnel's overhead (20 IPIP,
# 28 GUE; 40, 48 over IPv6) less 40 / 60 bytes of IP and TCP headers.
syn_mss_seen() {  # syn_mss_seen VIP PORT WANT: one SYN, its MSS at the reals
  local vip=$1 port=$2 want=$3 n filter pids=() got
  filter="ip and tcp dst port $port and tcp[tcpflags] == tcp-syn"
  # (IPv6: no transport-layer indexing in libpcap; the TCP flags are at
  # 40 + 13 without extension headers.)
  [[ $vip == *:* ]] && filter="ip6 and tcp dst port $port and ip6[53] == 0x02"
  for n in 1 2 3; do
    netns_start "$(tunnel_lab_real_ns "$n")" timeout 10 tcpdump -i eth0 -nn -l -v -c 1 "$filter" \
      >"$LAB_RUN/syn$n.out" 2>"$LAB_RUN/syn$n.err"
    pids+=("$NETNS_LAST_PID")
  done
  netns_wait_for 5 "tcpdump listening" bash -c "grep -q 'listening on' '$LAB_RUN/syn1.err' &&
    grep -q 'listening on' '$LAB_RUN/syn2.err' && grep -q 'listening on' '$LAB_RUN/syn3.err'"
  lab_client connect --target "$(target "$vip" "$port")" --count 1 >/dev/null 2>&1 || true
  netns_wait_for 5 "a SYN captured" bash -c "cat '$LAB_RUN'/syn[123].out | grep -q 'mss '"
  for n in "${pids[@]}"; do netns_stop "$n"; done
  got=$(cat "$LAB_RUN"/syn[123].out | grep -o 'mss [0-9]*' | head -1)
  [[ $got == "mss $want" ]] || { echo "  the real saw '$got', want mss $want"; return 1; }
}
check "(2) IPIP IPv4: the real sees a SYN's MSS clamped to 1440" syn_mss_seen "$LAB_VIP4" 80 1440
check "(2) GUE IPv4: 1432" syn_mss_seen "$LAB_VIP4" 8080 1432
check "(2) IPIP IPv6 (6in6): 1400" syn_mss_seen "$LAB_VIP6" 80 1400
check "(2) GUE IPv6: 1392" syn_mss_seen "$LAB_VIP6" 8080 1392

# (3) A 1500-byte datagram with DF would be 1520 once wrapped: the client
# gets ICMP fragmentation-needed (IPv4) / packet-too-big (IPv6) from the VIP,
# advertising 1480 / 1460, and its kernel caches that path MTU.
pmtu_probe() { ip netns exec "$C" /usr/bin/python3 "$here/tools/pmtu_probe.py" "$@"; }
out=$(pmtu_probe "$LAB_VIP4" 80 1500 2>&1 || true)
check "(3) IPIP IPv4: 1500 bytes with DF get frag-needed, mtu 1480, from the VIP ($out)" \
  test "$out" = "icmp 3 4 mtu 1480 from $LAB_VIP4"
check "(3) ... and the client caches path MTU 1480 for the VIP" \
  bash -c "ip -n '$C' route get '$LAB_VIP4' | grep -q 'mtu 1480'"
out=$(pmtu_probe "$LAB_VIP6" 8080 1500 2>&1 || true)
check "(3) GUE IPv6: 1500 bytes get packet-too-big, mtu 1452, from the VIP ($out)" \
  test "$out" = "icmp 2 0 mtu 1452 from $LAB_VIP6"
out=$(pmtu_probe "$LAB_VIP4" 80 1480 2>&1 || true)
check "(3) a datagram that fits (1480 bytes) gets no error ($out)" test "$out" = "no error"

# (4) 20 long-lived connections (a numbered line echoed on each every 100
# ms, for 8 s), then real3 is removed from their service: new connections
# avoid it, and all 20 (those on real3 included: a removed real keeps its
# flows) go on echoing to the end.
hold_out=$LAB_RUN/hold.out
netns_start "$C" "$LAB_BUILD/tests/lab/xlb-lab-client" hold --target "$LAB_VIP4:80" --conns 20 \
  --interval-ms 100 --seconds 8 >"$hold_out"
hold_pid=$NETNS_LAST_PID
check "(4) 20 long-lived connections are up" netns_wait_for 10 "held connections" grep -qx ready "$hold_out"
check "(4) xlbctl real del removes real3" xlbctl real del "$LAB_VIP4:80" 203.0.113.13
out=$(lab_client connect --target "$LAB_VIP4:80" --count 30 2>&1 || true)
check "(4) 30 new connections pass" said_passed "$out" connect 30
check "(4) ... none of them on real3 ($(answered_by "$out"))" test "$(answered_by "$out")" = "real1 real2"
status_after() {  # a status line asked for now says all 20 alive
  kill -USR2 "$hold_pid" && grep -Eq '^status alive 20 failed 0 ' "$hold_out"
}
check "(4) after the removal the 20 are alive, the hold still running" \
  netns_wait_for 3 "status line" status_after
check "(4) the hold ends by itself after 8 s" netns_wait_for 15 "the hold's end" \
  grep -q '^hold: ' "$hold_out"
wait "$hold_pid" || true
netns_forget "$hold_pid"
check "(4) all 20 echoed to the end" said_passed "$(cat "$hold_out")" hold 20
spread=$(awk '$1 == "conn" {print $4}' "$hold_out" | sort -u | xargs)
check "(4) they were spread over the reals ($spread)" test "$(wc -w <<<"$spread")" -ge 2
check "(4) real3 held some of them, kept after its removal" grep -q '^conn .* server real3 ' "$hold_out"

# (5) Bad input: a tunnel key on a direct-routing service is refused,
# naming the key and its line.
cat >"$LAB_RUN/bad.yaml" <<YAML
interfaces: [eth0]
services:
  - name: web
    vip: $LAB_VIP4
    port: 80
    encap: gue
    reals:
      - {address: 203.0.113.11}
YAML
check "(5) --check-config refuses encap on a DR service, naming the key" \
  fails_with 1 "bad.yaml:6: services\[0\]\.encap: only for forward: tunnel" check_config "$LAB_RUN/bad.yaml"

lab_checks_done tunnel
