#!/usr/bin/env bash
# Lab test of xlb-pktgen: a generator namespace and a sink namespace joined
# by a veth. Asserts what a user would check: each engine sends exactly the
# count it was given and the sink on the other side counts exactly that
# many (IPv4 UDP, IPv6 TCP SYN); a set rate holds the run back; a run
# bounded by time stops on time; a destination outside the lab's addresses
# and unbounded runs are refused, sending nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/lab.sh"
source "$here/../../scripts/lib/lab_checks.sh"
lab_init "${1:?usage: pktgen_lab_test.sh BUILD_DIR}"
PKTGEN=$LAB_BUILD/pktgen/xlb-pktgen
G=$C
DPDK_RUN=/var/run/dpdk/$LAB_PREFIX  # the EAL's files for --file-prefix $LAB_PREFIX
cleanup() {
  netns_down
  rm -rf "$DPDK_RUN"
  rmdir /var/run/dpdk 2>/dev/null || true  # only if nothing else is in it
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for ns in "$G" "$R1"; do
  netns_add "$ns"
  # No IPv6 on the link: nothing but the generator's frames reaches the sink.
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$G" link add g0 type veth peer name eth0 netns "$R1"
ip -n "$G" link set g0 up
ip -n "$R1" link set eth0 up
SINK_MAC=$(ip -n "$R1" -br link show eth0 | awk '{print $3}')

# sink_start N: a sink on the real's eth0 that stops once N frames arrived
# (15 s at most); sink_wait waits for it (in this shell: the sink is its
# child) and sets SINK_GOT to what it counted.
SINK_PID= SINK_GOT=
sink_start() {
  netns_start "$R1" "$PKTGEN" sink --interface eth0 --until-count "$1" --duration 15 --json \
    >"$LAB_RUN/sink.json" 2>"$LAB_RUN/sink.err"
  SINK_PID=$NETNS_LAST_PID
  netns_wait_for 10 "the sink" grep -q ready "$LAB_RUN/sink.err"
}
sink_wait() {
  wait "$SINK_PID" || true
  SINK_GOT=$(jq -r '.packets' "$LAB_RUN/sink.json" 2>/dev/null) || SINK_GOT=none
}
gen() { ip netns exec "$G" "$PKTGEN" --dst-mac "$SINK_MAC" "$@"; }
sent_exactly() { grep -Eq "^sent $2 frames in" <<<"$1"; }

# xdp engine, IPv4 UDP from 256 x 256 flows: exactly the count, at the sink.
sink_start 200000
out=$(gen --interface g0 --dst 192.0.2.10:80/udp --src 198.51.100.0/24 --sport 1024-1279 \
  --count 200000 2>&1) || true
echo "  $(grep '^sent' <<<"$out")"
check "xdp engine: sends exactly --count 200000 (IPv4 UDP, 65536 flows)" sent_exactly "$out" 200000
sink_wait
check "the sink counts exactly 200000 (got $SINK_GOT)" test "$SINK_GOT" = 200000

# xdp engine, IPv6 TCP SYN.
sink_start 50000
out=$(gen --interface g0 --dst "[2001:db8:10::10]:443/tcp" --src 2001:db8:1::100-2001:db8:1::1ff \
  --sport 2000-2099 --count 50000 2>&1) || true
echo "  $(grep '^sent' <<<"$out")"
check "xdp engine: sends exactly --count 50000 (IPv6 TCP SYN)" sent_exactly "$out" 50000
sink_wait
check "the sink counts exactly 50000 (got $SINK_GOT)" test "$SINK_GOT" = 50000

# dpdk engine on the same veth (net_af_packet vdev), paced at 100000/s.
sink_start 50000
out=$(gen --engine dpdk --dst 192.0.2.10:53/udp --src 198.51.100.0/24 --count 50000 \
  --rate 100000 --json -- --no-huge -m 512 --no-pci --file-prefix "$LAB_PREFIX" \
  --log-level=error --vdev "net_af_packet0,iface=g0" 2>"$LAB_RUN/dpdk.err") || true
echo "  dpdk: $out"
check "dpdk engine: sends exactly --count 50000" test "$(jq -r .sent <<<"$out" 2>/dev/null)" = 50000
check "dpdk engine: --rate 100000 takes it 0.5 s or more" \
  awk -v s="$(jq -r .seconds <<<"$out" 2>/dev/null)" 'BEGIN {exit !(s >= 0.49 && s < 5)}'
sink_wait
check "the sink counts exactly 50000 (got $SINK_GOT)" test "$SINK_GOT" = 50000
[[ -n $(jq -r .sent <<<"$out" 2>/dev/null) ]] || sed 's/^/  /' "$LAB_RUN/dpdk.err"

# Bounded by time: a count it cannot reach in 1 s, stopped by --duration 1.
out=$(gen --interface g0 --dst 192.0.2.10:80/udp --src 198.51.100.0/24 --count 10000000000 \
  --duration 1 --json 2>/dev/null) || true
echo "  time-bounded: $out"
check "--duration 1 ends the run after 1 s" \
  awk -v s="$(jq -r .seconds <<<"$out" 2>/dev/null)" 'BEGIN {exit !(s >= 0.99 && s < 1.5)}'

# Bad input: refused with the reason, nothing sent.
sink_start 1
check "a destination outside the lab's addresses is refused" fails_with 2 \
  "destination 8\.8\.8\.8 is outside .*--allow-any-destination" \
  gen --interface g0 --dst 8.8.8.8:53/udp --src 198.51.100.1 --count 10
check "--count 0 is refused (runs are always bounded)" fails_with 2 "--count 0: must be 1\.\." \
  gen --interface g0 --dst 192.0.2.10:53/udp --src 198.51.100.1 --count 0
check "--duration above 3600 is refused" fails_with 2 "--duration 4000: must be" \
  gen --interface g0 --dst 192.0.2.10:53/udp --src 198.51.100.1 --duration 4000
check "a source of the other family is refused" fails_with 2 "different families" \
  gen --interface g0 --dst 192.0.2.10:53/udp --src 2001:db8::1
kill -TERM "$SINK_PID"
sink_wait
check "nothing reached the sink from the refused runs (got $SINK_GOT)" test "$SINK_GOT" = 0

lab_checks_done "lab pktgen"
