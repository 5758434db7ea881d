#!/usr/bin/env bash
# Throughput benchmark (DESIGN.md, "Measuring"): packets/s delivered through
# a director, in namespaces, for four forwarders on the same path:
#
#   generator (xlb-pktgen --engine xdp) g0 -- d0 director d1 -- eth0 real1 (sink)
#                                                        d2 -- eth0 real2 (sink)
#                                                        d3 -- eth0 real3 (sink)
#
#   floor   xlb_floor_redirect (bpf/baseline.bpf.c) on d0: redirects each frame
#           untouched out of d1..d3 in turn, nothing else;
#   dr      xlb, a direct-routing service (VIP 192.0.2.10:80), a new xlb each run;
#   nat     xlb, a NAT service (VIP 192.0.2.20:80 to the reals' 8080), the same;
#   kernel  no XDP forwarding: nftables DNAT (jhash over the reals) and the
#           kernel's IP forwarding; d0 carries pass.bpf.o only because a veth
#           delivers a peer's XDP_TX frames only to an XDP program (PLATFORM.md).
#
# The director reaches each real through a veth of its own, not a bridge: a
# bridge has no XDP, and frames redirected into one would reach the reals
# through the kernel's skb path, which would then be what is measured. The
# reals have static neighbour entries, so xlb and the kernel know their MACs.
#
# Each sink counts what arrives on its real (XDP, then drops it) over the
# same window; the figure of a run is the sum of the three sinks' packets/s.
# The generator sends as fast as it can from 65536 flows (--flows: 128
# source addresses times N/128 source ports), from before the
# window opens until after it closes. Variants are interleaved run by run
# (floor, dr, nat, kernel, floor, ...) so that a busy neighbour on this
# shared machine hits them alike; each figure is the median of its runs.
#
#   scripts/bench/throughput.sh BUILD_DIR [--json] [--runs N] [--seconds S] [--proto udp|tcp]
#                                         [--flows N] [--syn-flood-rate N (xlb's; 0: no limit)]
#
# Human table (with ratios) on stderr; with --json, stdout is one object:
#   {"floor_pps": F, "dr_pps": D, "nat_pps": N, "kernel_pps": K, "engine": "xdp"}
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
    ip -n "$D" link add "d$i" type veth peer name eth0 netns "${REALS[i - 1]}"
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
  mkdir -p "$LAB_PINS"
  mount -t bpf bpf "$LAB_PINS"
}

FLOOR_PID=
declare -A XLB_STATS  # xlb's counters at the end of the last dr and nat runs
forwarder_on() {  # forwarder_on floor|dr|nat|kernel
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
        lab_dp attach d0 d1 d2 d3 ${syn_flood_rate:+--syn-flood-rate "$syn_flood_rate"}
        lab_dp service add "$DR_VIP:80/$proto"
        lab_dp real set "$DR_VIP:80/$proto" 203.0.113.11 203.0.113.12 203.0.113.13
      } >&2
      ;;
    nat)
      {
        lab_dp attach d0 d1 d2 d3 ${syn_flood_rate:+--syn-flood-rate "$syn_flood_rate"}
        lab_dp service add "$NAT_VIP:80/$proto" --forward nat
        lab_dp real set "$NAT_VIP:80/$proto" 203.0.113.11:8080 203.0.113.12:8080 203.0.113.13:8080
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
    dr | nat)
      XLB_STATS[$1]=$(lab_dp stats)
      lab_dp detach d0 d1 d2 d3
      lab_dp unpin
      ;;
    kernel)
      ip netns exec "$D" nft delete table ip xlb_bench
      ip -n "$D" link set dev d0 xdpdrv off
      ;;
  esac
}

# measure VARIANT: sets MEASURED to the packets/s the three sinks counted
# together (not a subshell: the processes it starts stay this shell's).
MEASURED=
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
}

median() { tr ' ' '\n' | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
verdict() { awk -v r="$1" -v g="$2" 'BEGIN {print ((r >= g) ? "met" : "NOT met")}'; }

log "building the lab ($LAB_PREFIX): generator, director, three sinks"
build_lab
declare -A figures=([floor]="" [dr]="" [nat]="" [kernel]="")
variants=(floor dr nat kernel)
for ((run = 1; run <= runs; run++)); do
  for v in "${variants[@]}"; do
    measure "$v"
    figures[$v]+="$MEASURED "
    log "run $run/$runs: $v $MEASURED pps"
  done
done

# What xlb did not forward itself went up to the kernel, which may have
# forwarded it: then the figure would not be xlb's alone.
for v in dr nat; do
  not_forwarded=$(awk '$1 == "passed" || $1 == "no_route" || $1 == "dropped" {n += $2} END {print n + 0}' \
    <<<"${XLB_STATS[$v]}")
  ((not_forwarded == 0)) || log "warning: in the last $v run xlb did not forward $not_forwarded packets itself"
done

declare -A med
for v in "${variants[@]}"; do med[$v]=$(median <<<"${figures[$v]% }"); done
dr_floor=$(ratio "${med[dr]}" "${med[floor]}")
nat_floor=$(ratio "${med[nat]}" "${med[floor]}")
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
  printf '  %-24s %12s   %s\n' "kernel (nftables DNAT)" "${med[kernel]}" "${figures[kernel]}"
  echo "  dr/floor     $dr_floor  (goal >= 0.9: $(verdict "$dr_floor" 0.9))"
  echo "  nat/floor    $nat_floor  (goal >= 0.8: $(verdict "$nat_floor" 0.8))"
  echo "  dr/kernel    $dr_kernel  (goal >= 3: $(verdict "$dr_kernel" 3))"
  echo "  nat/kernel   $nat_kernel  (goal >= 3: $(verdict "$nat_kernel" 3))"
  echo "xlb's counters at the end of the last DR run:"
  grep -E '^(passed|dropped|no_route|conn_hit|conn_miss|redirect) ' <<<"${XLB_STATS[dr]}" | sed 's/^/  /'
  echo "and of the last NAT run:"
  grep -E '^(passed|dropped|no_route|conn_hit|conn_miss|redirect) ' <<<"${XLB_STATS[nat]}" | sed 's/^/  /'
} >&2
if ((json)); then
  printf '{"floor_pps": %d, "dr_pps": %d, "nat_pps": %d, "kernel_pps": %d, "engine": "xdp"}\n' \
    "${med[floor]}" "${med[dr]}" "${med[nat]}" "${med[kernel]}"
fi
