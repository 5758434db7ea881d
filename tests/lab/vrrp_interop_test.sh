#!/bin/bash
# VRRP between directors, as users replace keepalived instance by instance:
# two director namespaces (A, B) and a client (C) on one bridge (S).
#   (1) xlbd priority 200 vs keepalived priority 100, v2 with PASS auth and
#       v3 (IPv4 and IPv6): xlbd is master, keepalived backup, each VIP only
#       on A;
#   (2) kill -9 xlbd: keepalived takes every VIP over;
#   (3) reverse roles: xlbd restarted with priority 50 removes what the
#       killed one left on its interface and stays backup to keepalived;
#   (4) xlbd vs xlbd with unicast peers: A master; kill -9 A, B takes over;
#   (5) A tracks a service: its only real fails its check, A's priority
#       drops below B's and the VIP moves to B; the real comes back and A
#       preempts again;
#   (6) SIGTERM A: it resigns with priority 0 and B takes over after its
#       skew time, well before the master-down interval; nothing is left on
#       A's interface.
#   (7) an exec track failing lowers A's priority and B takes over, and back;
#       the notify script runs with name, state and priority on each change;
#       A's own link going down puts it in FAULT (no VIP), and back up it
#       preempts again. (Run before (6), which ends the test.)
# The client checks who answers ARP for the VIP, which is what routers see.
# Needs root and keepalived (scripts/setup.sh installs it). Everything it
# creates is removed on exit, also on failure.
set -euo pipefail
BUILD=$(cd "${1:?usage: vrrp_interop_test.sh BUILD_DIR}" && pwd)
command -v keepalived >/dev/null || {
  echo "FAIL: keepalived is not installed (scripts/setup.sh installs it)"
  exit 1
}
source "$(dirname "$0")/../../scripts/lib/lab_checks.sh"

source "$(dirname "$0")/../../scripts/lib/netns.sh"

netns_init vi
P=$NETNS_PREFIX TMP=$NETNS_RUN NETNS_WAIT_LOG=1
A=$P-a B=$P-b C=$P-c S=$P-s
trap netns_down EXIT
trap 'exit 1' INT TERM

log() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*"; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# --- the lab ---------------------------------------------------------------
# xlbd's XDP program runs on eth0; frames it sends back out would need a
# program on the peer (PLATFORM.md). This test sends no traffic through it.
for ns in "$A" "$B" "$C" "$S"; do netns_add "$ns"; done
netns_bridge "$S"
declare -A ADDR=([$A]=198.51.100.2 [$B]=198.51.100.3 [$C]=198.51.100.9)
declare -A ADDR6=([$A]=2001:db8:51::2 [$B]=2001:db8:51::3 [$C]=2001:db8:51::9)
for ns in "$A" "$B" "$C"; do
  in_ns "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  netns_attach "$ns" "$S" "p${ns##*-}" "${ADDR[$ns]}/24" "${ADDR6[$ns]}/64"
done
# A link-local address is what IPv6 adverts come from.
for ns in "$A" "$B"; do
  for _ in $(seq 50); do
    in_ns "$ns" ip -6 -o addr show dev eth0 scope link | grep -q fe80 && break
    sleep 0.1
  done
done

VIP2=198.51.100.10  # v2, PASS auth, 1 s adverts
VIP3=198.51.100.11  # v3 IPv4
VIP6=2001:db8:51::11  # v3 IPv6

has_addr() { netns_has_addr "$@"; }
lacks_addr() { ! netns_has_addr "$@"; }
only_on() { has_addr "$1" "$3" && lacks_addr "$2" "$3"; }  # only_on NS OTHER VIP
# Who answers for the VIP, seen from the client: its neighbour entry after a
# ping (what a router in front of the directors learns).
arp_owner_is() {  # arp_owner_is NS VIP
  local want
  want=$(in_ns "$1" cat /sys/class/net/eth0/address)
  in_ns "$C" ip neigh flush dev eth0 >/dev/null 2>&1 || true
  in_ns "$C" ping -c 1 -W 1 "$2" >/dev/null 2>&1 || return 1
  in_ns "$C" ip neigh show "$2" dev eth0 | grep -qi "lladdr $want"
}

# --- xlbd ------------------------------------------------------------------
declare -A XPID
start_xlbd() {  # start_xlbd NS CONFIG_BODY(vrrp section) [XLBD_FLAG...]
  local ns=$1 dir=$TMP/$1 body=$2
  shift 2
  mountpoint -q "$dir/bpf" || netns_mount_bpf "$dir/bpf"
  cat >"$dir/xlb.yaml" <<EOF
interfaces: [eth0]
api: {socket: $dir/xlbd.sock, metrics: ""}
services:
  - name: web
    vip: 203.0.113.80
    port: 80
    reals: [{address: 203.0.113.81}]
    health: {type: exec, command: "test -e $TMP/real-up-$ns", interval: 100ms, timeout: 100ms, rise: 1, fall: 1}
vrrp:
$body
EOF
  # ip netns exec execs xlbd: $! is xlbd's own PID (a shell function would
  # fork a subshell, and the signals would miss xlbd).
  ip netns exec "$ns" "$BUILD/controlplane/xlbd" --config "$dir/xlb.yaml" --pin-dir "$dir/bpf" \
    --detach-on-exit "$@" >>"$dir/xlbd.log" 2>&1 &
  XPID[$ns]=$!
  netns_own "${XPID[$ns]}"
  netns_wait_for 10 "xlbd in ${ns##*-} answers" xlbctl "$ns" status || {
    tail -20 "$dir/xlbd.log"
    return 1
  }
}
xlbctl() { local ns=$1; shift; in_ns "$ns" "$BUILD/controlplane/xlbctl" --socket "$TMP/$ns/xlbd.sock" "$@"; }
vrrp_state() {  # vrrp_state NS INSTANCE STATE
  xlbctl "$1" --json vrrp | jq -e --arg n "$2" --arg s "$3" '.[] | select(.name == $n) | .state == $s' >/dev/null
}
vrrp_field() {  # vrrp_field NS INSTANCE JQ_PATH
  xlbctl "$1" --json vrrp | jq -r --arg n "$2" ".[] | select(.name == \$n) | $3"
}
field_is() { [[ $(vrrp_field "$1" "$2" "$3") == "$4" ]]; }  # field_is NS INSTANCE JQ_PATH VALUE
field_positive() { (($(vrrp_field "$1" "$2" "$3") > 0)); }  # field_positive NS INSTANCE JQ_PATH
ka_all_backup() { (($(grep -c 'Entering BACKUP STATE$' "$TMP/ka/log") >= 3)); }
# thread_sched NS NAME: "CLASS RTPRIO" of xlbd's thread NAME (ps: TS -, RR 10).
thread_sched() {
  ps -L -o comm=,cls=,rtprio= -p "${XPID[$1]}" | awk -v n="$2" '$1 == n {print $2, $3}'
}
kill9() { kill -9 "${XPID[$1]}"; wait "${XPID[$1]}" 2>/dev/null || true; netns_forget "${XPID[$1]}"; }
stop_xlbd() { netns_stop "${XPID[$1]}"; }

# --- keepalived -------------------------------------------------------------
KPID=
start_keepalived() {  # start_keepalived NS PRIORITY
  local dir=$TMP/ka
  mkdir -p "$dir"
  cat >"$dir/keepalived.conf" <<EOF
global_defs {
  router_id $P
  enable_script_security
}
vrrp_instance V2 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority $2
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass s3cret
  }
  virtual_ipaddress {
    $VIP2/24
  }
}
vrrp_instance V3 {
  state BACKUP
  version 3
  interface eth0
  virtual_router_id 52
  priority $2
  advert_int 0.1
  virtual_ipaddress {
    $VIP3/24
  }
}
vrrp_instance V6 {
  state BACKUP
  version 3
  interface eth0
  virtual_router_id 53
  priority $2
  advert_int 0.1
  virtual_ipaddress {
    $VIP6/64
  }
}
EOF
  ip netns exec "$1" keepalived -n -l -D -f "$dir/keepalived.conf" -p "$dir/k.pid" -r "$dir/vrrp.pid" \
    -c "$dir/chk.pid" >>"$dir/log" 2>&1 &
  KPID=$!
  netns_own "$KPID"
}

# The same three instances in xlbd's words.
xlbd_vs_keepalived() {  # PRIORITY
  cat <<EOF
  - {name: v2, interface: eth0, vrid: 51, priority: $1, version: 2, advert_interval: 1s,
     auth: {type: pass, secret: s3cret}, addresses: [$VIP2/24]}
  - {name: v3, interface: eth0, vrid: 52, priority: $1, advert_interval: 100ms, addresses: [$VIP3/24]}
  - {name: v6, interface: eth0, vrid: 53, priority: $1, advert_interval: 100ms, addresses: [$VIP6/64]}
EOF
}

all_on() {  # all_on NS: every VIP on NS's eth0
  has_addr "$1" "$VIP2" && has_addr "$1" "$VIP3" && has_addr "$1" "$VIP6"
}
none_on() { lacks_addr "$1" "$VIP2" && lacks_addr "$1" "$VIP3" && lacks_addr "$1" "$VIP6"; }
all_state() {  # all_state NS STATE
  vrrp_state "$1" v2 "$2" && vrrp_state "$1" v3 "$2" && vrrp_state "$1" v6 "$2"
}

touch "$TMP/real-up-$A" "$TMP/real-up-$B"

log "(1) keepalived (priority 100) starts first, then xlbd (priority 200)"
start_keepalived "$B" 100
check "(1) keepalived becomes master of all three VIPs" netns_wait_for 10 "keepalived master" all_on "$B"
start_xlbd "$A" "$(xlbd_vs_keepalived 200)"
check "(1) xlbd becomes master of all three (it preempts)" netns_wait_for 10 "xlbd master" all_state "$A" MASTER
check "(1) the VIPs are on xlbd's side" netns_wait_for 5 "VIPs on A" all_on "$A"
check "(1) and gone from keepalived's" netns_wait_for 5 "VIPs gone from B" none_on "$B"
check "(1) keepalived says it went back to BACKUP" netns_wait_for 5 "keepalived backup" ka_all_backup
check "(1) the client's ARP for $VIP2 is answered by xlbd" arp_owner_is "$A" "$VIP2"
check "(1) xlbd hears keepalived's v2 adverts with PASS auth" \
  netns_wait_for 5 "v2 adverts received" field_positive "$A" v2 .counters.adverts_received
check "(1) VRRP has a thread of its own, at real-time priority 10 (xlbd's default)" \
  test "$(thread_sched "$A" xlbd-vrrp)" = "RR 10"
other_threads_sched() {  # every thread but VRRP's, one line per distinct scheduling
  ps -L -o comm=,cls=,rtprio= -p "${XPID[$1]}" | awk '$1 != "xlbd-vrrp" {print $2, $3}' | sort -u
}
check "(1) and the rest of xlbd keeps the normal scheduler" test "$(other_threads_sched "$A")" = "TS -"
check "(1) xlbctl vrrp shows the instance as master at priority 200" \
  grep -Eq '^v3 +eth0 +52 +MASTER +200/200 ' <<<"$(xlbctl "$A" vrrp)"
check "(1) keepalived's PASS secret matched ours: no advert dropped for auth" \
  test "$(vrrp_field "$A" v2 .counters.bad_auth)" = 0
# An advert with the wrong secret, at a priority that would win, is dropped.
ip netns exec "$B" "$BUILD/tests/lab/vrrp-io-probe" send eth0 v4 --src "${ADDR[$B]}" \
  --dst 224.0.0.18 --vrid 51 --prio 254 --version 2 --auth wrong --int-cs 100 --vip "$VIP2" \
  >/dev/null
check "(1) an advert with a wrong PASS secret is counted as bad_auth" \
  netns_wait_for 2 "bad_auth counted" field_positive "$A" v2 .counters.bad_auth
check "(1) and changes nothing: xlbd is still master" vrrp_state "$A" v2 MASTER

log "(2) kill -9 xlbd"
kill9 "$A"
check "(2) keepalived takes every VIP over" netns_wait_for 10 "keepalived master again" all_on "$B"
check "(2) the client's ARP for $VIP3 now goes to keepalived" arp_owner_is "$B" "$VIP3"

log "(3) reverse roles: xlbd comes back with priority 50"
start_xlbd "$A" "$(xlbd_vs_keepalived 50)"
check "(3) the restarted xlbd removed the VIPs the killed one left" netns_wait_for 5 "A clean" none_on "$A"
check "(3) xlbd is backup to keepalived" netns_wait_for 5 "xlbd backup" all_state "$A" BACKUP
check "(3) xlbd sees keepalived as master" \
  netns_wait_for 3 "keepalived's advert" field_is "$A" v3 .master "${ADDR[$B]}"
check "(3) at priority 100" field_is "$A" v3 .master_priority 100
# Waited for, not read once: keepalived added its IPv6 VIP in (2) while the
# killed xlbd's copy was still on A, and may be redoing it after a failed DAD.
# What matters is that they end up there, and not on xlbd's side.
check "(3) the VIPs stay with keepalived" netns_wait_for 3 "VIPs on keepalived's side" all_on "$B" ||
  in_ns "$B" ip -o addr show dev eth0
check "(3) and none is on xlbd's side" none_on "$A"
stop_xlbd "$A"
netns_stop "$KPID"
check "xlbd stopped: no VIP left on its side" none_on "$A"
check "keepalived stopped: no VIP left on its side" none_on "$B"

log "(4) xlbd vs xlbd, unicast peers"
unicast() {  # unicast PRIORITY SELF PEER [more yaml]
  cat <<EOF
  - {name: u, interface: eth0, vrid: 60, priority: $1, advert_interval: 100ms,
     unicast: {source: $2, peers: [$3]}, addresses: [$VIP3/24]${4:-}}
EOF
}
start_xlbd "$A" "$(unicast 150 "${ADDR[$A]}" "${ADDR[$B]}" ", track: [{service: web, weight: 100}]")"
start_xlbd "$B" "$(unicast 100 "${ADDR[$B]}" "${ADDR[$A]}")" --realtime-priority 0
check "(4) --realtime-priority 0 leaves the VRRP thread on the normal scheduler" \
  test "$(thread_sched "$B" xlbd-vrrp)" = "TS -"
check "(4) A (150) is master over unicast" netns_wait_for 5 "A master" vrrp_state "$A" u MASTER
check "(4) B (100) is backup" netns_wait_for 5 "B backup" vrrp_state "$B" u BACKUP
check "(4) B hears A as master" netns_wait_for 5 "A heard" field_is "$B" u .master "${ADDR[$A]}"
check "(4) the VIP is on A only" only_on "$A" "$B" "$VIP3"
# A director starved of CPU (here: stopped for 250 ms, 2.5 advert intervals,
# short of B's master-down interval) says so in its counters.
kill -STOP "${XPID[$A]}"
sleep 0.25
kill -CONT "${XPID[$A]}"
check "(4) a VRRP thread held off the CPU counts its late timer" \
  netns_wait_for 2 "timers_late counted" field_positive "$A" u .counters.timers_late
check "(4) and xlbctl vrrp says so" grep -q "timers late by more than an advert interval: " \
  <<<"$(xlbctl "$A" vrrp)"
kill9 "$A"
check "(4) after kill -9 of A, B is master" netns_wait_for 5 "B master" vrrp_state "$B" u MASTER
check "(4) B holds the VIP" netns_wait_for 2 "VIP on B" has_addr "$B" "$VIP3"
start_xlbd "$A" "$(unicast 150 "${ADDR[$A]}" "${ADDR[$B]}" ", track: [{service: web, weight: 100}]")"
check "(4) A back: it preempts B again" netns_wait_for 5 "A master again" vrrp_state "$A" u MASTER
check "(4) and B gave the VIP back" netns_wait_for 2 "VIP gone from B" lacks_addr "$B" "$VIP3"
# A reload that leaves the instance as it was must not touch it.
changes=$(vrrp_field "$A" u .counters.state_changes)
sed -i 's/port: 80$/port: 81/' "$TMP/$A/xlb.yaml"
kill -HUP "${XPID[$A]}"
reloaded() { grep -q "reloaded $TMP/$A/xlb.yaml" "$TMP/$A/xlbd.log"; }
check "(4) SIGHUP with a changed service reloads" netns_wait_for 5 "reload" reloaded
check "(4) and leaves the unchanged VRRP instance alone (no state change)" \
  field_is "$A" u .counters.state_changes "$changes"
check "(4) A is still master" vrrp_state "$A" u MASTER
# A reload that changes only the priority applies it in place: no restart,
# no failover, and the peer hears the new priority in the next adverts.
sed -i 's/priority: 150, advert_interval/priority: 170, advert_interval/' "$TMP/$A/xlb.yaml"
kill -HUP "${XPID[$A]}"
check "(4) SIGHUP with A's priority 150 -> 170: B hears A at 170" \
  netns_wait_for 5 "B hears 170" field_is "$B" u .master_priority 170
check "(4) and A applied it without a restart (no state change)" \
  field_is "$A" u .counters.state_changes "$changes"
check "(4) A says so in its log" grep -q "vrrp u: configuration changed (priority 150 -> 170), applied without a restart" "$TMP/$A/xlbd.log"
sed -i 's/priority: 170, advert_interval/priority: 150, advert_interval/' "$TMP/$A/xlb.yaml"
kill -HUP "${XPID[$A]}"
check "(4) and back to 150 the same way" netns_wait_for 5 "B hears 150" field_is "$B" u .master_priority 150
# Split brain: B, at a lower priority, claims the VIP. Its gratuitous ARP
# moves the client; when its advert reaches A, A answers and announces the
# VIP again, and the client comes back. (locktime 0: the client takes every
# announcement, not only those a second after the last update.)
in_ns "$C" sysctl -qw net.ipv4.neigh.eth0.locktime=0
in_ns "$C" ping -c 1 -W 1 "$VIP3" >/dev/null || true
neigh_is() { in_ns "$C" ip neigh show "$1" dev eth0 | grep -qi "lladdr $(in_ns "$2" cat /sys/class/net/eth0/address)"; }
check "(4) the client reaches $VIP3 at A" neigh_is "$VIP3" "$A"
in_ns "$B" "$BUILD/tests/lab/vrrp-io-probe" announce eth0 "$VIP3" --count 1 >/dev/null
check "(4) B's gratuitous ARP moves the client to B" netns_wait_for 2 "client at B" neigh_is "$VIP3" "$B"
in_ns "$B" "$BUILD/tests/lab/vrrp-io-probe" send eth0 v4 --src "${ADDR[$B]}" \
  --dst "${ADDR[$A]}" --vrid 60 --prio 50 --int-cs 10 --vip "$VIP3" >/dev/null
check "(4) A hears B's lower-priority advert and announces the VIP again: the client is back" \
  netns_wait_for 2 "client back at A" neigh_is "$VIP3" "$A"
check "(4) counted as reannounced" field_positive "$A" u .counters.reannounced
check "(4) A stayed master" vrrp_state "$A" u MASTER

log "(5) A's tracked service loses its only real"
rm -f "$TMP/real-up-$A"
check "(5) A's priority drops by the weight (150 -> 50)" \
  netns_wait_for 5 "A at 50" field_is "$A" u .effective_priority 50
check "(5) B takes the VIP over" netns_wait_for 5 "B master" vrrp_state "$B" u MASTER
check "(5) the VIP moved to B" netns_wait_for 2 "VIP on B" only_on "$B" "$A" "$VIP3"
check "(5) xlbctl vrrp says why" grep -q 'service web down (-100)' <<<"$(xlbctl "$A" vrrp)"
touch "$TMP/real-up-$A"
check "(5) the real is back: A preempts again" netns_wait_for 5 "A master" vrrp_state "$A" u MASTER
check "(5) the VIP is back on A only" netns_wait_for 2 "VIP back on A" only_on "$A" "$B" "$VIP3"

log "(7) an exec track, the notify script, and the instance's own link"
stop_xlbd "$A"
stop_xlbd "$B"
# notify scripts run with: instance name, new state, priority.
# It also records its scheduling class: TS, not the VRRP thread's RR.
printf '#!/bin/sh\necho "$@" >>%s\nps -o cls= -p $$ >>%s\n' "$TMP/notify-a.log" "$TMP/notify-a.cls" \
  >"$TMP/notify-a.sh"
chmod +x "$TMP/notify-a.sh"
touch "$TMP/check-ok"
start_xlbd "$A" "  - {name: t, interface: eth0, vrid: 62, priority: 150, advert_interval: 100ms,
     addresses: [$VIP3/24], notify: $TMP/notify-a.sh,
     track: [{exec: 'test -e $TMP/check-ok', interval: 100ms, weight: 100}]}"
start_xlbd "$B" "  - {name: t, interface: eth0, vrid: 62, priority: 100, advert_interval: 100ms,
     addresses: [$VIP3/24]}"
notified() { grep -qx "t $1 $2" "$TMP/notify-a.log" 2>/dev/null; }
check "(7) A is master" netns_wait_for 5 "A master" vrrp_state "$A" t MASTER
check "(7) notify ran with: name, state, priority" netns_wait_for 5 "notify MASTER" notified MASTER 150
check "(7) notify ran on the normal scheduler, not the VRRP thread's real-time one" \
  grep -qx ' *TS' "$TMP/notify-a.cls"
rm -f "$TMP/check-ok"
check "(7) the failing exec track lowers A to 50" netns_wait_for 5 "A at 50" field_is "$A" t .effective_priority 50
check "(7) and B takes over" netns_wait_for 5 "B master" vrrp_state "$B" t MASTER
check "(7) notify ran for BACKUP at the lowered priority" netns_wait_for 5 "notify BACKUP" notified BACKUP 50
touch "$TMP/check-ok"
check "(7) the track recovers: A master again" netns_wait_for 5 "A master" vrrp_state "$A" t MASTER
ip -n "$A" link set eth0 down
check "(7) A's link down: FAULT" netns_wait_for 5 "A fault" vrrp_state "$A" t FAULT
check "(7) a faulted instance holds no VIP" lacks_addr "$A" "$VIP3"
check "(7) notify ran for FAULT" netns_wait_for 5 "notify FAULT" notified FAULT 150
check "(7) B took over" netns_wait_for 5 "B master" vrrp_state "$B" t MASTER
ip -n "$A" link set eth0 up
check "(7) A's link up: A master again (preempt)" netns_wait_for 8 "A master" vrrp_state "$A" t MASTER
check "(7) holding the VIP, B not" netns_wait_for 2 "VIP on A" only_on "$A" "$B" "$VIP3"

log "(6) graceful stop of A (SIGTERM) with 1 s adverts: master-down interval 3.6 s, skew 0.6 s"
stop_xlbd "$A"
stop_xlbd "$B"
start_xlbd "$A" "  - {name: g, interface: eth0, vrid: 61, priority: 150, addresses: [$VIP2/24]}"
start_xlbd "$B" "  - {name: g, interface: eth0, vrid: 61, priority: 100, addresses: [$VIP2/24]}"
check "(6) A is master" netns_wait_for 6 "A master" vrrp_state "$A" g MASTER
check "(6) B is backup, with A as its master" netns_wait_for 6 "A heard" field_is "$B" g .master "${ADDR[$A]}"
t0=$(date +%s%N)
kill -TERM "${XPID[$A]}"
check "(6) B takes over within 2 s (skew time 0.6 s; without priority 0 it would take 3.6 s)" \
  netns_wait_for 2 "B master" vrrp_state "$B" g MASTER
t1=$(date +%s%N)
log "  graceful takeover: $(((t1 - t0) / 1000000)) ms"
wait "${XPID[$A]}" 2>/dev/null || true
check "(6) B heard A's priority 0" test "$(vrrp_field "$B" g .counters.priority_zero_received)" -ge 1
check "(6) nothing left on A's interface" lacks_addr "$A" "$VIP2"
check "(6) the XDP program left with A (--detach-on-exit)" \
  bash -c "! ip -n '$A' link show eth0 | grep -q xdp"
stop_xlbd "$B"
check "B stopped: nothing left on its interface" lacks_addr "$B" "$VIP2"

log "(8) kill -9, and the next xlbd's config no longer has two of the instances"
start_xlbd "$A" "$(xlbd_vs_keepalived 200)"  # alone on the segment now
check "(8) A holds the three VIPs" netns_wait_for 6 "A master of all" all_on "$A"
check "(8) marked as xlb's: address protocol 112" grep -q "^$VIP6/64 .* proto=112$" \
  <<<"$(in_ns "$A" "$BUILD/tests/lab/vrrp-io-probe" addr list eth0)"
kill9 "$A"
start_xlbd "$A" "$(xlbd_vs_keepalived 200 | head -2)"  # v2 only
check "(8) the IPv4 VIP of the removed instance is gone" lacks_addr "$A" "$VIP3"
check "(8) and the IPv6 one, though IPv6 addresses carry no label" lacks_addr "$A" "$VIP6"
check "(8) v2 takes its VIP again" netns_wait_for 6 "v2 master" has_addr "$A" "$VIP2"
stop_xlbd "$A"

lab_checks_done "lab vrrp interop" || {
  for f in "$TMP"/*/xlbd.log "$TMP/ka/log"; do
    [[ -f $f ]] && { echo "--- $f"; tail -25 "$f"; }
  done
  exit 1
}
