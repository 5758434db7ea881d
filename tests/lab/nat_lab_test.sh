#!/usr/bin/env bash
# Lab test: NAT through the XDP program (see scripts/lib/lab.sh). The reals
# sit on their own subnet behind the director, their gateway; the client is
# on another. Requests to VIP:80 reach the reals' port 8080; their replies
# come back through the director and leave with the VIP's address and port.
# Asserts what a user would check: every connection and request gets the
# right answer, the reals share the load, and no namespace's kernel saw a
# bad checksum.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/lab.sh"
source "$here/../../scripts/lib/lab_checks.sh"
lab_init "${1:?usage: nat_lab_test.sh BUILD_DIR}"
trap netns_down EXIT

lab_up
lab_start_servers
lab_dp attach d0 d1 >/dev/null
for proto in tcp udp; do
  lab_dp service add "$LAB_NAT_VIP4:80/$proto" --forward nat
  lab_dp real set "$LAB_NAT_VIP4:80/$proto" 203.0.113.11:8080 203.0.113.12:8080 203.0.113.13:8080
  lab_dp service add "[$LAB_NAT_VIP6]:80/$proto" --forward nat
  lab_dp real set "[$LAB_NAT_VIP6]:80/$proto" "[2001:db8:2::11]:8080" "[2001:db8:2::12]:8080" \
    "[2001:db8:2::13]:8080"
done
# Direct routing on the same director, another VIP, at the same time.
lab_dp service add "$LAB_VIP4:80/tcp"
lab_dp real set "$LAB_VIP4:80/tcp" 203.0.113.11 203.0.113.12 203.0.113.13

# 600 rather than 300 of each: the +-25% share check then sits 4 standard
# deviations from chance instead of 3.
for target in "$LAB_NAT_VIP4:80" "[$LAB_NAT_VIP6]:80"; do
  for mode in tcp udp; do
    args=(--target "$target" --count 600)
    [[ $mode == udp ]] && args+=(--udp)
    out=$(lab_client connect "${args[@]}" || true)
    echo "$out" | sed 's/^/  /'
    check "$target/$mode: 600 through NAT all answered by a real" passed_all "$out" connect 600
    check "$target/$mode: each real gets a third (+-25%)" balanced "$out" 600
  done
done
out=$(lab_client connect --target "$LAB_VIP4:80" --count 300 || true)
check "direct routing beside NAT: 300 connections succeed" passed_all "$out" connect 300

# Long-lived NAT connections keep going while the program is replaced.
hold_out=$LAB_RUN/hold.out
ip netns exec "$C" "$LAB_BUILD/tests/lab/xlb-lab-client" hold --target "$LAB_NAT_VIP4:80" \
  --conns 10 --interval-ms 50 --seconds 2 >"$hold_out" &
hold_pid=$!
netns_own "$hold_pid"
netns_wait_for 10 "long-lived connections" grep -qx ready "$hold_out"
lab_dp attach d0 d1 >/dev/null
hold_rc=0
wait "$hold_pid" || hold_rc=$?
check "10 long-lived NAT connections exchanged data throughout, none reset" \
  passed_all "$(cat "$hold_out")" hold 10

for ns in "$C" "$D" "$R1" "$R2" "$R3"; do
  errors=$(lab_csum_errors "$ns")
  check "no checksum errors in ${ns#"$LAB_PREFIX"-} (TcpInCsumErrors+UdpInCsumErrors: $errors)" \
    test "$errors" = 0
done

stats=$(lab_dp stats)
echo "director counters:"
sed 's/^/  /' <<<"$stats"
check "replies were rewritten by XDP" grep -Eq '^nat_reply +[1-9]' <<<"$stats"
check "no reply went unmatched" grep -Eq '^nat_unmatched +0$' <<<"$stats"
lab_checks_done "lab nat"
