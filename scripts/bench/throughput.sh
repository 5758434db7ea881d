#!/usr/bin/env bash
# Throughput benchmark (DESIGN.md, "Measuring"): packets/s delivered through
# a director, in namespaces, for six forwarders on the same path:
#
#   generator (xlb-pktgen --engine xdp) g0 -- d0 director d1 -- eth0 real1 (sink)
#                                                        d2 -- eth0 real2 (sink)
#                                                        d3 -- eth0 real3 (sink)
#
#   floor   xlb_floor_redirect (bpf/baseline.bpf.c) on d0: redirects each frame
#           untouched out of d1..d3 in turn, nothing else;
#   dr      xlb, a direct-routing service (VIP 192.0.2.10:80), a new xlb each run;
#   nat     xlb, a NAT service (VIP 192.0.2.20:80 to the reals' 8080), the same;
#   tun     xlb, a tunnel service (forward tunnel, IPIP from 192.0.2.128/25) on
#           DR's VIP and reals: the same packets, each delivered 20 bytes longer;
#   gue     the same with encap gue (outer UDP to port 6080): 28 bytes longer;
#   kernel  no XDP forwarding: nftables DNAT (jhash over the reals) and the
#           kernel's IP forwarding; d0 carries pass.bpf.o only because a veth
#           delivers a peer's XDP_TX frames only to an XDP program (PLATFORM.md).
#
# The director reaches each real through a veth of its own, not a bridge: a
# bridge has no XDP, and frames redirected into one would reach the reals
# through the kernel's skb path, which would then be what is measured. The
# reals have static neighbour entries, so xlb and the kernel know their MACs.
# The director's links to the reals have MTU 1600 at both ends (for every
# variant: the same path), as a tunnel's links need room for the outer header
# (a veth drops a frame over its peer's MTU silently; docs/tunnel-design.md).
#
# Each sink counts what arrives on its real (XDP, then drops it) over the
# same window; the figure of a run is the sum of the three sinks' packets/s.
# The generator sends as fast as it can from 65536 flows (--flows: 128
# source addresses times N/128 source ports), from before the
# window opens until after it closes. Variants are interleaved run by run
# (floor, dr, nat, tun, gue, kernel, floor, ...) so that a busy neighbour on this
# shared machine hits them alike; each figure is the median of its runs.
#
# A tunnel figure counts encapsulated packets only: before the timed runs,
# frames of each tunnel variant are captured at a real (its sink passing them
# up to tcpdump) and must be the outer header xlb writes (IPIP, or UDP to
# 6080, from the source prefix to the real) around the generator's packet to
# the VIP; and in every run the frames the sinks counted must be exactly as
# long on average as DR's in the same run plus the variant's 20 or 28 bytes.
# A variant that forwarded plain DR frames fails both.
#
#   scripts/bench/throughput.sh BUILD_DIR [--json] [--runs N] [--seconds S] [--proto udp|tcp]
#                                         [--flows N] [--syn-flood-rate N (xlb's; 0: no limit)]
#
# Human table (with ratios) on stderr; with --json, stdout is one object:
#   {"floor_pps": F, "dr_pps": D, "nat_pps": N, "tun_pps": T, "gue_pps": G, "kernel_pps": K,
#    "dr_floor_ratio": D/F, "nat_floor_ratio": N/F, "tun_floor_ratio": T/F,
#    "gue_floor_ratio": G/F, "engine": "xdp"}
# Everything it makes is removed on exit, also on failure.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../lib/lab.sh"

usage() {
  echo "usage: throughput.sh BUILD_DIR [--json] [--runs 1..9] [--seconds 1..30] [--proto udp|tcp] [--flows N] [--syn-flood-rate N]" >&2
  exit 2
}

[[ $# -ge 1 && -d $1 ]] || usage
build_dir=$1
shift
json=0 runs=3 seconds=3 proto=udp flows=65536 syn_flood_rate=
while [[ $# -gt 0 ]]; do
  case "$1" in
    --json) json=1 ;;
    --runs) runs=${2:-}; shift ;;
    --seconds) seconds=${2:-}; shift ;;
    --proto) proto=${2:-}; shift ;;
    --flows) flows=${2:-}; shift ;;
    --syn-flood-rate) syn_flood_rate=${2:-}; shift ;;
    *) echo "throughput.sh: unknown option '$1'" >&2; usage ;;
  esac
  shift
done
[[ $runs =~ ^[1-9]$ ]] || { echo "throughput.sh: --runs '$runs': 1..9" >&2; exit 2; }
[[ $seconds =~ ^[0-9]+$ ]] && ((seconds >= 1 && seconds <= 30)) ||
  { echo "throughput.sh: --seconds '$seconds': 1..30" >&2; exit 2; }
[[ $proto == udp || $proto == tcp ]] || { echo "throughput.sh: --proto '$proto': udp or tcp" >&2; exit 2; }
[[ -z $syn_flood_rate || $syn_flood_rate =~ ^[0-9]+$ ]] ||
  { echo "throughput.sh: --syn-flood-rate '$syn_flood_rate': a number (0: no limit)" >&2; exit 2; }
[[ $flows =~ ^[0-9]+$ ]] && ((flows >= 128 && flows <= 1048576 && flows % 128 == 0)) ||
  { echo "throughput.sh: --flows '$flows': a multiple of 128, 128..1048576" >&2; exit 2; }

lab_init "$build_dir"
trap netns_down EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
PKTGEN=$LAB_BUILD/pktgen/xlb-pktgen
FLOOR=$LAB_BUILD/tests/bench/floor_forwarder
for f in "$PKTGEN" "$FLOOR" "$LAB_BUILD/dataplane/tool/xlb-dp" "$LAB_BUILD/bpf/pass.bpf.o"; do
  [[ -e $f ]] || { echo "throughput.sh: $f is missing (build it first)" >&2; exit 1; }
done
G=$C  # the generator's namespace
REALS=("$R1" "$R2" "$R3")
DR_VIP=192.0.2.10 NAT_VIP=192.0.2.20
TUN_SOURCE=192.0.2.128/25 GUE_PORT=6080  # the tunnel variants' outer source prefix; xlb's default GUE port
declare -A GROWTH=([tun]=20 [gue]=28)     # bytes the encapsulation adds (outer IPv4, + UDP)
# 128 source addresses, none of them the director's own (the kernel drops
# a packet from a local address), times flows/128 source ports.
SRC=198.51.100.128/25 SPORTS=1024-$((1024 + flows / 128 - 1))
WARMUP=1  # the sinks open their window after this; the generator runs on past it

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }


mac_of() { ip -n "$1" -br link show "$2" | awk '{print $3}'; }

build_lab() {
  local ns i
  for ns in "$G" "$D" "${REALS[@]}"; do
    netns_add "$ns"
    # No IPv6: no router solicitations or MLD reports reach a sink's counter.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
  ip -n "$G" link add g0 type veth peer name d0 netns "$D"
  for i in 1 2 3; do
    ip -n "$D" link add "d$i" mtu 1600 type veth peer name eth0 mtu 1600 netns "${REALS[i - 1]}"
  done
  ip -n "$G" link set g0 up
  ip -n "$D" link set d0 up
  ip -n "$G" addr add 198.51.100.2/24 dev g0
  ip -n "$D" addr add 198.51.100.1/24 dev d0
  for i in 1 2 3; do
    ip -n "${REALS[i - 1]}" link set eth0 up
    ip -n "${REALS[i - 1]}" addr add "203.0.113.1$i/24" dev eth0
    ip -n "$D" link set "d$i" up
    ip -n "$D" addr add 203.0.113.1/32 dev "d$i"
  done
  ip netns exec "$D" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
    net.ipv4.conf.d0.rp_filter=0
  # Routes and neighbours after the links are up (a link change flushes them).
  for i in 1 2 3; do
    ip -n "$D" route add "203.0.113.1$i/32" dev "d$i" src 203.0.113.1
    ip -n "$D" neigh replace "203.0.113.1$i" lladdr "$(mac_of "${REALS[i - 1]}" eth0)" dev "d$i" nud permanent
  done
  D0_MAC=$(mac_of "$D" d0)
  netns_mount_bpf "$LAB_PINS"  # unmounted by netns_down
}

FLOOR_PID=
# xlb_attach: loads xlb and attaches it to the director's four links; xlb-dp
# exits and the program stays, its maps pinned (the tunnel tail call's prog
# array too: a tunnel variant's delivery proves that pin works).
xlb_attach() {
  lab_dp attach d0 d1 d2 d3 ${syn_flood_rate:+--syn-flood-rate "$syn_flood_rate"}
}
declare -A XLB_STATS  # xlb's counters at the end of the last run of each xlb variant
forwarder_on() {  # forwarder_on floor|dr|nat|tun|gue|kernel
  case "$1" in
    floor)
      netns_start "$D" "$FLOOR" --in d0 --out d1,d2,d3 2>"$LAB_RUN/floor.err"
      FLOOR_PID=$NETNS_LAST_PID
      netns_wait_for 10 "the floor forwarder" grep -q ready "$LAB_RUN/floor.err"
      ;;
    # A new xlb for each run, with the one service the run measures: its
    # connection table holds that run's flows only, as on a director that
    # serves them (another service's entries would make it bigger, and its
    # lookups slower, than the run's own traffic does).
    dr)
      {
        xlb_attach
        lab_dp service add "$DR_VIP:80/$proto"
        lab_dp real set "$DR_VIP:80/$proto" 203.0.113.11 203.0.113.12 203.0.113.13
      } >&2
      ;;
    nat)
      {
        xlb_attach
        lab_dp service add "$NAT_VIP:80/$proto" --forward nat
        lab_dp real set "$NAT_VIP:80/$proto" 203.0.113.11:8080 203.0.113.12:8080 203.0.113.13:8080
      } >&2
      ;;
    # DR's VIP and reals, encapsulated: the same packets as dr's.
    tun | gue)
      {
        xlb_attach
        lab_dp service add "$DR_VIP:80/$proto" --forward tunnel --tunnel-source "$TUN_SOURCE" \
          $([[ $1 == gue ]] && echo --encap gue)
        lab_dp real set "$DR_VIP:80/$proto" 203.0.113.11 203.0.113.12 203.0.113.13
      } >&2
      ;;
    kernel)
      ip -n "$D" link set dev d0 xdpdrv obj "$LAB_BUILD/bpf/pass.bpf.o" sec xdp
      ip netns exec "$D" nft -f - <<EOF
table ip xlb_bench {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr $DR_VIP $proto dport 80 dnat to jhash ip saddr . $proto sport mod 3 map { 0 : 203.0.113.11, 1 : 203.0.113.12, 2 : 203.0.113.13 }
  }
}
EOF
      ;;
  esac
}

forwarder_off() {
  case "$1" in
    floor) netns_stop "$FLOOR_PID" ;;
    dr | nat | tun | gue)
      XLB_STATS[$1]=$(lab_dp stats)
      lab_dp detach d0 d1 d2 d3 >&2
      lab_dp unpin
      ;;
    kernel)
      ip netns exec "$D" nft delete table ip xlb_bench
      ip -n "$D" link set dev d0 xdpdrv off
      ;;
  esac
}

# measure VARIANT: sets MEASURED to the packets/s the three sinks counted
# together, and FRAME_BYTES to their frames' average length (not a subshell:
# the processes it starts stay this shell's).
MEASURED= FRAME_BYTES=
measure() {
  local variant=$1 vip=$DR_VIP i pids=() rc=0
  [[ $variant == nat ]] && vip=$NAT_VIP
  forwarder_on "$variant"
  for i in 1 2 3; do
    netns_start "${REALS[i - 1]}" "$PKTGEN" sink --interface eth0 --warmup "$WARMUP" \
      --duration "$seconds" --json >"$LAB_RUN/sink$i.json" 2>"$LAB_RUN/sink$i.err"
    pids+=("$NETNS_LAST_PID")
  done
  netns_wait_for 10 "the sinks" bash -c "grep -q ready '$LAB_RUN/sink1.err' &&
    grep -q ready '$LAB_RUN/sink2.err' && grep -q ready '$LAB_RUN/sink3.err'"
  netns_start "$G" "$PKTGEN" --interface g0 --dst "$vip:80/$proto" --src "$SRC" --sport "$SPORTS" \
    --dst-mac "$D0_MAC" --count 10000000000 --duration $((WARMUP + seconds + 5)) --json \
    >"$LAB_RUN/gen.json" 2>"$LAB_RUN/gen.err"
  local gen_pid=$NETNS_LAST_PID
  # The sinks end on their own after WARMUP + seconds; then the generator
  # is stopped (it would stop at its own bound too).
  for i in 0 1 2; do
    wait "${pids[i]}" || rc=$?
    netns_stop "${pids[i]}"
  done
  kill -TERM "$gen_pid" 2>/dev/null || true
  local gen_rc=0
  wait "$gen_pid" || gen_rc=$?
  netns_stop "$gen_pid"
  forwarder_off "$variant"
  if ((rc != 0 || gen_rc != 0)); then
    echo "throughput.sh: $variant run failed (sinks $rc, generator $gen_rc):" >&2
    cat "$LAB_RUN"/sink*.err "$LAB_RUN/gen.err" >&2
    exit 1
  fi
  MEASURED=$(jq -s 'map(.pps) | add | floor' "$LAB_RUN"/sink{1,2,3}.json)
  FRAME_BYTES=$(jq -s '[.[].interfaces[]] | (map(.bytes) | add) / ([map(.packets) | add, 1] | max)' \
    "$LAB_RUN"/sink{1,2,3}.json)
}

# check_encapsulated tun|gue: frames of the variant, captured at the first
# real (its sink passes them up, so tcpdump there sees them), are all the outer
# header xlb writes, from the source prefix to the real, around the
# generator's packet to the VIP's port 80 (offsets with 20-byte IP headers:
# xlb writes no options, the generator neither). Fails the benchmark if not.
check_encapsulated() {
  local variant=$1 inner filter vip_hex i pids=() dump_pid matched captured pcap=$LAB_RUN/$1.pcap
  vip_hex=$(printf '0x%02x%02x%02x%02x' ${DR_VIP//./ })
  case $variant in
    tun) inner=20 filter="ip proto 4" ;;
    gue) inner=28 filter="udp dst port $GUE_PORT" ;;
  esac
  filter+=" and src net $TUN_SOURCE and dst host 203.0.113.11"
  filter+=" and ip[$((inner + 16)):4] = $vip_hex and ip[$((inner + 22)):2] = 80"
  forwarder_on "$variant"
  for i in 1 2 3; do  # every real's veth needs an XDP program (PLATFORM.md)
    netns_start "${REALS[i - 1]}" "$PKTGEN" sink --interface eth0 --duration 30 \
      $( ((i == 1)) && echo --pass) >/dev/null 2>"$LAB_RUN/sink$i.err"
    pids+=("$NETNS_LAST_PID")
  done
  netns_start "$R1" tcpdump -i eth0 -Q in -n -U -c 100 -w "$pcap" 2>"$LAB_RUN/tcpdump.err"
  dump_pid=$NETNS_LAST_PID
  netns_wait_for 10 "the sinks and tcpdump" bash -c "grep -q ready '$LAB_RUN/sink1.err' &&
    grep -q ready '$LAB_RUN/sink2.err' && grep -q ready '$LAB_RUN/sink3.err' &&
    grep -q 'listening on' '$LAB_RUN/tcpdump.err'"
  ip netns exec "$G" "$PKTGEN" --interface g0 --dst "$DR_VIP:80/$proto" --src "$SRC" \
    --sport "$SPORTS" --dst-mac "$D0_MAC" --count 3000 --rate 100000 >/dev/null 2>"$LAB_RUN/gen.err"
  netns_wait_for 5 "frames at ${REALS[0]}" bash -c \
    "(( \$(tcpdump -r '$pcap' -n 2>/dev/null | wc -l) >= 5 ))" || true
  netns_stop "$dump_pid"
  for i in 0 1 2; do netns_stop "${pids[i]}"; done
  forwarder_off "$variant"
  matched=$(tcpdump -r "$pcap" -n "$filter" 2>/dev/null | wc -l)
  captured=$(tcpdump -r "$pcap" -n 2>/dev/null | wc -l)
  if ((captured < 5 || matched != captured)); then
    echo "throughput.sh: $variant: $matched of the $captured frames ${REALS[0]} received (want" \
      "5 or more, all) matched '$filter': not encapsulated as xlb does; they were, e.g.:" >&2
    tcpdump -r "$pcap" -n -c 3 -v 2>/dev/null | sed 's/^/  /' >&2
    echo "  xlb's counters:" >&2
    grep -Ev ' 0$' <<<"${XLB_STATS[$variant]}" | sed 's/^/  /' >&2
    cat "$LAB_RUN/gen.err" >&2
    exit 1
  fi
  log "$variant: the $captured frames captured at ${REALS[0]} are all encapsulated, e.g. $(tcpdump -r "$pcap" -n -c 1 "$filter" 2>/dev/null | cut -d' ' -f2-)"
}

median() { tr ' ' '\n' | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
verdict() { awk -v r="$1" -v g="$2" 'BEGIN {print ((r >= g) ? "met" : "NOT met")}'; }

log "building the lab ($LAB_PREFIX): generator, director, three sinks"
build_lab
variants=(floor dr nat tun gue kernel)
declare -A figures
for v in "${variants[@]}"; do figures[$v]=""; done
check_encapsulated tun
check_encapsulated gue
for ((run = 1; run <= runs; run++)); do
  for v in "${variants[@]}"; do
    measure "$v"
    figures[$v]+="$MEASURED "
    log "run $run/$runs: $v $MEASURED pps, $FRAME_BYTES bytes a frame"
    [[ $v == dr ]] && dr_frame=$FRAME_BYTES
    # Every frame a tunnel run counted is DR's (the same packet) grown by
    # the outer header: an unencapsulated one would pull the average down.
    if [[ -n ${GROWTH[$v]:-} ]] &&
      ! awk -v f="$FRAME_BYTES" -v d="$dr_frame" -v g="${GROWTH[$v]}" 'BEGIN {exit !(f == d + g)}'; then
      echo "throughput.sh: run $run: $v's frames average $FRAME_BYTES bytes, not DR's $dr_frame" \
        "+ ${GROWTH[$v]}: not every frame the sinks counted was encapsulated" >&2
      exit 1
    fi
  done
done

# What xlb did not forward itself went up to the kernel, which may have
# forwarded it: then the figure would not be xlb's alone.
for v in dr nat tun gue; do
  not_forwarded=$(awk '$1 == "passed" || $1 == "no_route" || $1 == "dropped" {n += $2} END {print n + 0}' \
    <<<"${XLB_STATS[$v]}")
  ((not_forwarded == 0)) || log "warning: in the last $v run xlb did not forward $not_forwarded packets itself"
done

declare -A med
for v in "${variants[@]}"; do med[$v]=$(median <<<"${figures[$v]% }"); done
declare -A to_floor
for v in dr nat tun gue; do to_floor[$v]=$(ratio "${med[$v]}" "${med[floor]}"); done
dr_kernel=$(ratio "${med[dr]}" "${med[kernel]}")
nat_kernel=$(ratio "${med[nat]}" "${med[kernel]}")
{
  label=$([[ $proto == udp ]] && echo "UDP" || echo "TCP SYN")
  echo
  echo "throughput: $label to a VIP from $flows flows, 60-byte frames, xlb-pktgen --engine xdp;"
  echo "packets/s delivered to three sinks, median of $runs runs of ${seconds} s (each run's figure after it)"
  printf '  %-24s %12s   %s\n' "path" "pps" "runs"
  printf '  %-24s %12s   %s\n' "floor (XDP redirect)" "${med[floor]}" "${figures[floor]}"
  printf '  %-24s %12s   %s\n' "xlb DR" "${med[dr]}" "${figures[dr]}"
  printf '  %-24s %12s   %s\n' "xlb NAT" "${med[nat]}" "${figures[nat]}"
  printf '  %-24s %12s   %s\n' "xlb tunnel IPIP" "${med[tun]}" "${figures[tun]}"
  printf '  %-24s %12s   %s\n' "xlb tunnel GUE" "${med[gue]}" "${figures[gue]}"
  printf '  %-24s %12s   %s\n' "kernel (nftables DNAT)" "${med[kernel]}" "${figures[kernel]}"
  echo "  dr/floor     ${to_floor[dr]}  (goal >= 0.9: $(verdict "${to_floor[dr]}" 0.9))"
  echo "  nat/floor    ${to_floor[nat]}  (goal >= 0.8: $(verdict "${to_floor[nat]}" 0.8))"
  echo "  tun/floor    ${to_floor[tun]}  (IPIP; tun/dr $(ratio "${med[tun]}" "${med[dr]}"))"
  echo "  gue/floor    ${to_floor[gue]}  (GUE; gue/dr $(ratio "${med[gue]}" "${med[dr]}"))"
  echo "  dr/kernel    $dr_kernel  (goal >= 3: $(verdict "$dr_kernel" 3))"
  echo "  nat/kernel   $nat_kernel  (goal >= 3: $(verdict "$nat_kernel" 3))"
  for v in dr nat tun gue; do
    echo "xlb's counters at the end of the last $v run:"
    grep -E '^(passed|dropped|no_route|conn_hit|conn_miss|redirect|tunnel_encap_failed) ' \
      <<<"${XLB_STATS[$v]}" | sed 's/^/  /'
  done
} >&2
if ((json)); then
  printf '{"floor_pps": %d, "dr_pps": %d, "nat_pps": %d, "tun_pps": %d, "gue_pps": %d, "kernel_pps": %d, ' \
    "${med[floor]}" "${med[dr]}" "${med[nat]}" "${med[tun]}" "${med[gue]}" "${med[kernel]}"
  printf '"dr_floor_ratio": %s, "nat_floor_ratio": %s, "tun_floor_ratio": %s, "gue_floor_ratio": %s, ' \
    "${to_floor[dr]}" "${to_floor[nat]}" "${to_floor[tun]}" "${to_floor[gue]}"
  printf '"engine": "xdp"}\n'
fi
