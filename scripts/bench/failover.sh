#!/usr/bin/env bash
# VRRP failover, xlbd beside keepalived in the same run and the same roles:
# two directors (scripts/lib/directors_lab.sh), VRRPv3, one VIP with a DR
# service to three reals; director 1 master (priority 200), director 2
# backup (100). Per advert interval (20 ms and 100 ms by default), the
# median over --trials of:
#   kill_vip_ms      SIGKILL of the master (and its link taken down, so its
#                    XDP program stops forwarding too) -> the backup holds
#                    the VIP (the kernel's address event, `ip monitor`);
#   kill_tcp_ms      -> the first new TCP connection through the VIP that
#                    succeeds (a client starts one every 5 ms, each with a
#                    200 ms deadline; only those started after the kill count);
#   graceful_vip_ms, graceful_tcp_ms: the same from SIGTERM (xlbd runs with
#                    --detach-on-exit: a director leaving for maintenance);
#   keepalived_kill_vip_ms, keepalived_graceful_vip_ms: keepalived (the
#                    Debian package) in the same roles, VIP only.
# The RFC's bounds, for reading the figures: Master_Down_Interval = 3 x
# advert + skew (skew = (256 - 100) / 256 x advert), and a backup that
# hears priority 0 waits skew only.
#
# usage: scripts/bench/failover.sh BUILD_DIR [--json] [--trials N] [--adverts MS,MS]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../lib/directors_lab.sh"

build=${1:?usage: failover.sh BUILD_DIR [--json] [--trials N] [--adverts MS,MS]}
shift
json=0 trials=5 adverts=20,100
while (($#)); do
  case "$1" in
    --json) json=1 ;;
    --trials) trials=${2:?--trials needs a number}; shift ;;
    --adverts) adverts=${2:?--adverts needs MS,MS}; shift ;;
    *) echo "failover.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done
[[ $trials =~ ^[0-9]+$ ]] && ((trials >= 1 && trials <= 50)) ||
  { echo "failover.sh: --trials wants 1..50, not '$trials'" >&2; exit 2; }
IFS=, read -r -a advert_list <<<"$adverts"
for a in "${advert_list[@]}"; do
  [[ $a =~ ^[0-9]+$ ]] && ((a >= 10 && a <= 1000 && a % 10 == 0)) ||
    { echo "failover.sh: an advert interval is 10..1000 ms in steps of 10, not '$a'" >&2; exit 2; }
done
command -v keepalived >/dev/null || { echo "failover.sh: keepalived is not installed (scripts/setup.sh)" >&2; exit 1; }

say() { echo "$@" >&2; }
dl_init "$build" 2
trap netns_down EXIT
trap 'exit 1' INT TERM
dl_up 1 >&2
VIP=$(dl_vip 1)
MONITOR_PROBE=198.51.100.250  # added and removed on director 2 to see `ip monitor` listening
SERVICES=$(dl_services_yaml 1)

now_ns() { date +%s%N; }
# The wall-clock ns of the first `ip monitor` line adding VIP.
vip_added_ns() {  # vip_added_ns MONITOR_FILE
  local stamp
  stamp=$(grep -m1 "inet $VIP/" "$1" | sed -E 's/^\[([^]]+)\].*/\1/') || return 1
  [[ -n $stamp ]] && date -d "$stamp" +%s%N
}
# The wall-clock ns at which the first exchange started after T1 succeeded.
first_tcp_ns() {  # first_tcp_ns PROBE_FILE T1
  awk -v t1="$2" '$1 == "ok" && $2 > t1 { if (best == "" || $3 < best) best = $3 } END { if (best != "") print best }' "$1"
}
ms() { echo $((($1 - $2) / 1000000)); }
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "null"; else if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# Adds the throwaway address again (an event the monitor may have missed
# while starting) and looks for it in the monitor's output.
monitor_sees_probe() {  # monitor_sees_probe MONITOR_FILE
  ip -n "${DL_D[2]}" addr del "$MONITOR_PROBE/32" dev eth0 2>/dev/null || true
  ip -n "${DL_D[2]}" addr add "$MONITOR_PROBE/32" dev eth0
  grep -q "inet $MONITOR_PROBE/" "$1"
}

restore_links() {
  local i
  for i in 1 2; do ip -n "${DL_D[i]}" link set eth0 up; done
}

# --- xlbd ---------------------------------------------------------------------
xlbd_config() {  # PRIORITY ADVERT_MS
  echo "$SERVICES"
  echo "vrrp:"
  echo "  - {name: vip1, interface: eth0, vrid: 51, priority: $1, advert_interval: ${2}ms, addresses: [$VIP/24]}"
}
xlbd_state_is() { dl_xlbctl "$1" --json vrrp | jq -e --arg s "$2" '.[0].state == $s' >/dev/null; }
xlbd_hears() { dl_xlbctl 2 --json vrrp | jq -e --arg m "$(dl_director_addr 1)" '.[0].master == $m' >/dev/null; }

xlbd_pair_up() {  # ADVERT_MS
  dl_start_xlbd 1 "$(xlbd_config 200 "$1")" --detach-on-exit
  netns_wait_for 10 "director 1 master" xlbd_state_is 1 MASTER
  dl_start_xlbd 2 "$(xlbd_config 100 "$1")" --detach-on-exit
  netns_wait_for 10 "director 2 backup of director 1" xlbd_hears
  # The service must answer through director 1 before we break it.
  netns_wait_for 10 "TCP through the VIP" \
    ip netns exec "$DL_C" "$DL_BUILD/tests/lab/xlb-lab-client" connect --target "$VIP:80" --count 3 --timeout-ms 500
}

# --- keepalived ------------------------------------------------------------------
declare -A KA_PID
ka_start() {  # ka_start I PRIORITY ADVERT_MS
  local dir=$DL_RUN/ka$1 advert
  mkdir -p "$dir"
  # A killed keepalived's children can linger as zombies here (nobody reaps
  # them), and keepalived would take their old pid files for a running
  # daemon.
  rm -f "$dir"/*.pid
  advert=$(awk -v ms="$3" 'BEGIN { printf "%.2f", ms / 1000 }')
  cat >"$dir/keepalived.conf" <<EOF
global_defs {
  router_id ${DL_PREFIX}-$1
  enable_script_security
}
vrrp_instance vip1 {
  state BACKUP
  version 3
  interface eth0
  virtual_router_id 51
  priority $2
  advert_int $advert
  virtual_ipaddress {
    $VIP/24
  }
}
EOF
  netns_start "${DL_D[$1]}" keepalived -n -l -D -f "$dir/keepalived.conf" -p "$dir/k.pid" \
    -r "$dir/vrrp.pid" -c "$dir/chk.pid"
  KA_PID[$1]=$NETNS_LAST_PID
}
ka_pair_up() {  # ADVERT_MS
  ka_start 1 200 "$1" >"$DL_RUN/ka1.log" 2>&1
  netns_wait_for 10 "keepalived 1 master" dl_has_addr 1 "$VIP" || { tail -20 "$DL_RUN/ka1.log"; return 1; }
  ka_start 2 100 "$1" >"$DL_RUN/ka2.log" 2>&1
  # Its VRRP child running as backup, before the master is broken.
  netns_wait_for 5 "keepalived 2 backup" grep -q 'Entering BACKUP STATE' "$DL_RUN/ka2.log"
  netns_wait_for 5 "keepalived 2 not holding the VIP" bash -c "! ip -n '${DL_D[2]}' -o addr show dev eth0 | grep -q ' $VIP/'"
}

stop_pid() { kill -9 "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# run_trial KIND(xlbd|keepalived) HOW(kill|graceful) ADVERT_MS -> "VIP_MS TCP_MS"
run_trial() {
  local kind=$1 how=$2 advert=$3 mon=$DL_RUN/monitor.out probe=$DL_RUN/probe.out
  local mon_pid probe_pid master_pid t0 t1 vip_ns tcp_ns
  restore_links
  if [[ $kind == xlbd ]]; then xlbd_pair_up "$advert" >&2; master_pid=${DL_XLBD[1]}
  else ka_pair_up "$advert" >&2; master_pid=${KA_PID[1]}; fi
  : >"$mon"
  ip -n "${DL_D[2]}" -tshort monitor address dev eth0 >"$mon" 2>/dev/null &
  mon_pid=$!
  netns_own "$mon_pid"
  : >"$probe"
  if [[ $kind == xlbd ]]; then
    netns_start "$DL_C" "$DL_BUILD/tests/lab/xlb-lab-client" connect --target "$VIP:80" --count 500 \
      --parallel 64 --pace-ms 5 --timeout-ms 200 --timestamps >"$probe" 2>/dev/null
    probe_pid=$NETNS_LAST_PID
  fi
  # The monitor listens (it reports a throwaway address), and the prober
  # sees the VIP answer, before the master is broken.
  netns_wait_for 5 "ip monitor listening" monitor_sees_probe "$mon"
  ip -n "${DL_D[2]}" addr del "$MONITOR_PROBE/32" dev eth0
  if [[ $kind == xlbd ]]; then netns_wait_for 5 "the prober's first answer" grep -q '^ok ' "$probe"; fi
  t0=$(now_ns)
  if [[ $how == kill ]]; then
    # keepalived's VRRP work is done by a child, which would resign (send
    # priority 0) when its parent dies: kill it first, by the PID it wrote.
    [[ $kind == keepalived ]] && kill -9 "$(cat "$DL_RUN/ka1/vrrp.pid")" 2>/dev/null
    kill -9 "$master_pid"
    ip -n "${DL_D[1]}" link set eth0 down
  else
    kill -TERM "$master_pid"
  fi
  # Only exchanges started once the master is gone count for TCP (one
  # started a moment before the link went down may still complete).
  t1=$(now_ns)
  wait "$master_pid" 2>/dev/null || true
  netns_wait_for 10 "director 2 holding the VIP" dl_has_addr 2 "$VIP" || true
  if [[ $kind == xlbd ]]; then
    wait "$probe_pid" 2>/dev/null || true
  fi
  netns_wait_for 2 "the monitor's report of the VIP" grep -q "inet $VIP/" "$mon" || true
  kill "$mon_pid" 2>/dev/null || true
  wait "$mon_pid" 2>/dev/null || true
  vip_ns=$(vip_added_ns "$mon" || true)
  tcp_ns=$([[ $kind == xlbd ]] && first_tcp_ns "$probe" "$t1" || true)
  # Tear the pair down for the next trial.
  if [[ $kind == xlbd ]]; then stop_pid "${DL_XLBD[2]}"; stop_pid "${DL_XLBD[1]}"
  else stop_pid "${KA_PID[2]}"; stop_pid "${KA_PID[1]}"; fi
  # A killed keepalived or xlbd leaves its VIP behind (the next xlbd removes
  # its own; keepalived's we remove here).
  ip -n "${DL_D[1]}" addr del "$VIP/24" dev eth0 2>/dev/null || true
  ip -n "${DL_D[2]}" addr del "$VIP/24" dev eth0 2>/dev/null || true
  echo "${vip_ns:+$(ms "$vip_ns" "$t0")} ${tcp_ns:+$(ms "$tcp_ns" "$t0")}"
}

runs=()
for advert in "${advert_list[@]}"; do
  declare -A samples=()
  for kind in xlbd keepalived; do
    for how in kill graceful; do
      for ((t = 1; t <= trials; t++)); do
        read -r vip_ms tcp_ms < <(run_trial "$kind" "$how" "$advert")
        say "advert ${advert}ms $kind $how trial $t: vip ${vip_ms:-none} ms${tcp_ms:+, tcp $tcp_ms ms}"
        samples[$kind.$how.vip]+=" ${vip_ms:-}"
        samples[$kind.$how.tcp]+=" ${tcp_ms:-}"
      done
    done
  done
  skew=$(((256 - 100) * advert / 10 / 256 * 10))
  run=$(printf '{"advert_ms": %d, "kill_vip_ms": %s, "kill_tcp_ms": %s, "graceful_vip_ms": %s, "graceful_tcp_ms": %s, "keepalived_kill_vip_ms": %s, "keepalived_graceful_vip_ms": %s, "bound_kill_ms": %d, "bound_graceful_ms": %d}' \
    "$advert" \
    "$(median <<<"${samples[xlbd.kill.vip]}")" "$(median <<<"${samples[xlbd.kill.tcp]}")" \
    "$(median <<<"${samples[xlbd.graceful.vip]}")" "$(median <<<"${samples[xlbd.graceful.tcp]}")" \
    "$(median <<<"${samples[keepalived.kill.vip]}")" "$(median <<<"${samples[keepalived.graceful.vip]}")" \
    $((3 * advert + skew + 10)) $((skew + 10)))
  runs+=("$run")
  unset samples
done

joined=$(IFS=,; echo "${runs[*]}")
result="{\"runs\": [${joined//,\{/, \{}], \"trials\": $trials}"
say ""
say "failover (medians of $trials trials; goal: kill_vip <= 3 x advert + skew + 10 ms, graceful_vip <= skew + 10 ms, both <= keepalived's)"
printf '%-7s %9s %9s %9s %9s %9s %9s %12s %12s\n' advert kill_vip kill_tcp grace_vip grace_tcp ka_kill ka_grace bound_kill bound_grace >&2
jq -r '.runs[] | [.advert_ms, .kill_vip_ms, .kill_tcp_ms, .graceful_vip_ms, .graceful_tcp_ms, .keepalived_kill_vip_ms, .keepalived_graceful_vip_ms, .bound_kill_ms, .bound_graceful_ms] | map(tostring) | "\(.[0])ms \(.[1]) \(.[2]) \(.[3]) \(.[4]) \(.[5]) \(.[6]) \(.[7]) \(.[8])"' <<<"$result" |
  awk '{ printf "%-7s %9s %9s %9s %9s %9s %9s %12s %12s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }' >&2
if ((json)); then echo "$result"; else jq . <<<"$result"; fi
