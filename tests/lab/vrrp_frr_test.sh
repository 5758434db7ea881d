#!/bin/bash
# VRRPv3 against a second implementation, FRR's vrrpd (Debian's frr), two
# namespaces on a bridge: A runs xlbd, B runs zebra + vrrpd with the macvlan
# FRR wants per VRID (its virtual MAC, the VIP on it; FRR switches it with
# protodown).
#   (1) FRR alone becomes master; xlbd decodes its adverts (no drop);
#   (2) xlbd priority 200 starts: it preempts, FRR goes to Backup and counts
#       our adverts as received;
#   (3) kill -9 xlbd: FRR takes over within the master-down interval;
#   (4) xlbd back at priority 50: backup, seeing FRR (priority 100) as master.
# FRR's daemons run with a path space of their own (-N, scripts/lib/frr.sh):
# its files live in /var/run/frr/PREFIX, removed at the end like the rest.
set -euo pipefail
BUILD=$(cd "${1:?usage: vrrp_frr_test.sh BUILD_DIR}" && pwd)
[[ -x /usr/lib/frr/vrrpd && -x /usr/lib/frr/zebra ]] || {
  echo "FAIL: FRR is not installed (scripts/setup.sh installs frr)"
  exit 1
}
source "$(dirname "$0")/../../scripts/lib/lab_checks.sh"

source "$(dirname "$0")/../../scripts/lib/netns.sh"
source "$(dirname "$0")/../../scripts/lib/frr.sh"

netns_init vf
P=$NETNS_PREFIX TMP=$NETNS_RUN
A=$P-a B=$P-b S=$P-s
FRR_DIR=$(frr_dir "$P")
VIP=198.51.100.12 VRID=71
trap 'netns_down' EXIT
trap 'exit 1' INT TERM

log() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*"; }

for ns in "$A" "$B" "$S"; do netns_add "$ns"; done
netns_bridge "$S"
netns_attach "$A" "$S" pa 198.51.100.2/24
netns_attach "$B" "$S" pb 198.51.100.3/24
# FRR's VRRP interface: a macvlan with the virtual MAC 00:00:5e:00:01:VRID.
ip -n "$B" link add "vrrp4-2-$VRID" link eth0 type macvlan mode bridge
ip -n "$B" link set "vrrp4-2-$VRID" address "00:00:5e:00:01:$(printf '%02x' $VRID)"
ip -n "$B" addr add "$VIP/24" dev "vrrp4-2-$VRID"
ip -n "$B" link set "vrrp4-2-$VRID" up

# --- FRR ----------------------------------------------------------------------
mkdir -p "$FRR_DIR"
cat >"$FRR_DIR/vrrpd.conf" <<EOF
interface eth0
 vrrp $VRID version 3
 vrrp $VRID priority 100
 vrrp $VRID advertisement-interval 100
 vrrp $VRID ip $VIP
EOF
frr_start "$P" "$B" "$TMP/frr.out" vrrpd
frr_show() { frr_vtysh "$P" "$B" -c "show vrrp $VRID"; }
frr_field() { frr_show | awk -v f="$1" 'index($0, f) == 2 { print $NF; exit }'; }
frr_status_is() { [[ $(frr_show | awk '/Status \(v4\)/ { print $3 }') == "$1" ]]; }

# --- xlbd ---------------------------------------------------------------------
netns_mount_bpf "$TMP/bpf"
XPID=
start_xlbd() {  # start_xlbd PRIORITY
  cat >"$TMP/xlb.yaml" <<EOF
interfaces: [eth0]
api: {socket: $TMP/xlbd.sock, metrics: ""}
vrrp:
  - {name: f, interface: eth0, vrid: $VRID, priority: $1, advert_interval: 100ms, addresses: [$VIP/24]}
EOF
  netns_start "$A" "$BUILD/controlplane/xlbd" --config "$TMP/xlb.yaml" --pin-dir "$TMP/bpf" \
    --detach-on-exit >>"$TMP/xlbd.log" 2>&1
  XPID=$NETNS_LAST_PID
  netns_wait_for 10 "xlbd answers" xlbctl status
}
xlbctl() { ip netns exec "$A" "$BUILD/controlplane/xlbctl" --socket "$TMP/xlbd.sock" "$@"; }
field() { xlbctl --json vrrp | jq -r ".[0]$1"; }
field_is() { [[ $(field "$1") == "$2" ]]; }
positive() { (($(field "$1") > 0)); }
no_drops() { xlbctl --json vrrp | jq -e '[.[0].counters | to_entries[] | select((.key | test("^(bad|too|not|wrong)_")) and .value > 0)] | length == 0' >/dev/null; }

log "(1) FRR alone"
check "(1) FRR becomes master" netns_wait_for 10 "FRR master" frr_status_is Master
start_xlbd 200
check "(1) xlbd receives FRR's adverts" netns_wait_for 5 "adverts from FRR" positive .counters.adverts_received
check "(1) and drops none of them (checksum, length, TTL, version...)" no_drops
log "(2) xlbd at priority 200"
check "(2) xlbd preempts FRR" netns_wait_for 5 "xlbd master" field_is .state MASTER
check "(2) FRR goes to Backup" netns_wait_for 5 "FRR backup" frr_status_is Backup
check "(2) FRR counts our adverts as received" \
  netns_wait_for 5 "FRR Rx" bash -c "(( \$(ip netns exec '$B' vtysh -N '$P' --config_dir /var/run/frr -c 'show vrrp $VRID' | awk '/Advertisements Rx \\(v4\\)/ { print \$NF }') > 0 ))"
check "(2) xlbd holds the VIP" bash -c "ip -n '$A' -o addr show dev eth0 | grep -q ' $VIP/'"
log "(3) kill -9 xlbd"
kill -9 "$XPID"
wait "$XPID" 2>/dev/null || true
netns_forget "$XPID"
check "(3) FRR takes over" netns_wait_for 5 "FRR master" frr_status_is Master
log "(4) xlbd back at priority 50"
start_xlbd 50
check "(4) xlbd is backup" netns_wait_for 5 "xlbd backup" field_is .state BACKUP
check "(4) seeing FRR as master" netns_wait_for 5 "master is FRR" field_is .master 198.51.100.3
check "(4) at priority 100" field_is .master_priority 100
check "(4) the restarted xlbd removed the VIP the killed one left" \
  bash -c "! ip -n '$A' -o addr show dev eth0 | grep -q ' $VIP/'"
netns_stop "$XPID"

lab_checks_done "lab vrrp frr" || {
  for f in "$TMP/xlbd.log" "$FRR_DIR/frr.log"; do echo "--- $f"; tail -20 "$f"; done
  frr_show || true
  exit 1
}
