#!/usr/bin/env bash
# Flow-state sync between directors (issue #16): what survives a director's
# death and what sync costs. Each part in a lab of its own (removed before
# the next one starts):
#   1. NAT with VRRP: 60 long-lived NAT connections through director 1,
#      kill -9 of director 1 (scripts/lib/sync_scenario.sh, sync_sc_run nat):
#      survivors on director 2; and the same without sync, for comparison;
#   2. DR with VRRP: 60 connections, a real added on both directors 1 s
#      before director 1 dies (sync_sc_run dr): survivors; without sync too;
#   3. ECMP: a fourth director joins while a real is drained on every
#      director (scripts/lib/ecmp_scenario.sh, ecmp_sc_sync_join_drain) when
#      that scenario exists (else null);
#   4. cost: two directors with sync; `xlb-dp synload` drives 100 000 new
#      TCP flows/s for 3 s into director 1's XDP program (a BPF_PROG_TEST_RUN
#      per SYN, not over the veths, which a 2-core VM cannot fill at that
#      rate); the CPU of each xlbd over the window (utime + stime of
#      /proc/PID/stat, % of one core: director 1 sends, director 2
#      receives), director 2's lag p50/p99 (`xlbctl sync`: a record's age
#      when sent, in ms of a coarse clock, over its last 4096 records) and
#      the flows/s it received. The CPU is counted from the load's start
#      until director 2 has the last record, per second of load;
#      cpu_pct_at_100k is the larger of the two, scaled to 100 000 flows/s
#      when the generator made fewer (a busy machine), idle cost included.
#
# usage: sync.sh BUILD_DIR [--json] [--quick] [--rate N] [--seconds S]
#   --quick  no without-sync runs, 2 s of load (the lab test's)
# Prints one JSON object (with --json, alone on stdout):
#   {"nat_connections": 60, "nat_survived": N, "dr_real_change_survived": N,
#    "ecmp_join_drain_survived": N|null, "lag_p50_ms": L, "lag_p99_ms": L,
#    "cpu_pct_at_100k": C, "nat_survived_without_sync": N|null, ...,
#    "sender_cpu_pct": C, "receiver_cpu_pct": C, "flows_per_s": R, ...}
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lib=$here/../lib

build=${1:?usage: sync.sh BUILD_DIR [--json] [--quick] [--rate N] [--seconds S]}
build=$(cd "$build" && pwd)
shift
json=0 quick=0 rate=100000 seconds=3
number() { [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "sync.sh: $1 wants a positive number, not '$2'" >&2; exit 2; }; }
while (($#)); do
  case "$1" in
    --json) json=1 ;;
    --quick) quick=1 seconds=2 ;;
    --rate) number "$1" "${2:-}"; rate=$2; shift ;;
    --seconds) number "$1" "${2:-}"; seconds=$2; shift ;;
    *) echo "sync.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done
say() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*" >&2; }
trap 'exit 1' INT TERM

# vrrp_survivors MODE SYNC: the survivors of sync_sc_run MODE, on stdout;
# the lab's own output goes to stderr. A subshell: its lab is down when it returns.
vrrp_survivors() (
  set -e
  source "$lib/sync_scenario.sh"
  sync_sc_init "$build" "$1" "$2"
  trap 'aa_stop_holds >&2; netns_down >&2' EXIT
  {
    sync_sc_up
    sync_sc_run
  } >&2
  echo "$SYNC_SC_SURVIVED"
)

# ecmp_survivors: ECMP_JOIN_DRAIN_SURVIVED of ecmp_sc_sync_join_drain, or
# "null" when scripts/lib/ecmp_scenario.sh has no such scenario yet.
ecmp_survivors() (
  set -e
  source "$lib/ecmp_scenario.sh"
  if ! declare -F ecmp_sc_sync_join_drain >/dev/null; then
    echo "sync.sh: scripts/lib/ecmp_scenario.sh has no ecmp_sc_sync_join_drain: ecmp_join_drain_survived is null" >&2
    echo null
    return
  fi
  trap 'netns_down >&2' EXIT
  ecmp_sc_sync_join_drain "$build" >&2
  echo "${ECMP_JOIN_DRAIN_SURVIVED:-null}"
)

# cpu_ticks PID: the process's user + system time so far, in clock ticks.
cpu_ticks() {
  local stat
  stat=$(</proc/"$1"/stat)
  # Fields after the command name (which may hold spaces): state is 3rd,
  # utime the 14th, stime the 15th of the whole line.
  awk '{print $12 + $13}' <<<"${stat##*) }"
}

# cost: prints "SENDER_PCT RECEIVER_PCT LAG_P50 LAG_P99 FLOWS_PER_S SENT".
cost() (
  set -e
  source "$lib/sync_scenario.sh"
  sync_sc_init "$build" dr 1
  trap 'netns_down >&2' EXIT
  sync_sc_up >&2
  local p1=${DL_XLBD[1]} p2=${DL_XLBD[2]} hz a0 a1 b0 b1 r0 received last n gen sync2 idle i1 i2
  hz=$(getconf CLK_TCK)
  records() { dl_xlbctl 2 --json sync | jq '[.peers[].records_received] | add // 0'; }
  # Idle first: what each xlbd costs with nothing to send (2 s).
  a0=$(cpu_ticks "$p1") b0=$(cpu_ticks "$p2")
  sleep 2
  a1=$(cpu_ticks "$p1") b1=$(cpu_ticks "$p2")
  idle="$((a1 - a0)) $((b1 - b0))"
  r0=$(records)
  a0=$(cpu_ticks "$p1") b0=$(cpu_ticks "$p2")
  gen=$(ip netns exec "${DL_D[1]}" "$build/dataplane/tool/xlb-dp" synload eth0 "$(dl_vip 1):80" \
    --rate "$rate" --seconds "$seconds")
  say "generator: $gen"
  # Until director 2 has the last records (its count holds still for
  # 200 ms; at most 10 s after the load).
  last=-1
  for ((n = 0; n < 50; n++)); do
    received=$(records)
    ((received == last)) && break
    last=$received
    sleep 0.2
  done
  a1=$(cpu_ticks "$p1") b1=$(cpu_ticks "$p2")
  sync2=$(dl_xlbctl 2 --json sync)
  say "director 2: $(jq -c '{records: [.peers[].records_received], datagrams_lost: [.peers[].gaps], applied, dropped}' <<<"$sync2")"
  # What director 1 could not send (its ring full, a send refused).
  say "director 1: $(dl_xlbctl 1 --json sync | jq -c '.dropped | with_entries(select(.value > 0))')"
  # The CPU time spent from the load's start until the last record was
  # applied (the generator's frame building and the drain included), per
  # second of load: what sending and receiving that many flows a second costs.
  read -r i1 i2 <<<"$idle"
  jq -n --argjson gen "$gen" --argjson sync "$sync2" --argjson hz "$hz" \
    --argjson ticks1 "$((a1 - a0))" --argjson ticks2 "$((b1 - b0))" \
    --argjson idle1 "$i1" --argjson idle2 "$i2" --argjson got "$((received - r0))" \
    '{sender: ($ticks1 * 100 / $hz / $gen.seconds), receiver: ($ticks2 * 100 / $hz / $gen.seconds),
      sender_idle: ($idle1 * 100 / $hz / 2), receiver_idle: ($idle2 * 100 / $hz / 2),
      p50: $sync.peers[0].lag_p50_ms, p99: $sync.peers[0].lag_p99_ms,
      flows_per_s: ($got / $gen.seconds), received: $got, sent: $gen.sent}'
)

nat_conns=60
say "(1) NAT with VRRP: $nat_conns connections, kill -9 of the master"
nat=$(vrrp_survivors nat 1)
say "    with sync: $nat of $nat_conns survived"
nat_off=null dr_off=null
if ((!quick)); then
  nat_off=$(vrrp_survivors nat 0)
  say "    without sync: $nat_off of $nat_conns"
fi
say "(2) DR with VRRP: a real added on both directors 1 s before the master dies"
dr=$(vrrp_survivors dr 1)
say "    with sync: $dr of $nat_conns survived"
if ((!quick)); then
  dr_off=$(vrrp_survivors dr 0)
  say "    without sync: $dr_off of $nat_conns"
fi
say "(3) ECMP: a fourth director joins while a real is drained on every director"
ecmp=$(ecmp_survivors)
say "    survived: $ecmp"
say "(4) cost: $rate new flows/s for $seconds s into director 1's XDP program (BPF_PROG_TEST_RUN)"
c=$(cost)
r1() { jq "$1 * 10 | round / 10" <<<"$c"; }
say "    xlbd CPU, % of one core, per second of load: sender (director 1) $(r1 .sender), receiver (director 2) $(r1 .receiver) (goal: 10 each); idle: $(r1 .sender_idle), $(r1 .receiver_idle)"
say "    director 2 received $(jq .received <<<"$c") of $(jq .sent <<<"$c") flows ($(jq '.flows_per_s | round' <<<"$c")/s); cpu_pct_at_100k: the larger, times 100000 / that rate"
say "    lag (age of a record when sent, ms, last 4096 records): p50 $(jq .p50 <<<"$c"), p99 $(jq .p99 <<<"$c")"

result=$(jq -n --argjson nat "$nat" --argjson dr "$dr" --argjson ecmp "$ecmp" \
  --argjson nat_off "$nat_off" --argjson dr_off "$dr_off" --argjson c "$c" --argjson conns "$nat_conns" \
  '{nat_connections: $conns, nat_survived: $nat, dr_real_change_survived: $dr,
    ecmp_join_drain_survived: $ecmp, lag_p50_ms: $c.p50, lag_p99_ms: $c.p99,
    cpu_pct_at_100k: ([$c.sender, $c.receiver] | max * 100000 / $c.flows_per_s * 10 | round / 10),
    nat_survived_without_sync: $nat_off, dr_real_change_survived_without_sync: $dr_off,
    cpu_pct_measured: ([$c.sender, $c.receiver] | max * 10 | round / 10),
    sender_cpu_pct: ($c.sender * 10 | round / 10), receiver_cpu_pct: ($c.receiver * 10 | round / 10),
    sender_idle_cpu_pct: ($c.sender_idle * 10 | round / 10),
    receiver_idle_cpu_pct: ($c.receiver_idle * 10 | round / 10),
    flows_per_s: ($c.flows_per_s | round), flows_sent: $c.sent, flows_received: $c.received}')
if ((json)); then echo "$result"; else jq . <<<"$result"; fi
