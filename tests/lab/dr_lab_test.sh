#!/usr/bin/env bash
# Lab test: direct routing through the XDP program, in namespaces (see
# scripts/lib/lab.sh). A client makes real TCP connections to the VIPs; three
# real servers answer with their names. Asserts what a user would check:
# every connection succeeds, the reals share the load, and removing a real
# moves new connections away from it without resetting established ones.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/lab.sh"
source "$here/../../scripts/lib/lab_checks.sh"
lab_init "${1:?usage: dr_lab_test.sh BUILD_DIR}"
trap netns_down EXIT

lab_up
lab_start_servers
lab_dp attach d0 d1 >/dev/null
for svc in 192.0.2.10:80/tcp 192.0.2.10:80/udp; do
  lab_dp service add "$svc"
  lab_dp real set "$svc" 203.0.113.11 203.0.113.12 203.0.113.13
done
lab_dp service add "[2001:db8:10::10]:80/tcp"
lab_dp real set "[2001:db8:10::10]:80/tcp" 2001:db8:2::11 2001:db8:2::12 2001:db8:2::13

# 600 rather than 300: the +-25% share check then sits 4 standard deviations
# from chance instead of 3.
out=$(lab_client connect --target 192.0.2.10:80 --count 600 || true)
echo "$out"
check "600 TCP connections through the IPv4 VIP succeed" passed_all "$out" connect 600
check "each real gets a third (+-25%) of them" balanced "$out" 600

out=$(lab_client connect --target 192.0.2.10:80 --count 600 --udp || true)
check "600 UDP requests through the IPv4 VIP are answered" passed_all "$out" connect 600
check "each real gets a third (+-25%) of the UDP requests" balanced "$out" 600

out=$(lab_client connect --target "[2001:db8:10::10]:80" --count 600 || true)
echo "$out"
check "600 TCP connections through the IPv6 VIP succeed" passed_all "$out" connect 600
check "each real gets a third (+-25%) of the IPv6 ones" balanced "$out" 600

# Ten long-lived connections exchange a line every 50 ms for 3 s; meanwhile
# a new instance of the program replaces the running one (as after an
# upgrade or a restart of the control plane), real3 is removed and 600 new
# connections are made.
for target in 192.0.2.10:80 "[2001:db8:10::10]:80"; do
  hold_out=$LAB_RUN/hold.out
  ip netns exec "$C" "$LAB_BUILD/tests/lab/xlb-lab-client" hold --target "$target" --conns 10 \
    --interval-ms 50 --seconds 3 >"$hold_out" &
  hold_pid=$!
  netns_own "$hold_pid"
  netns_wait_for 10 "long-lived connections" grep -qx ready "$hold_out"
  lab_dp attach d0 d1 >/dev/null
  svc="$target/tcp"
  if [[ $target == 192.* ]]; then
    lab_dp real set "$svc" 203.0.113.11 203.0.113.12
  else
    lab_dp real set "$svc" 2001:db8:2::11 2001:db8:2::12
  fi
  out=$(lab_client connect --target "$target" --count 600 || true)
  check "$target: new connections all succeed after real3 was removed" passed_all "$out" connect 600
  check "$target: no new connection goes to the removed real3" \
    bash -c "! grep -q '^server real3 ' <<<'$out'"
  hold_rc=0
  wait "$hold_pid" || hold_rc=$?
  grep -E '^(conn|hold|max_gap)' "$hold_out" | sed 's/^/  /'
  check "$target: the 10 long-lived connections kept exchanging data, none reset" \
    passed_all "$(cat "$hold_out")" hold 10
  check "$target: the long-lived client exited cleanly" test "$hold_rc" -eq 0
done

stats=$(lab_dp stats)
echo "director counters:"
sed 's/^/  /' <<<"$stats"
check "the director saw no malformed packet" grep -Eq '^malformed +0$' <<<"$stats"
lab_dp list --stats | sed 's/^/  /'

lab_checks_done "lab dr"
