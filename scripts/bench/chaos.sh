#!/usr/bin/env bash
# The chaos benchmark (README, "How xlb fails"): faults injected one after
# the other into a working pair of directors while traffic runs, and what
# each cost the traffic.
#
# The lab (scripts/lib/directors_lab.sh, two directors): d1 (VRRP priority
# 200, master) and d2 (100, backup) hold the VIP 198.51.100.101 with adverts
# every --advert ms; both run xlbd with the same services, so both build the
# same Maglev table: a DR service on the VIP (the three reals, tcp checks
# every 200 ms) and a NAT service 198.51.100.120:8080 whose two reals,
# 192.0.2.98 and .99, are addresses on real2's and real3's lo reached by a
# host route on each director (the NAT service is configured and checked;
# its client traffic is not part of the run: the one-armed lab sends the
# reals' replies straight to the client). The client runs, throughout,
# short requests through the VIP (one every --pace-ms) and 30 long-lived
# connections exchanging a line every 50 ms. An attacker, a host of its own
# on the segment (198.51.100.66), sends the floods of (f) and (h).
#
# The faults, each followed by a wait (with a deadline) for the steady state:
# d1 master and alone holding the VIP, every real up on both directors,
# every long-lived connection exchanging:
#   idle_connections       (a) 5000 idle connections to d1's metrics listener
#                              and 5000 to its API socket, held while xlbctl
#                              and a scrape are asked for 2 s
#   master_kill9_restart   (b) kill -9 of d1's xlbd, started again at once
#   second_xlbd            (c) a second xlbd on d1's pins: must exit 1 and
#                              change nothing
#   failed_start_adopted   (d) d2's xlbd killed (-9), a start on its adopted
#                              maps with an unroutable NAT real: must exit 1
#                              and change no map; then d2 started again
#                              (on d2, the backup: on d1 the kill alone would
#                              be fault (b) again)
#   sighup_broken_config   (e) SIGHUP to d1 with a config that does not parse
#   vrrp_hostile           (f) --flood-seconds of 9000-byte and TTL-1
#                              protocol-112 datagrams at d2
#   nat_route_lost_drain   (g) on both directors: the NAT real 192.0.2.99
#                              loses its route while 192.0.2.98 is drained
#                              (xlbctl); then both restored
#   spoofed_flood          (h) --flood-seconds of SYN, ACK and UDP from
#                              spoofed 203.0.113.0/24 at d1, --flood-rate in
#                              all (a third each); the rates actually sent
#                              are reported
#   sigstop_master         (i) SIGSTOP of d1's xlbd for three watchdog
#                              intervals (--main-loop-timeout-ms 1000), then
#                              SIGCONT: d2 takes over, d1 takes the VIP back
#
# usage: chaos.sh BUILD_DIR [--json] [--advert MS] [--pace-ms MS]
#                 [--flood-seconds S] [--flood-rate PPS] [--idle-conns N]
# Prints one JSON object (with --json, alone on stdout):
#   {"faults": 9, "requests": N, "requests_failed": N, "connections": 30,
#    "connections_lost": N, "reals_marked_down_wrongly": N,
#    "vrrp_state_changes": N, "max_forwarding_gap_ms": G,
#    "per_fault": {"NAME": {...}, ...}}
# vrrp_state_changes counts every logged transition of either director
# (apart from a process's own start and stop) except those of
# sigstop_master, whose failover is the point: that one's are under its
# per_fault entry. Exit status 0 when the run was done (the figures are the
# result), non-zero only when the lab could not be built or a fault could
# not be injected.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tools=$(cd "$here/../../tests/lab/tools" && pwd)
source "$here/../lib/directors_lab.sh"
AA_VIPS=1 AA_CONNS_PER_VIP=30
source "$here/../lib/active_active.sh"

usage="usage: chaos.sh BUILD_DIR [--json] [--advert MS] [--pace-ms MS] [--flood-seconds S] [--flood-rate PPS] [--idle-conns N]"
build=${1:?$usage}
shift
json=0 advert=100 pace_ms=20 flood_seconds=10 flood_rate=200000 idle_conns=5000
while (($#)); do
  case "$1" in
    --json) json=1 ;;
    --advert) advert=${2:?--advert needs milliseconds}; shift ;;
    --pace-ms) pace_ms=${2:?--pace-ms needs milliseconds}; shift ;;
    --flood-seconds) flood_seconds=${2:?--flood-seconds needs a number}; shift ;;
    --flood-rate) flood_rate=${2:?--flood-rate needs packets per second}; shift ;;
    --idle-conns) idle_conns=${2:?--idle-conns needs a number}; shift ;;
    *) echo "chaos.sh: unknown option '$1'; $usage" >&2; exit 2 ;;
  esac
  shift
done
bad() { echo "chaos.sh: $*" >&2; exit 2; }
[[ $advert =~ ^[0-9]+$ ]] && ((advert >= 10 && advert <= 1000 && advert % 10 == 0)) ||
  bad "--advert is 10..1000 ms in steps of 10, not '$advert'"
[[ $pace_ms =~ ^[0-9]+$ ]] && ((pace_ms >= 1 && pace_ms <= 1000)) ||
  bad "--pace-ms is 1..1000, not '$pace_ms'"
[[ $flood_seconds =~ ^[0-9]+$ ]] && ((flood_seconds >= 1 && flood_seconds <= 60)) ||
  bad "--flood-seconds is 1..60, not '$flood_seconds'"
[[ $flood_rate =~ ^[0-9]+$ ]] && ((flood_rate >= 3 && flood_rate <= 30000000)) ||
  bad "--flood-rate is 3..30000000 packets/s, not '$flood_rate'"
[[ $idle_conns =~ ^[0-9]+$ ]] && ((idle_conns >= 1 && idle_conns <= 20000)) ||
  bad "--idle-conns is 1..20000 (per listener), not '$idle_conns'"

say() { dl_log "$@" >&2; }
die() { say "chaos.sh: $*"; exit 1; }
DL_METRICS=127.0.0.1:9470
WATCHDOG_MS=1000
dl_init "$build" 2
trap netns_down EXIT
trap 'exit 1' INT TERM
dl_up 1 >&2
VIP=$(dl_vip 1)
# The attacker (faults f and h): a host of its own on the segment, so its
# floods do not share the client's link. xlb-pktgen sends with XDP: its
# bridge port needs a program (PLATFORM.md).
DL_X=$DL_PREFIX-x ATTACKER_ADDR=198.51.100.66
netns_add "$DL_X"
netns_attach "$DL_X" "$DL_S" px "$ATTACKER_ADDR/24"
ip -n "$DL_S" link set dev px xdpdrv obj "$DL_BUILD/bpf/pass.bpf.o" sec xdp
NAT_VIP=198.51.100.120
NAT_REAL_DRAINED=192.0.2.98 NAT_REAL_LOST=192.0.2.99

# The NAT reals: an address on real2's and real3's lo, a host route to each
# on both directors.
nat_routes() {  # nat_routes add|del DIRECTOR REAL...
  local op=$1 i=$2 real via
  shift 2
  for real in "$@"; do
    [[ $real == "$NAT_REAL_DRAINED" ]] && via=198.51.100.22 || via=198.51.100.23
    ip -n "${DL_D[i]}" route "$op" "$real/32" via "$via"
  done
}
ip -n "${DL_R[2]}" addr add "$NAT_REAL_DRAINED/32" dev lo
ip -n "${DL_R[3]}" addr add "$NAT_REAL_LOST/32" dev lo
for i in 1 2; do nat_routes add "$i" "$NAT_REAL_DRAINED" "$NAT_REAL_LOST"; done

# body PRIORITY [EXTRA_NAT_REAL]: the services and the VRRP section.
body() {
  dl_services_yaml 1
  cat <<EOF
  - name: nat
    vip: $NAT_VIP
    port: 8080
    forward: nat
    reals: [{address: $NAT_REAL_DRAINED, port: 80}, {address: $NAT_REAL_LOST, port: 80}${2:-}]
    health: {type: tcp, interval: 200ms, timeout: 200ms}
vrrp:
  - {name: v1, interface: eth0, vrid: 51, priority: $1, advert_interval: ${advert}ms,
     addresses: [$VIP/24]}
EOF
}
priority() { (($1 == 1)) && echo 200 || echo 100; }  # priority I
start_director() {  # start_director I
  dl_start_xlbd "$1" "$(body "$(priority "$1")")" --main-loop-timeout-ms "$WATCHDOG_MS"
}
kill9_xlbd() {  # kill9_xlbd I (bash's report of the killed job goes nowhere)
  exec 3>&2 2>/dev/null
  kill -9 "${DL_XLBD[$1]}"
  wait "${DL_XLBD[$1]}" || true
  exec 2>&3 3>&-
  netns_forget "${DL_XLBD[$1]}"
}

start_director 1 >&2
netns_wait_for 10 "d1 master" dl_has_addr 1 "$VIP" || die "d1 did not become master"
start_director 2 >&2

# --- the steady state ---------------------------------------------------------
REALS_PER_DIRECTOR=5
reals_up() {  # reals_up I: every real of every service up
  [[ $(dl_xlbctl "$1" --json list | jq '[.[].reals[] | select(.health == "up")] | length') == "$REALS_PER_DIRECTOR" ]]
}
vrrp_state() { dl_xlbctl "$1" --json vrrp | jq -r '.[0].state'; }
steady() {
  dl_has_addr 1 "$VIP" && ! dl_has_addr 2 "$VIP" && [[ $(vrrp_state 1) == MASTER ]] &&
    [[ $(vrrp_state 2) == BACKUP ]] && reals_up 1 && reals_up 2
}
wait_steady() {  # wait_steady SECONDS: the VIP as planned, reals up, connections exchanging
  netns_wait_for "$1" "the steady state (d1 master, every real up)" steady || {
    say "not steady: d1 $(vrrp_state 1 2>&1), d2 $(vrrp_state 2 2>&1)"
    dl_xlbctl 1 list >&2 || true
    return 1
  }
  netns_wait_for 15 "every living connection exchanging" aa_all_alive_fresh || true
}
wait_steady 15 || die "the lab did not reach its steady state"

# --- the traffic ----------------------------------------------------------------
aa_start_holds || die "the long-lived connections did not start"
REQUESTS=$DL_RUN/requests.out
netns_start "$DL_C" "$DL_BUILD/tests/lab/xlb-lab-client" connect --target "$VIP:80" \
  --count 1000000 --pace-ms "$pace_ms" --parallel 64 --timeout-ms 2000 --timestamps \
  >"$REQUESTS" 2>"$DL_RUN/requests.err"
REQUESTS_PID=$NETNS_LAST_PID
requests_flow() { (($(grep -c '^ok ' "$REQUESTS") >= 10)); }
netns_wait_for 10 "short requests through the VIP" requests_flow || die "no request through the VIP passed"
netns_wait_for 5 "every connection exchanging" aa_all_alive_fresh || die "the long-lived connections do not exchange"
read -r _ baseline_gap < <(aa_hold_status)
say "traffic runs: short requests every $pace_ms ms, 30 long-lived connections (longest gap so far ${baseline_gap} ms)"

# --- what each fault cost ---------------------------------------------------------
PER_FAULT=$DL_RUN/per_fault.json
echo '{}' >"$PER_FAULT"
now_ns() { date +%s%N; }
log_lines() { wc -l <"$DL_RUN/d$1/xlbd.log"; }
since() { tail -n +"$(($2 + 1))" "$DL_RUN/d$1/xlbd.log"; }  # since I LINE: d_I's log after LINE
# VRRP transitions in both logs since the fault began, apart from a
# process's own start (INIT -> BACKUP) and stop (-> INIT).
transitions() {
  local i
  for i in 1 2; do
    since "$i" "${log_at[$i]}" | grep -E 'vrrp v1: [A-Z]+ -> [A-Z]+ \(' |
      grep -Ev '\((startup|shutdown)\)' | sed -E "s/.*vrrp v1: ([A-Z]+ -> [A-Z]+) \(([a-z_]+)\).*/d$i \1 (\2)/" || true
  done
}
# Reals either director logged down since the fault began, but for
# EXPECTED_DOWN (a real the fault itself takes away).
wrong_downs() {
  local i
  for i in 1 2; do
    since "$i" "${log_at[$i]}" | grep -E '\breal .* is down: ' |
      { if [[ -n $expected_down ]]; then grep -vF " $expected_down:" || true; else cat; fi; } |
      sed -E "s/.*\breal (.*) is down: (.*)/d$i \1: \2/" || true
  done
}
declare -A log_at
fault_begin() {  # fault_begin NAME DESCRIPTION
  fault=$1 expected_down=
  say "($((++faults))) $1: $2"
  read -r alive_before _ < <(aa_hold_status)
  log_at[1]=$(log_lines 1) log_at[2]=$(log_lines 2)
  t_begin=$(now_ns)
}
# fault_end EXTRA_JSON: waits for the steady state, then records the
# fault's figures with EXTRA_JSON (an object) merged in.
fault_end() {
  local extra=${1:-'{}'} steady_ok=true
  wait_steady 30 || steady_ok=false
  local t_end alive gap requests failed
  t_end=$(now_ns)
  read -r alive gap < <(aa_hold_status)
  read -r requests failed < <(awk -v a="$t_begin" -v b="$t_end" \
    '($1 == "ok" || $1 == "fail") && $2 >= a && $2 < b { n++; f += ($1 == "fail") } END { print n + 0, f + 0 }' "$REQUESTS")
  local changes downs reasons
  changes=$(transitions | jq -R . | jq -s .)
  downs=$(wrong_downs | jq -R . | jq -s .)
  # Why requests failed: xlb-lab-client's reason per failure, counted.
  reasons=$(awk -v a="$t_begin" -v b="$t_end" '$1 == "fail" && $2 >= a && $2 < b { $1 = $2 = $3 = ""; print substr($0, 4) }' \
    "$REQUESTS" | jq -R . | jq -s 'group_by(.) | map({key: .[0], value: length}) | from_entries')
  if [[ -n $expected_down ]]; then  # the real the fault takes away: was it seen down?
    extra=$(jq --arg r "$expected_down" --argjson n "$(for i in 1 2; do since "$i" "${log_at[$i]}"; done |
      grep -cE "\breal .* ${expected_down//./\\.}:[0-9]+ is down: " || true)" \
      '. + {expected_down: {real: $r, times_logged_down: $n}}' <<<"$extra")
  fi
  jq --arg name "$fault" --argjson extra "$extra" --argjson changes "$changes" --argjson downs "$downs" \
    --argjson reasons "$reasons" \
    --argjson seconds "$(((t_end - t_begin) / 1000000))" --argjson requests "$requests" \
    --argjson failed "$failed" --argjson lost "$((alive_before - alive))" --argjson gap "$gap" \
    --argjson steady "$steady_ok" \
    '.[$name] = ({ms: $seconds, requests: $requests, requests_failed: $failed,
                  connections_lost: $lost, reals_marked_down_wrongly: ($downs | length),
                  vrrp_state_changes: ($changes | length), max_gap_ms_so_far: $gap,
                  back_to_steady_state: $steady}
                 + (if ($changes | length) > 0 then {vrrp_transitions: $changes} else {} end)
                 + (if ($downs | length) > 0 then {reals_down: $downs} else {} end)
                 + (if $failed > 0 then {failure_reasons: $reasons} else {} end) + $extra)' \
    "$PER_FAULT" >"$PER_FAULT.new"
  mv "$PER_FAULT.new" "$PER_FAULT"
  say "    $(jq -c --arg n "$fault" '.[$n]' "$PER_FAULT")"
}
faults=0
xlbd_try() {  # xlbd_try I LOG ARGS...: a bounded run of xlbd in director I, its output in LOG; prints its exit status
  local i=$1 log=$2 rc=0
  shift 2
  ip netns exec "${DL_D[i]}" timeout 20 "$DL_BUILD/controlplane/xlbd" "$@" >"$log" 2>&1 || rc=$?
  echo "$rc"
}
maps_of() { ip netns exec "${DL_D[$1]}" "$DL_BUILD/dataplane/tool/xlb-dp" --pin-dir "$DL_RUN/d$1/bpf" list; }
last_line() { grep -v '^\s*$' "$1" | tail -1 | sed -E 's/^[IWEF][0-9]{4,8} [0-9:.]+ +[0-9]+ [^]]+\] //'; }

# (a) idle connections to the metrics listener and the API socket ----------------
fault_begin idle_connections "$idle_conns idle connections to d1's metrics listener and $idle_conns to its API socket"
FLOOD=$DL_RUN/idle
netns_start "${DL_D[1]}" "$tools/idle_flood.py" --tcp "$DL_METRICS" "$idle_conns" --unix "$DL_RUN/d1/xlbd.sock" \
  "$idle_conns" --status "$FLOOD.status" --stop "$FLOOD.stop" --max-seconds 60
flood_pid=$NETNS_LAST_PID
netns_wait_for 50 "the idle connections" grep -q opened "$FLOOD.status" || die "idle_flood.py did not open its connections"
# Held for 2 s (10 check intervals) while xlbctl and a scraper ask.
asked=0 answered=0 scraped=0 scrape_errors=()
hold_until=$((SECONDS + 2))
while ((SECONDS < hold_until && asked < 100)); do
  asked=$((asked + 1))
  dl_xlbctl 1 status >/dev/null 2>&1 && answered=$((answered + 1))
  rc=0
  ip netns exec "${DL_D[1]}" curl -sf --max-time 2 -o "$DL_RUN/scrape" "http://$DL_METRICS/metrics" \
    2>/dev/null || rc=$?
  if ((rc == 0)) && grep -q '^xlb_real_health{' "$DL_RUN/scrape"; then
    scraped=$((scraped + 1))
  else
    scrape_errors+=("curl exit $rc")
  fi
done
touch "$FLOOD.stop"
netns_wait_for 20 "idle_flood.py's report" grep -q closed_by_peer "$FLOOD.status" || true
wait "$flood_pid" 2>/dev/null || true
netns_forget "$flood_pid"
fault_end "$(jq -n --argjson asked "$asked" --argjson answered "$answered" --argjson scraped "$scraped" \
  --arg status "$(tr '\n' ' ' <"$FLOOD.status")" \
  --argjson errors "$(printf '%s\n' "${scrape_errors[@]}" | grep . | jq -R . | jq -s 'group_by(.) | map({key: .[0], value: length}) | from_entries')" \
  '{xlbctl_asked: $asked, xlbctl_answered: $answered, metrics_scrapes_asked: $asked,
    metrics_scraped: $scraped, idle_flood: ($status | rtrimstr(" "))}
   + (if ($errors | length) > 0 then {metrics_scrape_errors: $errors} else {} end)')"

# (b) kill -9 of the master's xlbd and a restart ---------------------------------------
fault_begin master_kill9_restart "kill -9 of d1's xlbd (the master), started again at once"
t0=$(now_ns)
kill9_xlbd 1
start_director 1 >&2 || die "d1's xlbd did not start again"
t1=$(now_ns)
netns_wait_for 15 "d1 master again" dl_has_addr 1 "$VIP" || true
fault_end "$(jq -n --argjson r "$(((t1 - t0) / 1000000))" '{restart_to_api_ms: $r}')"

# (c) a second xlbd on the master's pins ---------------------------------------------
fault_begin second_xlbd "a second xlbd on d1's pins"
maps=$(maps_of 1)
sed "s|$DL_RUN/d1/xlbd.sock|$DL_RUN/d1/second.sock|; s|$DL_METRICS|127.0.0.1:9471|" \
  "$DL_RUN/d1/xlb.yaml" >"$DL_RUN/d1/second.yaml"
rc=$(xlbd_try 1 "$DL_RUN/second.out" --config "$DL_RUN/d1/second.yaml" --pin-dir "$DL_RUN/d1/bpf")
[[ $(maps_of 1) == "$maps" ]] && same=true || same=false
[[ -e $DL_RUN/d1/second.sock ]] && sock=true || sock=false
fault_end "$(jq -n --argjson rc "$rc" --arg msg "$(last_line "$DL_RUN/second.out")" --argjson same "$same" \
  --argjson sock "$sock" '{exit_status: $rc, message: $msg, maps_unchanged: $same, made_api_socket: $sock}')"

# (d) a start that fails on adopted maps (the backup's) ------------------------------------
fault_begin failed_start_adopted "d2's xlbd killed (-9); a start on its adopted maps with an unroutable NAT real; d2 started again"
kill9_xlbd 2
maps=$(maps_of 2)
# d2's config with a third NAT real, 192.0.2.97, to which it has no route.
sed "s|port: 80}\]|port: 80}, {address: 192.0.2.97, port: 80}]|" "$DL_RUN/d2/xlb.yaml" \
  >"$DL_RUN/d2/unroutable.yaml"
grep -q 192.0.2.97 "$DL_RUN/d2/unroutable.yaml" || die "could not write the unroutable config"
rc=$(xlbd_try 2 "$DL_RUN/unroutable.out" --config "$DL_RUN/d2/unroutable.yaml" --pin-dir "$DL_RUN/d2/bpf")
[[ $(maps_of 2) == "$maps" ]] && same=true || same=false
start_director 2 >&2 || die "d2's xlbd did not start again"
fault_end "$(jq -n --argjson rc "$rc" --arg msg "$(last_line "$DL_RUN/unroutable.out")" --argjson same "$same" \
  '{exit_status: $rc, message: $msg, maps_unchanged: $same}')"

# (e) SIGHUP with a broken config ------------------------------------------------------
fault_begin sighup_broken_config "SIGHUP to d1 with a config that does not parse"
conf=$DL_RUN/d1/xlb.yaml
cp "$conf" "$DL_RUN/d1/good.yaml"
printf 'services: [ {name: web, vip: \n' >>"$conf"
kill -HUP "${DL_XLBD[1]}"
refused() { since 1 "${log_at[1]}" | grep -q 'reload refused'; }
netns_wait_for 10 "d1 to refuse the reload" refused || die "d1 never answered the SIGHUP"
cp "$DL_RUN/d1/good.yaml" "$conf"
fault_end "$(jq -n --arg msg "$(since 1 "${log_at[1]}" | grep 'reload refused' | head -1 |
  sed -E 's/.*\] //' | cut -c1-200)" '{refused: true, message: $msg}')"

# (f) hostile VRRP datagrams at the backup -----------------------------------------------
fault_begin vrrp_hostile "$flood_seconds s of 9000-byte and TTL-1 protocol-112 datagrams at d2"
dropped() { dl_xlbctl 2 --json status | jq -r '.counters.vrrp_dropped // 0'; }
dropped_before=$(dropped)
sent=$(ip netns exec "$DL_X" timeout $((flood_seconds + 10)) /usr/bin/python3 "$tools/vrrp_attack.py" \
  224.0.0.18 "$(dl_director_addr 2)" "$ATTACKER_ADDR" 51 "$flood_seconds") || die "vrrp_attack.py failed"
fault_end "$(jq -n --argjson sent "$sent" --argjson dropped "$(($(dropped) - dropped_before))" \
  '{datagrams_sent: $sent, dropped_by_d2: $dropped}')"

# (g) a NAT real loses its route while another is drained ------------------------------------
fault_begin nat_route_lost_drain "on both directors: $NAT_REAL_LOST loses its route, $NAT_REAL_DRAINED is drained"
expected_down=$NAT_REAL_LOST
nat_real() {  # nat_real I ADDR FIELD
  dl_xlbctl "$1" --json list | jq -r --arg v "$NAT_VIP" --arg a "$2" --arg f "$3" \
    '.[] | select(.vip == $v) | .reals[] | select(.address == $a) | .[$f]'
}
weight=$(nat_real 1 "$NAT_REAL_DRAINED" weight)
drained_ok=true
for i in 1 2; do
  nat_routes del "$i" "$NAT_REAL_LOST"
  dl_xlbctl "$i" real set "$NAT_VIP:8080" "$NAT_REAL_DRAINED:80" --drain >&2 || drained_ok=false
  [[ $(nat_real "$i" "$NAT_REAL_DRAINED" effective_weight) == 0 ]] || drained_ok=false
done
# Held up to 10 check intervals (2 s), or until both see the real down.
lost_down() {
  [[ $(nat_real 1 "$NAT_REAL_LOST" health) == down && $(nat_real 2 "$NAT_REAL_LOST" health) == down ]]
}
netns_wait_for 2 "$NAT_REAL_LOST seen down" lost_down || true
lost_health="d1 $(nat_real 1 "$NAT_REAL_LOST" health), d2 $(nat_real 2 "$NAT_REAL_LOST" health)"
# The DR service goes on meanwhile, and no service shows an error.
dr_ok=$(ip netns exec "$DL_C" "$DL_BUILD/tests/lab/xlb-lab-client" connect --target "$VIP:80" --count 50 \
  2>/dev/null | grep -c '^connect: 50 passed, 0 failed' || true)
errors=$(for i in 1 2; do dl_xlbctl "$i" --json list | jq -r '.[] | select(.error != null and .error != "") | .error'; done)
for i in 1 2; do
  nat_routes add "$i" "$NAT_REAL_LOST"
  dl_xlbctl "$i" real set "$NAT_VIP:8080" "$NAT_REAL_DRAINED:80" --weight "$weight" >&2
done
fault_end "$(jq -n --argjson drained "$drained_ok" --argjson dr "$([[ $dr_ok == 1 ]] && echo true || echo false)" \
  --arg errors "$errors" --arg lost "$lost_health" \
  '{drain_took_effect: $drained, dr_service_answered: $dr, service_errors: $errors,
    routeless_real_health_after_2s: $lost}')"

# (h) a spoofed SYN, ACK and UDP flood at the master ---------------------------------------
each=$((flood_rate / 3))
fault_begin spoofed_flood "$flood_seconds s of SYN, ACK and UDP from spoofed 203.0.113.0/24 at d1, $each packets/s each"
expected_down=
mac=$(ip netns exec "${DL_D[1]}" cat /sys/class/net/eth0/address)
status_before=$(dl_xlbctl 1 --json status)
# Frames the attacker's veth could not pass on (its peer's ring full): lost
# on the generators' side, before the segment.
attacker_drops() { ip -n "$DL_X" -j -s link show eth0 | jq '.[0].stats64.tx.dropped'; }
reached_before=$(dl_port_stat 1 packets) ring_before=$(dl_port_stat 1 dropped) backlog_before=$(dl_backlog_drops)
attacker_before=$(attacker_drops)
# SYNs the reals' listeners dropped, over the three reals (the spoofed ones
# are: a real has no route back to their sources).
listen_drops() {
  local j n=0
  for j in 1 2 3; do
    n=$((n + $(ip netns exec "${DL_R[j]}" awk '/^TcpExt:/ { if (!h++) for (i = 1; i <= NF; i++) k[i] = $i;
      else for (i = 1; i <= NF; i++) if (k[i] == "ListenDrops") print $i }' /proc/net/netstat)))
  done
  echo "$n"
}
listen_before=$(listen_drops)
pktgen() {  # pktgen PROTO OUT: its PID in NETNS_LAST_PID
  netns_start "$DL_X" "$DL_BUILD/pktgen/xlb-pktgen" --engine xdp --interface eth0 \
    --dst-mac "$mac" --dst "$VIP:80/$1" --src 203.0.113.0/24 --sport 1024-65535 \
    --count 10000000000 --duration "$flood_seconds" --rate "$each" --batch 16 --json >"$2" 2>"$2.err"
}
pktgen tcp "$DL_RUN/syn.json"
flood_pids=("$NETNS_LAST_PID")
pktgen udp "$DL_RUN/udp.json"
flood_pids+=("$NETNS_LAST_PID")
netns_start "$DL_X" /usr/bin/python3 "$tools/ack_flood.py" --interface eth0 --dst-mac "$mac" \
  --dst "$VIP:80" --src 203.0.113.0/24 --rate "$each" --seconds "$flood_seconds" >"$DL_RUN/ack.json" \
  2>"$DL_RUN/ack.err"
flood_pids+=("$NETNS_LAST_PID")
flood_rc=0
for pid in "${flood_pids[@]}"; do
  wait "$pid" || flood_rc=$?
  netns_forget "$pid"
done
((flood_rc == 0)) || die "a flood generator failed: $(cat "$DL_RUN"/{syn,udp}.json.err "$DL_RUN/ack.err" | tail -5)"
status_after=$(dl_xlbctl 1 --json status)
reached=$((($(dl_port_stat 1 packets) - reached_before) / flood_seconds))
ring_drops=$(($(dl_port_stat 1 dropped) - ring_before)) backlog_drops=$(($(dl_backlog_drops) - backlog_before))
attacker_dropped=$(($(attacker_drops) - attacker_before))
listen_dropped=$(($(listen_drops) - listen_before))
pps() { jq -r '.pps | floor' "$1"; }
fault_end "$(jq -n --argjson syn "$(pps "$DL_RUN/syn.json")" --argjson udp "$(pps "$DL_RUN/udp.json")" \
  --argjson ack "$(pps "$DL_RUN/ack.json")" --argjson want "$each" \
  --argjson before "$status_before" --argjson after "$status_after" --argjson reached "$reached" \
  --argjson ring "$ring_drops" --argjson backlog "$backlog_drops" --argjson attacker "$attacker_dropped" --argjson listen "$listen_dropped" \
  '{asked_pps_each: $want, sent_pps: {syn: $syn, ack: $ack, udp: $udp, total: ($syn + $ack + $udp)},
    attacker_veth_drops: $attacker, reached_d1_pps: $reached, d1_ring_full_drops: $ring,
    cpu_backlog_drops: $backlog, reals_listen_drops: $listen,
    d1_counters: ([$after.counters | to_entries[] | select(.value | type == "number")
                   | {key, value: (.value - ($before.counters[.key] // 0))} | select(.value != 0)]
                  | from_entries)}')"

# (i) SIGSTOP of the master's xlbd for three watchdog intervals ---------------------------------
fault_begin sigstop_master "SIGSTOP of d1's xlbd for $((3 * WATCHDOG_MS)) ms (three watchdog intervals), then SIGCONT"
d2_master() { dl_has_addr 2 "$VIP"; }
kill -STOP "${DL_XLBD[1]}"
t0=$(now_ns)
failover=true
netns_wait_for 10 "d2 to take the VIP" d2_master || failover=false
t_failover=$(now_ns)
# The stimulus: the stop lasts three watchdog intervals in all.
stop_left=$(((3 * WATCHDOG_MS * 1000000 - (t_failover - t0)) / 1000000))
((stop_left > 0)) && sleep "$(printf '%d.%03d' $((stop_left / 1000)) $((stop_left % 1000)))"
kill -CONT "${DL_XLBD[1]}"
t_cont=$(now_ns)
back=true
d1_alone() { dl_has_addr 1 "$VIP" && ! dl_has_addr 2 "$VIP"; }
netns_wait_for 10 "d1 to take its VIP back" d1_alone || back=false
t_back=$(now_ns)
fault_end "$(jq -n --argjson failover "$failover" --argjson failover_ms "$(((t_failover - t0) / 1000000))" \
  --argjson back "$back" --argjson back_ms "$(((t_back - t_cont) / 1000000))" \
  '{expected: "one failover to d2 and d1 taking the VIP back", failover: $failover,
    failover_ms: $failover_ms, vip_back_on_d1: $back, vip_back_after_sigcont_ms: $back_ms}')"

# --- the totals ----------------------------------------------------------------------
kill -TERM "$REQUESTS_PID" 2>/dev/null || true
wait "$REQUESTS_PID" 2>/dev/null || true
netns_forget "$REQUESTS_PID"
read -r alive gap < <(aa_hold_status)
aa_stop_holds
read -r requests failed < <(awk '$1 == "ok" || $1 == "fail" { n++; f += ($1 == "fail") } END { print n + 0, f + 0 }' "$REQUESTS")
result=$(jq -c --argjson faults "$faults" --argjson requests "$requests" --argjson failed "$failed" \
  --argjson lost "$((AA_CONNS_PER_VIP - alive))" --argjson gap "$gap" --argjson advert "$advert" \
  --argjson baseline "$baseline_gap" \
  '{faults: $faults, requests: $requests, requests_failed: $failed, connections: 30,
    connections_lost: $lost,
    reals_marked_down_wrongly: ([.[].reals_marked_down_wrongly] | add),
    vrrp_state_changes: ([to_entries[] | select(.key != "sigstop_master") | .value.vrrp_state_changes] | add),
    max_forwarding_gap_ms: $gap, gap_before_faults_ms: $baseline, advert_ms: $advert, per_fault: .}' \
  "$PER_FAULT")
if ((json)); then echo "$result"; else jq . <<<"$result"; fi
