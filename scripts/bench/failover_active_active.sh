#!/usr/bin/env bash
# Three directors active-active (scripts/lib/directors_lab.sh): xlbd on each
# in direct-routing mode, six VIPs with VRRP sections made by
# `xlbctl vrrp plan` (each director master of two), the same six services
# and three reals everywhere. A client keeps 60 long-lived TCP connections
# (10 per VIP) exchanging a line every 50 ms. Then:
#   1. SIGKILL director 1 and take its link down (it masters two VIPs);
#      count the connections that survived, the longest gap in any stream,
#      and the time until every VIP answered a new connection again;
#   2. bring director 1 back (link up, xlbd started again: it preempts its
#      two VIPs) and count again;
#   3. unless --flood-seconds 0: with adverts every 20 ms, xlb-pktgen floods
#      one VIP for --flood-seconds at the highest rate it reaches while the
#      60 connections run: VRRP state changes anywhere are counted (goal 0),
#      and the connections must survive that too.
# Connections survive a director because every director builds the same
# Maglev table from the same reals: a flow whose VIP moves reaches the same
# real without shared state.
#
# usage: failover_active_active.sh BUILD_DIR [--json] [--advert MS] [--flood-seconds S]
#                                   [--flood-rate PPS]   (default 0: as fast as it goes)
#                                   [--realtime-priority N]   (xlbd's own flag; its default
#                                                              unless given, 0: none)
# Prints one JSON object (with --json, alone on stdout):
#   {"connections": 60, "survived": N, "max_gap_ms": G, "all_vips_back_ms": T,
#    "survived_after_return": N, "flood_state_changes": N, ...}
# Exit status 0 iff every connection survived every phase (the lab test
# tests/lab/active_active_test.sh relies on it).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../lib/directors_lab.sh"
source "$here/../lib/active_active.sh"

build=${1:?usage: failover_active_active.sh BUILD_DIR [--json] [--advert MS] [--flood-seconds S]}
shift
json=0 advert=100 flood_seconds=60 flood_rate=0 realtime=
while (($#)); do
  case "$1" in
    --json) json=1 ;;
    --advert) advert=${2:?--advert needs milliseconds}; shift ;;
    --flood-seconds) flood_seconds=${2:?--flood-seconds needs a number}; shift ;;
    --flood-rate) flood_rate=${2:?--flood-rate needs packets per second}; shift ;;
    --realtime-priority) realtime=${2:?--realtime-priority needs 1..99}; shift ;;
    *) echo "failover_active_active.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done
[[ $advert =~ ^[0-9]+$ ]] && ((advert >= 10 && advert <= 1000 && advert % 10 == 0)) ||
  { echo "failover_active_active.sh: --advert is 10..1000 ms in steps of 10, not '$advert'" >&2; exit 2; }
[[ $flood_seconds =~ ^[0-9]+$ ]] && ((flood_seconds <= 600)) ||
  { echo "failover_active_active.sh: --flood-seconds is 0..600, not '$flood_seconds'" >&2; exit 2; }
[[ $flood_rate =~ ^[0-9]+$ ]] && ((flood_rate <= 100000000)) ||
  { echo "failover_active_active.sh: --flood-rate is 0..100000000 packets/s (0: as fast as it goes), not '$flood_rate'" >&2; exit 2; }
# xlbd's own default unless given (0: the VRRP thread on the normal scheduler).
if [[ -n $realtime ]]; then
  [[ $realtime =~ ^[0-9]+$ ]] && ((realtime <= 99)) ||
    { echo "failover_active_active.sh: --realtime-priority is 0..99, not '$realtime'" >&2; exit 2; }
  AA_XLBD_FLAGS=(--realtime-priority "$realtime")
fi

say() { dl_log "$@" >&2; }
dl_init "$build" 3
trap netns_down EXIT
trap 'exit 1' INT TERM
dl_up "$AA_VIPS" >&2

# --- 1 and 2: a director dies and comes back ------------------------------------
say "three directors, six VIPs, adverts every ${advert} ms"
aa_plan_and_start "$advert" >&2
netns_wait_for 10 "every VIP on its planned master" aa_masters_as_planned
sed 's/^/  /' "$DL_RUN/plan.txt" | head -8 >&2
aa_start_holds
say "60 connections established (10 per VIP)"
netns_wait_for 5 "every connection exchanging" aa_all_alive_fresh
say "SIGKILL director 1 (master of $(dl_vip 1) and $(dl_vip 4)) and its link down"
t0=$(date +%s%N)
dl_kill_director 1
netns_wait_for 10 "every VIP answering again" aa_all_vips_answer || true
t1=$(date +%s%N)
all_back_ms=$(((t1 - t0) / 1000000))
say "every VIP answers new connections again after $all_back_ms ms"
read -r survived gap1 < <(aa_hold_status)
say "after the failure: $survived of 60 connections alive, longest gap ${gap1} ms"

say "director 1 comes back (link up, xlbd started again: it preempts its VIPs)"
ip -n "${DL_D[1]}" link set eth0 up
aa_start_director 1 >&2
netns_wait_for 15 "every VIP back on its planned master" aa_masters_as_planned
read -r survived_return gap2 < <(aa_hold_status)
say "after the return: $survived_return of 60 connections alive, longest gap ${gap2} ms"

# --- 3: a flood must not cause a failover -----------------------------------------
flood_changes=null flood_timers_late=null flood_survived=null flood_pps=null flood_director_pps=null flood_backlog_drops=null flood_ring_drops=null
# Director 1's receive ring full: adverts to it are lost there too.
backlog_drops() { dl_backlog_drops; }
ring_drops() { dl_port_stat 1 dropped; }
director_packets() { dl_port_stat 1 packets; }
if ((flood_seconds > 0)); then
  aa_stop_holds
  for i in 1 2 3; do kill -TERM "${DL_XLBD[$i]}"; wait "${DL_XLBD[$i]}" 2>/dev/null || true; done
  say "adverts every 20 ms; xlb-pktgen floods $(dl_vip 1) for $flood_seconds s"
  aa_plan_and_start 20 >&2
  netns_wait_for 10 "every VIP on its planned master" aa_masters_as_planned
  aa_start_holds
  netns_wait_for 5 "every connection exchanging" aa_all_alive_fresh
  declare -A changes_before
  for i in 1 2 3; do changes_before[$i]=$(aa_state_changes "$i"); done
  late_before=$(aa_vrrp_sum timers_late 1 2 3)
  seen_before=$(director_packets)
  drops_before=$(backlog_drops)
  ring_before=$(ring_drops)
  mac=$(ip netns exec "${DL_D[1]}" cat /sys/class/net/eth0/address)
  # SYNs from 256 x 64512 source addresses and ports: every one a new flow
  # for the director's connection table and Maglev.
  ip netns exec "$DL_C" "$DL_BUILD/pktgen/xlb-pktgen" --engine xdp --interface eth0 \
    --dst-mac "$mac" --dst "$(dl_vip 1):80/tcp" --src 203.0.113.0/24 --sport 1024-65535 \
    --count 10000000000 --duration "$flood_seconds" --rate "$flood_rate" --json >"$DL_RUN/pktgen.json" \
    2>"$DL_RUN/pktgen.err" || {
    say "xlb-pktgen failed: $(tail -3 "$DL_RUN/pktgen.err")"
  }
  flood_changes=0 per_director=""
  for i in 1 2 3; do
    n=$(($(aa_state_changes "$i") - changes_before[$i]))
    flood_changes=$((flood_changes + n)) per_director+=" d$i=$n"
  done
  # Timers that fired an advert interval late: VRRP threads short of CPU.
  flood_timers_late=$(($(aa_vrrp_sum timers_late 1 2 3) - late_before))
  if ((flood_changes > 0)); then
    for i in 1 2 3; do
      say "director $i: state changes during the flood (last 4):"
      grep -h ' -> ' "$DL_RUN/d$i/xlbd.log" | tail -4 | sed 's/^/    /' >&2
    done
  fi
  # What reached director 1's XDP program, per second of flood.
  flood_director_pps=$((($(director_packets) - seen_before) / flood_seconds))
  flood_backlog_drops=$(($(backlog_drops) - drops_before))
  flood_ring_drops=$(($(ring_drops) - ring_before))
  flood_pps=$(jq -r '.pps // "null" | if type == "number" then floor else . end' "$DL_RUN/pktgen.json" 2>/dev/null || echo null)
  read -r flood_survived gap3 < <(aa_hold_status)
  say "flood: ${flood_pps} packets/s sent, ${flood_director_pps} packets/s reached director 1, $flood_backlog_drops packets dropped by full CPU backlogs, $flood_ring_drops at director 1's full receive ring, $flood_changes VRRP state changes (${per_director# }; $flood_timers_late timers late), $flood_survived of 60 connections alive (longest gap ${gap3} ms)"
fi
aa_stop_holds

result=$(printf '{"connections": %d, "survived": %d, "max_gap_ms": %d, "all_vips_back_ms": %d, "survived_after_return": %d, "max_gap_after_return_ms": %d, "advert_ms": %d, "flood_seconds": %d, "flood_pps": %s, "flood_director_pps": %s, "flood_backlog_drops": %s, "flood_ring_drops": %s, "flood_state_changes": %s, "flood_timers_late": %s, "survived_flood": %s}' \
  $((AA_VIPS * AA_CONNS_PER_VIP)) "$survived" "$gap1" "$all_back_ms" "$survived_return" "$gap2" "$advert" \
  "$flood_seconds" "$flood_pps" "$flood_director_pps" "$flood_backlog_drops" "$flood_ring_drops" "$flood_changes" \
  "$flood_timers_late" "$flood_survived")
if ((json)); then echo "$result"; else jq . <<<"$result"; fi
total=$((AA_VIPS * AA_CONNS_PER_VIP))
[[ $survived == "$total" && $survived_return == "$total" ]] &&
  [[ $flood_survived == null || $flood_survived == "$total" ]] &&
  [[ $flood_changes == null || $flood_changes == 0 ]]
