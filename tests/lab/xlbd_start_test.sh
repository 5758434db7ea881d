#!/usr/bin/env bash
# Lab test: what a start of xlbd may and may not do to a data plane that is
# already forwarding. (1) A second xlbd on the same pins, or on the same API
# socket, exits at once and changes nothing: not the maps, not the VIPs, not
# the API socket. (2) A start that cannot succeed (a NAT real without a
# route, an interface that does not exist, a VRRP instance whose interface
# has no address to send from, a bgp: section, not acted on yet) exits
# non-zero saying why, and leaves the adopted program and maps forwarding
# exactly as they were. (5) A reload that adds a bgp: section is refused.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/lab.sh"
source "$here/../../scripts/lib/lab_checks.sh"
lab_init "${1:?usage: xlbd_start_test.sh BUILD_DIR}"
trap netns_down EXIT

lab_up
lab_start_servers
VRRP_VIP=198.51.100.50
xlbd() { ip netns exec "$D" timeout 20 "$LAB_BUILD/controlplane/xlbd" "$@"; }

write_config() {  # write_config FILE [SOCKET] [EXTRA_TOP_LEVEL_YAML] [EXTRA_NAT_REAL] [INTERFACES]
  cat >"$1" <<YAML
interfaces: [${5:-d0, d1}]
api: {socket: ${2:-$SOCK}, metrics: ""}
services:
  - name: web
    vip: $LAB_VIP4
    port: 80
    reals: [{address: 203.0.113.11}, {address: 203.0.113.12}, {address: 203.0.113.13}]
    health: {type: tcp, interval: 200ms, timeout: 100ms}
  - name: nat
    vip: $LAB_NAT_VIP4
    port: 80
    forward: nat
    reals: [{address: 203.0.113.11, port: 8080}, {address: 203.0.113.12, port: 8080}${4:-}]
vrrp:
  - {name: front, interface: d0, vrid: 51, priority: 200, advert_interval: 100ms,
     addresses: [$VRRP_VIP/24]}
${3:-}
YAML
}
both_vips_answer() {
  local a b
  a=$(lab_client connect --target "$LAB_VIP4:80" --count 30 2>/dev/null || true)
  b=$(lab_client connect --target "$LAB_NAT_VIP4:80" --count 30 2>/dev/null || true)
  passed_all "$a" connect 30 && passed_all "$b" connect 30
}
answers() { xlbctl status >/dev/null; }
vip_held() { ip -n "$D" -4 addr show dev d0 | grep -q "inet $VRRP_VIP/"; }

write_config "$LAB_RUN/good.yaml"
ip netns exec "$D" "$LAB_BUILD/controlplane/xlbd" --config "$LAB_RUN/good.yaml" \
  --pin-dir "$LAB_PINS" >>"$XLBD_LOG" 2>&1 &
XLBD_PID=$!
netns_own "$XLBD_PID"
netns_wait_for 10 "xlbd's API" xlbctl status >/dev/null
check "xlbd becomes VRRP master and holds $VRRP_VIP" netns_wait_for 5 "the VRRP VIP" vip_held
check "traffic through the DR and the NAT VIP" both_vips_answer
maps=$(lab_dp list)

# (1) A second xlbd. With the same pins (an operator who typed --config for
# --check-config): it names the running one and exits; nothing changes.
write_config "$LAB_RUN/second.yaml" "$LAB_RUN/second.sock"
check "(1) a second xlbd on the same pins exits at once, naming the first one's PID" \
  fails_with 1 "xlbd pid $XLBD_PID already runs on the pin directory $LAB_PINS" \
  xlbd --config "$LAB_RUN/second.yaml" --pin-dir "$LAB_PINS"
check "(1) ... and leaves the first one's VIP" vip_held
check "(1) ... and the maps" test "$(lab_dp list)" = "$maps"
check "(1) ... and made no API socket of its own" test ! -e "$LAB_RUN/second.sock"
# With other pins but the same API socket: the live socket is not replaced.
check "(1) a second xlbd on the same API socket exits, saying it is in use" \
  fails_with 1 "API socket $SOCK is in use" \
  xlbd --config "$LAB_RUN/good.yaml" --pin-dir "$LAB_PINS/other"
check "(1) ... the first one still answers on its socket" answers
check "(1) ... and still holds its VIP" vip_held
check "(1) traffic goes on" both_vips_answer

# (2) kill -9, then starts that cannot succeed, on the adopted maps.
kill -9 "$XLBD_PID"
wait "$XLBD_PID" 2>/dev/null || true
maps=$(lab_dp list)
check "(2) the killed xlbd's services are in the maps" grep -q "$LAB_NAT_VIP4:80" <<<"$maps"

write_config "$LAB_RUN/noroute.yaml" "" "" ", {address: 192.0.2.99, port: 8080}"
check "(2) a NAT real without a route: the start fails, saying so and that nothing changed" \
  fails_with 1 "real 192.0.2.99: the director has no route to it; nothing was changed" \
  xlbd --config "$LAB_RUN/noroute.yaml" --pin-dir "$LAB_PINS"
check "(2) ... the maps are as they were" test "$(lab_dp list)" = "$maps"
check "(2) ... and forward" both_vips_answer

write_config "$LAB_RUN/noiface.yaml" "" "" "" "d0, d1, nosuch0"
check "(2) a missing interface: the start fails, naming it" \
  fails_with 1 "no interface named 'nosuch0'; nothing was changed" \
  xlbd --config "$LAB_RUN/noiface.yaml" --pin-dir "$LAB_PINS"
check "(2) ... the maps are as they were" test "$(lab_dp list)" = "$maps"

# An interface whose address is not up yet (at boot): VRRP has no source.
ip -n "$D" link add v0 type veth peer name v1
ip -n "$D" link set v0 up
ip -n "$D" link set v1 up
write_config "$LAB_RUN/nosource.yaml" "" \
  "  - {name: back, interface: v0, vrid: 52, priority: 100, addresses: [198.51.100.60/24]}"
check "(2) a VRRP interface without an address: the start fails, saying so" \
  fails_with 1 "vrrp back: interface v0 has no IPv4 address .*; nothing was changed" \
  xlbd --config "$LAB_RUN/nosource.yaml" --pin-dir "$LAB_PINS"
check "(2) ... the maps are as they were" test "$(lab_dp list)" = "$maps"
check "(2) ... and forward" both_vips_answer
check "(2) ... no VIP was taken" bash -c "! ip -n '$D' addr show | grep -q 198.51.100.60"

# A bgp: section names the neighbours xlbd gives bgpd: --check-config says so.
write_config "$LAB_RUN/bgp.yaml" "" "bgp:
  asn: 64513
  router_id: 198.51.100.1
  neighbors: [{address: 198.51.100.254, asn: 64512}]"
check "(2) --check-config accepts a bgp: section, naming its neighbours" \
  fails_with 0 "bgp.yaml: valid, 2 services, 1 VRRP instances, BGP to 1 neighbours" \
  xlbd --check-config "$LAB_RUN/bgp.yaml"

# The good configuration starts on the same maps, as before; its NAT service
# has a third real, 192.0.2.99 on real3's lo, routed by a host route.
ip -n "$R3" addr add 192.0.2.99/32 dev lo
ip -n "$D" route add 192.0.2.99/32 via 203.0.113.13
write_config "$LAB_RUN/good3.yaml" "" "" ", {address: 192.0.2.99, port: 8080}"
ip netns exec "$D" "$LAB_BUILD/controlplane/xlbd" --config "$LAB_RUN/good3.yaml" \
  --pin-dir "$LAB_PINS" >>"$XLBD_LOG" 2>&1 &
XLBD_PID=$!
netns_own "$XLBD_PID"
netns_wait_for 10 "xlbd's API" xlbctl status >/dev/null
check "(2) after the failed starts, the good configuration starts and forwards" both_vips_answer

# (3) One real of the NAT service loses its route: the service's other
# changes, and other services', still apply.
ip -n "$D" route del 192.0.2.99/32
check "(3) draining another real of that service works" \
  xlbctl real set "$LAB_NAT_VIP4:80" 203.0.113.11:8080 --drain
check "(3) ... and takes effect" test "$(xlbctl --json list | jq -r --arg v "$LAB_NAT_VIP4" \
  '.[] | select(.vip == $v) | .reals[] | select(.address == "203.0.113.11") | .effective_weight')" = 0
check "(3) removing the real without a route works" \
  xlbctl real del "$LAB_NAT_VIP4:80" 192.0.2.99:8080
check "(3) a change to another service works" xlbctl real set "$LAB_VIP4:80" 203.0.113.12 --drain
out=$(lab_client connect --target "$LAB_VIP4:80" --count 60 2>/dev/null || true)
check "(3) ... and takes effect: no new connection reaches real2" \
  bash -c "! grep -q '^server real2 ' <<<'$out' && grep -q 'connect: 60 passed, 0 failed' <<<'$out'"
check "(3) adding a real without a route is refused, changing nothing" \
  fails_with 1 "real 192.0.2.98: the director has no route to it" \
  xlbctl real add "$LAB_NAT_VIP4:80" 192.0.2.98:8080
check "(3) no service shows an error" test "$(xlbctl --json list | jq -r '[.[].error] | join("")')" = ""

# (4) config save writes only into the running config's directory, never
# through a symlink; the previous file stays as .bak.
mkdir "$LAB_RUN/elsewhere"
echo keep >"$LAB_RUN/elsewhere/file"
ln -s "$LAB_RUN/elsewhere/file" "$LAB_RUN/link.yaml"
check "(4) config save outside the config's directory is refused" \
  fails_with 1 "only files in the running configuration's directory" \
  xlbctl config save "$LAB_RUN/elsewhere/file"
check "(4) config save through a symlink is refused" \
  fails_with 1 "link.yaml: is a symlink" xlbctl config save "$LAB_RUN/link.yaml"
check "(4) ... and neither touched the file" test "$(cat "$LAB_RUN/elsewhere/file")" = keep
chmod 0640 "$LAB_RUN/good3.yaml"
check "(4) config save of the running file works" xlbctl config save
check "(4) ... keeping its mode" test "$(stat -c %a "$LAB_RUN/good3.yaml")" = 640
check "(4) ... and the previous file as .bak" test -s "$LAB_RUN/good3.yaml.bak"

# (5) A reload that adds a bgp: section while FRR is not running (no bgpd
# in this pathspace): accepted; the driver's error is logged and retried,
# off the event loop: the API answers and traffic goes on.
# The services as configured (not their counters or health, which move).
configured() { xlbctl --json list | jq -c '[.[] | [.service, .forward, [.reals[] | [.address, .port, .weight]]]]'; }
listed=$(configured)
cat >>"$LAB_RUN/good3.yaml" <<YAML
bgp:
  asn: 64513
  router_id: 198.51.100.1
  frr_pathspace: $LAB_PREFIX-nofrr
  neighbors: [{address: 198.51.100.254, asn: 64512}]
YAML
kill -HUP "$XLBD_PID"
check "(5) a reload that adds a bgp: section without a bgpd to drive is accepted" \
  netns_wait_for 5 "the reload" grep -q "reloaded $LAB_RUN/good3.yaml" "$XLBD_LOG"
check "(5) ... the failing vtysh call is logged and retried" \
  netns_wait_for 10 "the driver's error" grep -q "bgp: reconcile failed (2 in a row)" "$XLBD_LOG"
check "(5) ... the services are as they were" diff <(echo "$listed") <(configured)
check "(5) ... and traffic goes on" both_vips_answer

kill -TERM "$XLBD_PID"
wait "$XLBD_PID" || true
lab_checks_done "lab xlbd_start" || { echo "--- xlbd log"; tail -30 "$XLBD_LOG"; exit 1; }
