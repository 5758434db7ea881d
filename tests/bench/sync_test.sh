#!/usr/bin/env bash
# Lab test of the sync benchmark (scripts/bench/sync.sh, `scripts/bench.sh
# sync`), its --quick run: no without-sync comparisons, 2 s of load. Asserts
# what a user of it relies on: it completes with one JSON object holding every
# key of issue #16's, all 60 NAT and all 60 DR connections survived the
# master's kill -9, and the cost figures were measured (CPU of each xlbd > 0,
# flows reached director 2, lag figures present). Goals are not asserted:
# the benchmark prints figures (README, "Benchmarks").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/lab_checks.sh"
build=${1:?usage: sync_test.sh BUILD_DIR}
log=$(mktemp /tmp/xlb-sync-bench-test.XXXXXX)
trap 'rm -f "$log"' EXIT

rc=0
json=$("$here/../../scripts/bench/sync.sh" "$build" --quick --json 2>"$log") || rc=$?
grep -v '^xlb-lab-server' "$log" | sed 's/^/  | /'
echo "$json"
check "the benchmark completes (exit $rc)" test "$rc" = 0
check "it prints one JSON object" test "$(jq -s 'length' <<<"$json" 2>/dev/null)" = 1
for key in nat_connections nat_survived dr_real_change_survived ecmp_join_drain_survived \
  lag_p50_ms lag_p99_ms cpu_pct_at_100k sender_cpu_pct receiver_cpu_pct flows_per_s; do
  check "it has $key" jq -e "has(\"$key\")" <<<"$json" >/dev/null
done
value() { jq -r ".$1 // \"none\"" <<<"$json" 2>/dev/null || echo none; }
positive() { awk -v v="$1" 'BEGIN {exit !(v + 0 > 0)}'; }
check "nat_connections is 60 ($(value nat_connections))" test "$(value nat_connections)" = 60
check "all 60 NAT connections survived ($(value nat_survived))" test "$(value nat_survived)" = 60
check "all 60 DR connections survived the real change ($(value dr_real_change_survived))" \
  test "$(value dr_real_change_survived)" = 60
for key in cpu_pct_at_100k sender_cpu_pct receiver_cpu_pct flows_per_s; do
  check "$key measured ($(value "$key"))" positive "$(value "$key")"
done
# A record's age is read off a coarse clock (jiffies): p50 is often 0 ms.
check "lag p50 and p99 are numbers, p99 >= p50 ($(value lag_p50_ms), $(value lag_p99_ms))" \
  jq -e '(.lag_p50_ms | type) == "number" and .lag_p50_ms >= 0 and .lag_p99_ms >= .lag_p50_ms' \
  <<<"$json" >/dev/null
lab_checks_done "bench sync"
