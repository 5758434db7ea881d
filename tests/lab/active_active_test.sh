#!/bin/bash
# Three directors active-active, as scripts/bench/failover_active_active.sh
# builds them (xlbd on each, six VIPs planned by `xlbctl vrrp plan`, the same
# three reals): 60 long-lived TCP connections, 10 per VIP, exchanging a line
# every 50 ms, go on while the director mastering two of the VIPs is killed
# (and its link taken down), and while it comes back and takes them over
# again. Fails if any connection is reset or stalls past its 10 s echo
# deadline, or if a VIP does not answer new connections within 5 s.
# (The flood phase is the benchmark's: it runs for a minute.)
set -euo pipefail
BUILD=$(cd "${1:?usage: active_active_test.sh BUILD_DIR}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/scripts/lib/lab_checks.sh"

out=$(mktemp /tmp/active_active.XXXXXX)
trap 'rm -f "$out"' EXIT
rc=0
"$ROOT/scripts/bench/failover_active_active.sh" "$BUILD" --json --flood-seconds 0 >"$out" || rc=$?
cat "$out"
field() { jq -r ".$1" "$out"; }
check "the scenario ran to the end" test -s "$out"
check "all 60 connections survived the director's death" test "$(field survived)" = 60
check "all 60 connections survived its return" test "$(field survived_after_return)" = 60
check "every VIP answered new connections within 5 s" test "$(field all_vips_back_ms)" -le 5000
check "the script's own verdict agrees" test "$rc" = 0
lab_checks_done "lab active-active"
