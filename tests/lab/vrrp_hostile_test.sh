#!/bin/bash
# VRRP under hostile input from off-link: two xlbd directors (A priority 150,
# B 100, 100 ms adverts) and an attacker (X) on one bridge. For 6 s X sends
# B protocol-112 datagrams no advert can be: 9000 bytes (fragmented at MTU
# 1500; longer than the speaker's receive buffer once reassembled) with TTL
# 255, and advert-sized ones with TTL 1 (off-link), to the VRRP group and to
# B's address. Neither director may change state, A keeps the VIP, and B
# counts the drops (the XDP program's vrrp_dropped).
# Before the fix a truncated read paused B's receiving 100 ms per datagram:
# its socket filled with junk, adverts were lost and B took the VIP.
# Needs root and python3. Everything it creates is removed on exit, also on
# failure.
set -euo pipefail
BUILD=$(cd "${1:?usage: vrrp_hostile_test.sh BUILD_DIR}" && pwd)
PYTHON=/usr/bin/python3
[[ -x $PYTHON ]] || { echo "FAIL: $PYTHON is needed to send the attack"; exit 1; }
source "$(dirname "$0")/../../scripts/lib/lab_checks.sh"
source "$(dirname "$0")/../../scripts/lib/netns.sh"

netns_init vh
P=$NETNS_PREFIX TMP=$NETNS_RUN NETNS_WAIT_LOG=1
A=$P-a B=$P-b X=$P-x S=$P-s
trap netns_down EXIT
trap 'exit 1' INT TERM

log() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*"; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# --- the lab ---------------------------------------------------------------
for ns in "$A" "$B" "$X" "$S"; do netns_add "$ns"; done
netns_bridge "$S"
netns_attach "$A" "$S" pa 198.51.100.2/24
netns_attach "$B" "$S" pb 198.51.100.3/24
netns_attach "$X" "$S" px 198.51.100.66/24
VIP=198.51.100.10

only_on() { netns_has_addr "$1" "$3" && ! netns_has_addr "$2" "$3"; }  # only_on NS OTHER VIP

start_xlbd() {  # start_xlbd NS PRIORITY
  local ns=$1 dir=$TMP/$1
  netns_mount_bpf "$dir/bpf"
  cat >"$dir/xlb.yaml" <<EOF
interfaces: [eth0]
api: {socket: $dir/xlbd.sock, metrics: ""}
services:
  - {name: web, vip: 203.0.113.80, port: 80, reals: [{address: 203.0.113.81}]}
vrrp:
  - {name: v, interface: eth0, vrid: 70, priority: $2, advert_interval: 100ms,
     addresses: [$VIP/24]}
EOF
  netns_start "$ns" "$BUILD/controlplane/xlbd" --config "$dir/xlb.yaml" --pin-dir "$dir/bpf" \
    --detach-on-exit >>"$dir/xlbd.log" 2>&1
  netns_wait_for 10 "xlbd in ${ns##*-} answers" xlbctl "$ns" status || {
    tail -20 "$dir/xlbd.log"
    return 1
  }
}
xlbctl() { local ns=$1; shift; in_ns "$ns" "$BUILD/controlplane/xlbctl" --socket "$TMP/$ns/xlbd.sock" "$@"; }
vrrp_field() {  # vrrp_field NS JQ_PATH: of instance v
  xlbctl "$1" --json vrrp | jq -r ".[] | select(.name == \"v\") | $2"
}
state_is() { [[ $(vrrp_field "$1" .state) == "$2" ]]; }
counter() { xlbctl "$1" --json status | jq -r ".counters.$2 // 0"; }

start_xlbd "$A" 150
start_xlbd "$B" 100
check "A (150) is master" netns_wait_for 5 "A master" state_is "$A" MASTER
check "B (100) is backup" netns_wait_for 5 "B backup" state_is "$B" BACKUP
check "the VIP is on A only" netns_wait_for 5 "VIP on A only" only_on "$A" "$B" "$VIP"
changes_a=$(vrrp_field "$A" .counters.state_changes)
changes_b=$(vrrp_field "$B" .counters.state_changes)
dropped_b=$(counter "$B" vrrp_dropped)

# --- the attack: bounded in time (6 s) and rate (about 400 datagrams/s) ----
log "attack: 6 s of 9000-byte (fragmented) and TTL-1 protocol-112 datagrams at B"
sent=$(in_ns "$X" timeout 20 "$PYTHON" "$(dirname "$0")/tools/vrrp_attack.py" 224.0.0.18 198.51.100.3 198.51.100.66 70 6)
log "  $sent datagrams sent"
check "the attacker sent datagrams" test "${sent:-0}" -gt 1000
check "B counted the hostile datagrams as dropped" \
  test "$(counter "$B" vrrp_dropped)" -gt "$((dropped_b + 1000))"
check "A changed no state during the attack" \
  test "$(vrrp_field "$A" .counters.state_changes)" = "$changes_a"
check "B changed no state during the attack" \
  test "$(vrrp_field "$B" .counters.state_changes)" = "$changes_b"
check "A is still master" state_is "$A" MASTER
check "B is still backup" state_is "$B" BACKUP
check "the VIP is still on A only" only_on "$A" "$B" "$VIP"
lab_checks_done vrrp_hostile
