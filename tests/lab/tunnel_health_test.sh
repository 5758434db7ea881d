#!/usr/bin/env bash
# Lab test: health through the tunnel (issue #15, `health: {through_tunnel:
# true}`) on the tunnel lab (scripts/lib/tunnel_lab.sh: reals behind a
# router, xlb-decap on each). Four tunnel services (IPIP, GUE; IPv4, IPv6)
# check their reals with TCP to the real's own address plus the echo to the
# VIP through the tunnel; a fifth (UDP) has the TCP check only. With
# xlb-decap detached from real2 its own address still answers TCP, yet the
# four mark it down within fall x interval (the fifth keeps it up), clients
# meet real1 and real3 only; forged echo replies from the VIP (xlbd's id,
# not its payload; truncated) are ignored; re-attached, real2 is up again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/tunnel_lab.sh"
source "$here/../../scripts/lib/lab_checks.sh"
tunnel_lab_init "${1:?usage: tunnel_health_test.sh BUILD_DIR}"
trap netns_down EXIT
trap 'exit 1' INT TERM

tunnel_lab_up
lab_start_servers
for n in 1 2 3; do tunnel_lab_decap_attach "$n"; done

# interval 200 ms, fall 3: down within 600 ms of the first failed probe.
health="health: {type: tcp, interval: 200ms, timeout: 150ms, rise: 2, fall: 3, through_tunnel: true}"
tunnel_lab_config \
  "$(tunnel_lab_service ipip4 "$LAB_VIP4" 80 tcp ipip "$health")" \
  "$(tunnel_lab_service gue4 "$LAB_VIP4" 8080 tcp gue "$health")" \
  "$(tunnel_lab_service ipip6 "$LAB_VIP6" 80 tcp ipip "$health")" \
  "$(tunnel_lab_service gue6 "$LAB_VIP6" 8080 tcp gue "$health")" \
  "$(tunnel_lab_service plain4 "$LAB_VIP4" 8080 udp gue \
    "health: {type: tcp, port: 8080, interval: 200ms, timeout: 150ms, rise: 2, fall: 3}")"
lab_start_xlbd

# states N: real N's state in each service, in config order ("up up ...").
states() {
  local health addr4=${TUNNEL_LAB_REALS4[$1 - 1]} addr6=${TUNNEL_LAB_REALS6[$1 - 1]}
  health=$(xlbctl health)
  for key in "$LAB_VIP4:80/tcp $addr4:80" "$LAB_VIP4:8080/tcp $addr4:8080" \
    "[$LAB_VIP6]:80/tcp [$addr6]:80" "[$LAB_VIP6]:8080/tcp [$addr6]:8080" \
    "$LAB_VIP4:8080/udp $addr4:8080"; do
    read -r svc real <<<"$key"
    awk -v s="$svc" -v r="$real" '$1 == s && $2 == r {printf "%s ", $4}' <<<"$health"
  done
}
states_are() { [[ "$(states "$1")" == "$2 " ]]; }  # states_are N "up up up up up"
all_up="up up up up up"
all_reals_up() { states_are 1 "$all_up" && states_are 2 "$all_up" && states_are 3 "$all_up"; }
# checks_of ADDRESS: the checks completed of that real, summed over services.
checks_of() {
  xlbctl --json health | jq --arg a "$1" '[.. | objects | select(.address? == $a) | .checks] | add'
}

check "every real comes up, the echo through each tunnel answered" \
  netns_wait_for 10 "all up" all_reals_up
detail=$(xlbctl health | awk -v r="${TUNNEL_LAB_REALS4[1]}:8080" '$1 ~ /8080\/tcp$/ && $2 == r')
check "the last result names both probes ($detail)" \
  grep -Eq "connected to .*; tunnel gue:6080: echo reply from $LAB_VIP4 in" <<<"$detail"

# (1) real2's decapsulator goes; its own address still answers TCP.
tunnel_lab_decap 2 detach eth0 >/dev/null
start=$EPOCHREALTIME
check "(1) real2's own address still answers TCP" \
  ip netns exec "$D" timeout 2 bash -c "exec 3<>/dev/tcp/${TUNNEL_LAB_REALS4[1]}/80"
wait_states() {  # wait_states N STATES SECONDS
  local i
  for ((i = 0; i < $3 * 20; i++)); do
    states_are "$1" "$2" && return 0
    sleep 0.05
  done
  echo "  real$1: $(states "$1")(want $2)"
  return 1
}
check "(1) real2 is marked down by the four through-tunnel checks, up in the plain one" \
  wait_states 2 "down down down down up" 3
elapsed_ms=$(((${EPOCHREALTIME/./} - ${start/./}) / 1000))
# fall x interval = 600 ms after the first failed probe, which starts within
# one interval; its timeout and this loop's polling on top.
check "(1) ... within 1.5 s ($elapsed_ms ms; fall 3 x interval 200 ms + interval + timeout)" \
  test "$elapsed_ms" -le 1500
others=$(states 1)$(states 3)
check "(1) real1 and real3 stay up (${others% })" test "$others" = "$all_up $all_up "
detail=$(xlbctl health | awk -v r="${TUNNEL_LAB_REALS4[1]}:80" '$1 ~ /:80\/tcp$/ && $2 == r')
check "(1) the reason: no echo reply through the tunnel" \
  grep -Eq "connected to .*; tunnel ipip: no echo reply from $LAB_VIP4 within 150ms" <<<"$detail"
answered_by() { awk '$1 == "server" {print $2}' <<<"$1" | sort | xargs; }
for target in "$LAB_VIP4:80" "[$LAB_VIP6]:8080"; do
  out=$(lab_client connect --target "$target" --count 30 2>&1 || true)
  check "(1) 30 connections to $target pass" passed_all "$out" connect 30
  check "(1) ... answered by real1 and real3 only ($(answered_by "$out"))" \
    test "$(answered_by "$out")" = "real1 real3"
done

# (2) Echo replies from the VIP with xlbd's id but not its payload, and cut
# after the id, sent by real2 (which has the VIP) to the director: they pass
# the packet socket's filter, are ignored, and real2 stays down.
forge() {  # forge SOURCE DESTINATION
  ip netns exec "$R2" /usr/bin/python3 "$here/tools/forge_echo_replies.py" --source "$1" \
    --destination "$2" --id "$XLBD_PID" --count 200
}
before=$(checks_of "${TUNNEL_LAB_REALS4[1]}")
forge "$LAB_VIP4" "$TUNNEL_LAB_DIRECTOR4"
forge "$LAB_VIP6" "$TUNNEL_LAB_DIRECTOR6"
check "(2) xlbd read the forged replies and ignored them" \
  netns_wait_for 3 "the log line" grep -q "ignored a packet that answers no probe from" "$XLBD_LOG"
# Three more rounds of checks of real2's three IPv4 services after them.
more_checks() { (($(checks_of "${TUNNEL_LAB_REALS4[1]}") >= before + 9)); }
check "(2) three more rounds of checks of real2 ran" netns_wait_for 3 "checks" more_checks
check "(2) ... and real2 is still down ($(states 2))" states_are 2 "down down down down up"
check "(2) xlbd is running" kill -0 "$XLBD_PID"

# (3) xlb-decap back on real2: up again (rise 2 x interval 200 ms).
tunnel_lab_decap_attach 2
check "(3) real2 is up again in every service within 2 s" wait_states 2 "$all_up" 2

lab_checks_done tunnel_health
