#!/usr/bin/env bash
# Lab test of the throughput benchmark (scripts/bench/throughput.sh): one
# short run (1 s) of each of its six variants. Asserts what a user of
# `scripts/bench.sh throughput` relies on: it completes, every path
# delivered packets to the sinks, and the tunnel variants' figures are of
# encapsulated packets: the benchmark says so only after its own checks
# (frames captured at a real are IPIP / GUE around the packet to the VIP,
# and every frame a tunnel run counted is DR's plus the outer header), and
# it fails otherwise.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/lab_checks.sh"
build=${1:?usage: throughput_test.sh BUILD_DIR}
log=$(mktemp /tmp/xlb-throughput-test.XXXXXX)
trap 'rm -f "$log"' EXIT

rc=0
json=$("$here/../../scripts/bench/throughput.sh" "$build" --runs 1 --seconds 1 --json 2>"$log") || rc=$?
sed 's/^/  | /' "$log"
check "the benchmark completes (exit $rc)" test "$rc" = 0
for key in floor dr nat tun gue kernel; do
  pps=$(jq -r ".${key}_pps // 0" <<<"$json" 2>/dev/null) || pps=none
  check "$key delivered packets ($pps/s)" awk -v p="$pps" 'BEGIN {exit !(p > 0)}'
done
for key in tun gue; do
  ratio=$(jq -r ".${key}_floor_ratio // empty" <<<"$json" 2>/dev/null) || ratio=
  check "$key's ratio to the floor is reported (${ratio:-none})" test -n "$ratio"
  check "$key's frames at a real were all encapsulated" \
    grep -q "] $key: the [0-9]* frames captured at .* are all encapsulated" "$log"
  check "$key's frames were counted 20/28 bytes longer than DR's" \
    grep -Eq "run 1/1: $key [0-9]+ pps, $([[ $key == tun ]] && echo 80 || echo 88) bytes a frame" "$log"
done
lab_checks_done "bench throughput"
