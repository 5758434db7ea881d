#!/usr/bin/env bash
# Lab test: active and inactive connections per real, as ipvsadm -Ln counts
# them (see scripts/lib/lab.sh). Long-lived connections show as active on
# their reals in xlbctl list, its JSON and the metrics; a drained real keeps
# its established ones (the operator watches them); once they close they are
# inactive, and after the closing timeout every count is 0. xlbctl conns
# --limit lists that many and says how many more there are.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/lab.sh"
source "$here/../../scripts/lib/lab_checks.sh"
lab_init "${1:?usage: conns_lab_test.sh BUILD_DIR}"
trap netns_down EXIT

lab_up
lab_start_servers

# A short closing timeout, so that closed flows leave the counts quickly.
cat >"$CONF" <<YAML
interfaces: [d0, d1]
api: {socket: $SOCK, metrics: "127.0.0.1:9471"}
services:
  - name: web
    vip: $LAB_VIP4
    port: 80
    timeouts: {tcp_fin: 2s}
    reals:
      - {address: 203.0.113.11}
      - {address: 203.0.113.12}
      - {address: 203.0.113.13}
YAML
lab_start_xlbd

# conns_of REAL active|inactive: the real's count in `xlbctl --json list`.
conns_of() {
  xlbctl --json list | jq -r --arg r "$1" --arg k "${2}_connections" \
    '.[] | select(.name == "web") | .reals[] | select(.address == $r) | .[$k]'
}
total() {  # total active|inactive over the reals
  xlbctl --json list | jq -r --arg k "${1}_connections" '[.[].reals[][$k]] | add'
}
metric_sum() {  # metric_sum NAME: summed over the reals of web
  ip netns exec "$D" curl -sf 127.0.0.1:9471/metrics |
    awk -v m="$1" 'index($0, m "{service=\"web\",") == 1 {s += $NF} END {print s + 0}'
}

hold_out=$LAB_RUN/hold.out
ip netns exec "$C" "$LAB_BUILD/tests/lab/xlb-lab-client" hold --target "$LAB_VIP4:80" --conns 30 \
  --interval-ms 100 --seconds 120 >"$hold_out" &
hold_pid=$!
netns_own "$hold_pid"
netns_wait_for 10 "held connections" grep -qx ready "$hold_out"

all_active() { test "$(total active)" = 30; }
check "30 held connections are active on the reals (xlbctl --json list)" \
  netns_wait_for 3 "30 active" all_active
check "none of them is inactive" test "$(total inactive)" = 0
check "xlbctl list shows ActiveConn and InActConn" \
  grep -Eq '^  -> RemoteAddress:Port +Forward +Weight +Effective +ActiveConn +InActConn' \
  <<<"$(xlbctl list)"
check "the metrics count them per real, labelled with the service's name" \
  test "$(metric_sum xlb_real_active_connections)" = 30

has_lines() {  # has_lines TEXT LINE...: every LINE is a whole line of TEXT
  local text=$1 line
  shift
  for line; do grep -qxF "$line" <<<"$text" || return 1; done
}
# Status and metrics walk the tables at most once a second: a fresh scrape
# within a few seconds has them.
fresh_metrics_have() { has_lines "$(ip netns exec "$D" curl -sf 127.0.0.1:9471/metrics)" "$@"; }
check "the metrics give every table's capacity and fill, the services map's too" \
  netns_wait_for 3 "table fill in the metrics" fresh_metrics_have \
  'xlb_table_capacity{table="services"} 1024' \
  'xlb_table_entries{table="services"} 1' 'xlb_table_entries{table="connections"} 30'

on_real1=$(conns_of 203.0.113.11 active)
check "real1 holds some of them ($on_real1)" test "$on_real1" -gt 0
xlbctl real set "$LAB_VIP4:80" 203.0.113.11 --drain
check "drained, real1 still shows its $on_real1 established connections" \
  test "$(conns_of 203.0.113.11 active)" = "$on_real1"
list_line=$(xlbctl list | grep -E '^  -> 203\.0\.113\.11:80 ')
check "xlbctl list: real1 at weight 0 with $on_real1 active ($list_line)" \
  grep -Eq "^  -> 203\.0\.113\.11:80 +Route +0 +0 +$on_real1 +0 " <<<"$list_line"

# conns --limit: that many lines, then how many more.
limited=$(xlbctl conns --limit 5)
check "xlbctl conns --limit 5 lists 5 connections" \
  test "$(grep -c "^TCP .* $LAB_VIP4:80 " <<<"$limited")" = 5
check "... and says how many more there are" \
  grep -qx '\.\.\. 25 more of 30 (xlbctl conns --limit N shows more)' <<<"$limited"
check "xlbctl --json conns --limit 5: total and remaining" \
  test "$(xlbctl --json conns --limit 5 | jq -c '[(.connections | length), .total, .remaining]')" = "[5,30,25]"
dp_limited=$(lab_dp conns --limit 5)
check "xlb-dp conns --limit 5 (no daemon needed) lists 5 and says how many more" \
  test "$(grep -c "^tcp .* $LAB_VIP4:80 " <<<"$dp_limited"):$(tail -1 <<<"$dp_limited")" = \
  "5:... 25 more of 30 (--limit N shows more)"
check "xlbctl conns without a limit lists all 30, with no 'more' line" \
  bash -c "[[ \$(ip netns exec '$D' '$LAB_BUILD/controlplane/xlbctl' --socket '$SOCK' conns | grep -c '^TCP ') == 30 ]] && ! ip netns exec '$D' '$LAB_BUILD/controlplane/xlbctl' --socket '$SOCK' conns | grep -q more"

# The client closes every connection (FIN): inactive, then gone after the
# 2 s closing timeout.
kill -TERM "$hold_pid"
hold_rc=0
wait "$hold_pid" || hold_rc=$?
check "the held connections all passed" passed_all "$(cat "$hold_out")" hold 30
check "closed, none is active any more" netns_wait_for 5 "no active connection" \
  bash -c "[[ \$(ip netns exec '$D' '$LAB_BUILD/controlplane/xlbctl' --socket '$SOCK' --json list | jq '[.[].reals[].active_connections] | add') == 0 ]]"
inactive=$(total inactive)
check "closing connections count as inactive for a while ($inactive)" test "$inactive" -gt 0
check "after the closing timeout every count is 0" netns_wait_for 10 "counts at 0" \
  bash -c "[[ \$(ip netns exec '$D' '$LAB_BUILD/controlplane/xlbctl' --socket '$SOCK' --json list | jq -c '[.[].reals[] | .active_connections, .inactive_connections] | add') == 0 ]]"
check "the drained real1 reached 0 (its metrics too)" \
  test "$(conns_of 203.0.113.11 active) $(conns_of 203.0.113.11 inactive) $(metric_sum xlb_real_inactive_connections)" = "0 0 0"

lab_checks_done "lab conns" || { echo "--- xlbd log"; tail -40 "$XLBD_LOG"; exit 1; }
