#!/usr/bin/env bash
# Lab test: how xlbd attaches its XDP program, and says so. (1) By default
# (native mode) it joins libxdp's dispatcher where that loads, else attaches
# directly, and `xlbctl status` and the log say which; what `ip link` shows
# agrees. (2) An interface that already has another program attached
# directly (not through libxdp) is refused, naming it, and that program
# stays. (3) An interface without native XDP (a bridge) is a clear error
# naming it and --xdp-mode=generic; (4) with --xdp-mode=generic xlbd runs
# there, warns what it costs, says so in its status, and forwards; on exit
# with --detach-on-exit it leaves no program behind.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/lab.sh"
source "$here/../../scripts/lib/lab_checks.sh"
lab_init "${1:?usage: xdp_mode_test.sh BUILD_DIR}"
trap netns_down EXIT

lab_up
lab_start_servers
# libxdp keeps its dispatcher's pins and lock under $LIBXDP_BPFFS/xdp
# (default /sys/fs/bpf, which `ip netns exec` hides): this run's bpffs, so
# that parallel runs never share them.
export LIBXDP_BPFFS=$LAB_PINS
xlbd() { ip netns exec "$D" timeout 20 env LIBXDP_BPFFS="$LAB_PINS" "$LAB_BUILD/controlplane/xlbd" "$@"; }
write_config() {  # write_config FILE INTERFACES
  cat >"$1" <<YAML
interfaces: [$2]
api: {socket: $SOCK, metrics: ""}
services:
  - name: web
    vip: $LAB_VIP4
    port: 80
    reals: [{address: 203.0.113.11}, {address: 203.0.113.12}, {address: 203.0.113.13}]
YAML
}
dr_answers() {
  local out
  out=$(lab_client connect --target "$LAB_VIP4:80" --count 30 2>/dev/null || true)
  passed_all "$out" connect 30
}
attach_of() { xlbctl --json status | jq -r --arg i "$1" '.xdp[] | select(.interface == $i) | .attach'; }
# The name of the program `ip link` shows on an interface ("" for none).
prog_on() {
  local id
  id=$(ip -n "$D" -j link show dev "$1" | jq -r '.[0].xdp.prog.id // .[0].xdp.attached[0].prog.id // empty')
  [ -n "$id" ] || return 0
  ip netns exec "$D" bpftool prog show id "$id" -j | jq -r .name
}
stop_xlbd() { kill -TERM "$XLBD_PID"; wait "$XLBD_PID" || true; }

# (1) Native, the default.
write_config "$CONF" "d0, d1"
lab_start_xlbd
how=$(attach_of d0)
check "(1) status says how d0 is attached: libxdp-dispatcher or direct-native (got '$how')" \
  grep -qxE "libxdp-dispatcher|direct-native" <<<"$how"
check "(1) ... and d1 alike" test "$(attach_of d1)" = "$how"
if [ "$how" = direct-native ]; then
  check "(1) ... the log says why libxdp's dispatcher was not used" \
    grep -q "libxdp's dispatcher did not take xlb on d0 .*attaching xlb directly" "$XLBD_LOG"
  check "(1) ... and ip link shows xlb's own program on d0" test "$(prog_on d0)" = xlb_xdp
else
  check "(1) ... and ip link shows libxdp's dispatcher on d0" test "$(prog_on d0)" = xdp_dispatcher
fi
check "(1) the log names the attachment" grep -q "XDP program attached to d0: $how" "$XLBD_LOG"
status_says() { xlbctl status | grep -q -- "$1"; }
check "(1) xlbctl status shows it" status_says "^interfaces: d0 ($how) d1 ($how)\$"
check "(1) traffic through the DR VIP" dr_answers
# A restart hands over to the new program and keeps the attachment.
stop_xlbd
check "(1) after xlbd stopped (no --detach-on-exit) the program still forwards" dr_answers
check "(1) a start in the other mode is refused before it changes anything" \
  fails_with 1 "d0 has xlb attached in native XDP mode, not the generic mode asked for; detach xlb first .*; nothing was changed" \
  xlbd --config "$CONF" --pin-dir "$LAB_PINS" --xdp-mode=generic
check "(1) ... and the program still forwards" dr_answers
lab_start_xlbd
check "(1) a restarted xlbd attaches the same way" test "$(attach_of d0)" = "$how"
check "(1) ... and forwards" dr_answers
stop_xlbd

# (2) Another program attached directly to an interface xlb is to use.
ip -n "$D" link add v0 type veth peer name v1
ip -n "$D" link set v0 up
ip -n "$D" link set v1 up
ip -n "$D" link set dev v0 xdpdrv obj "$LAB_BUILD/bpf/pass.bpf.o" sec xdp
other=$(ip -n "$D" -j link show dev v0 | jq -r '.[0].xdp.prog.id')
write_config "$LAB_RUN/other.yaml" "d0, d1, v0"
check "(2) an interface with another program attached directly is refused, naming it" \
  fails_with 1 "v0 already has XDP program $other \(xlb_pass\) attached, not through libxdp's dispatcher" \
  xlbd --config "$LAB_RUN/other.yaml" --pin-dir "$LAB_PINS"
check "(2) ... and that program stays" \
  test "$(ip -n "$D" -j link show dev v0 | jq -r '.[0].xdp.prog.id')" = "$other"
check "(2) ... and xlb still forwards on d0, d1" dr_answers

# (3) A bridge: the client's side of the director becomes bridge dbr0 (port
# d0), which has no native XDP. The program on d0, d1 is detached first: a
# generic program cannot replace a native one.
ip netns exec "$D" "$LAB_BUILD/dataplane/tool/xlb-dp" --pin-dir "$LAB_PINS" detach d0 d1
ip -n "$D" link add dbr0 type bridge
ip -n "$D" link set dbr0 address 02:00:00:00:db:01
ip -n "$D" addr flush dev d0
ip -n "$D" link set d0 master dbr0
ip -n "$D" addr add 198.51.100.1/24 dev dbr0
ip -n "$D" link set dbr0 up
ip netns exec "$D" sysctl -qw net.ipv4.conf.dbr0.rp_filter=0
ip -n "$C" neigh flush dev c0
write_config "$CONF" "dbr0, d1"
check "(3) native mode on a bridge fails, naming it and --xdp-mode=generic" \
  fails_with 1 "attach XDP program to dbr0 \(native mode\): Operation not supported: the driver of dbr0 has no native XDP.*--xdp-mode=generic" \
  xlbd --config "$CONF" --pin-dir "$LAB_PINS"
check "(3) ... and leaves no program on it" test -z "$(prog_on dbr0)"
check "(3) a mode that does not exist is refused" \
  fails_with 2 "--xdp-mode 'fast' is not a mode \(expected native or generic\)" \
  xlbd --config "$CONF" --pin-dir "$LAB_PINS" --xdp-mode=fast

# (4) Generic mode on the bridge (and on d1: one mode for all).
lab_start_xlbd --xdp-mode=generic --detach-on-exit
how=$(attach_of dbr0)
check "(4) status says generic on dbr0 (got '$how')" \
  grep -qxE "libxdp-dispatcher-generic|direct-generic" <<<"$how"
check "(4) the log warns what generic mode costs" \
  grep -q "XDP generic mode on dbr0 (--xdp-mode=generic): .*much slower than native mode" "$XLBD_LOG"
generic_shown() {
  status_says "^interfaces: dbr0 ($how) d1 ($how)\$" &&
    status_says "generic XDP runs after the kernel built the skb: much slower"
}
check "(4) xlbctl status shows it, and that it is slower" generic_shown
check "(4) ip link shows a generic-mode program on dbr0" \
  bash -c "ip -n '$D' -d link show dev dbr0 | grep -q 'xdpgeneric'"
check "(4) traffic through the DR VIP, over the bridge" dr_answers
stop_xlbd
check "(4) --detach-on-exit leaves no program on dbr0" test -z "$(prog_on dbr0)"
check "(4) ... nor on d1" test -z "$(prog_on d1)"
check "(4) ... and no pinned maps" bash -c "! ls '$LAB_PINS' | grep -q conn_table"
check "(4) ... and no libxdp dispatcher pins" bash -c "! ls '$LAB_PINS/xdp' 2>/dev/null | grep -q dispatch"

lab_checks_done "lab xdp_mode" || { echo "--- xlbd log"; tail -40 "$XLBD_LOG"; exit 1; }
