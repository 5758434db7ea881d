#!/usr/bin/env bash
# Lab test: a hung xlbd is noticed. Two directors with xlbd and VRRP (d1
# master at priority 200, d2 backup at 100, 100 ms adverts), d1 under a
# systemd-style watchdog (NOTIFY_SOCKET, WATCHDOG_USEC; a small listener in
# its place records what xlbd says). d1's main loop is made to hang for real:
# its config file becomes a FIFO nobody writes and SIGHUP makes xlbd read it
# (a config on a hung NFS mount does the same). Then: WATCHDOG=1 stops, the
# VRRP thread resigns (d2 takes the VIP) while d1's data plane still
# forwards; when the loop turns again, the pings resume and d1 takes its VIP
# back. Also: READY=1 comes once the API answers.
set -euo pipefail
BUILD=$(cd "${1:?usage: watchdog_test.sh BUILD_DIR}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/scripts/lib/directors_lab.sh"
source "$ROOT/scripts/lib/lab_checks.sh"
dl_init "$BUILD" 2
trap netns_down EXIT
dl_up 1
VIP=$(dl_vip 1)

vrrp() {  # vrrp PRIORITY
  printf 'vrrp:\n  - {name: v1, interface: eth0, vrid: 51, priority: %s, advert_interval: 100ms,\n     addresses: [%s/24]}\n' "$1" "$VIP"
}
body() { dl_services_yaml 1; vrrp "$1"; }

# What xlbd tells "systemd", one datagram a line.
NOTES=$DL_RUN/notify.log
netns_start "${DL_S}" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "a", buffering=1)
while True:
    out.write(s.recv(4096).decode(errors="replace").replace("\n", " ") + "\n")
' "$DL_RUN/notify.sock" "$NOTES"
netns_wait_for 5 "the notify listener" test -S "$DL_RUN/notify.sock"

dl_start_xlbd 2 "$(body 100)"
NOTIFY_SOCKET=$DL_RUN/notify.sock WATCHDOG_USEC=1000000 dl_start_xlbd 1 "$(body 200)"
check "READY=1 once xlbd answers" grep -q "^READY=1" "$NOTES"
check "d1 becomes master and holds the VIP" netns_wait_for 5 "d1 master" dl_has_addr 1 "$VIP"
pings() { grep -c "^WATCHDOG=1" "$NOTES" || true; }
more_pings_than() { test "$(pings)" -gt "$1"; }
before=$(pings)
check "WATCHDOG=1 pings come from the main loop" netns_wait_for 3 "pings" more_pings_than "$((before + 1))"

# Hang d1's main loop.
conf=$DL_RUN/d1/xlb.yaml
mv "$conf" "$DL_RUN/d1/good.yaml"
mkfifo "$conf"
kill -HUP "${DL_XLBD[1]}"
check "the hung loop's VRRP resigns: d2 takes the VIP" netns_wait_for 5 "d2 master" dl_has_addr 2 "$VIP"
check "... and d1 holds it no more" bash -c "! ip -n '${DL_D[1]}' -o addr show dev eth0 | grep -q ' $VIP/'"
check "d1 says why" grep -q "main loop has not turned for" "$DL_RUN/d1/xlbd.log"
stalled=$(pings)
sleep 1.5  # the stimulus: the hang goes on; no ping may come meanwhile
check "no WATCHDOG=1 while the loop hangs (so systemd would restart xlbd)" test "$(pings)" = "$stalled"
out=$(ip netns exec "$DL_C" "$DL_BUILD/tests/lab/xlb-lab-client" connect --target "$VIP:80" --count 20 2>/dev/null || true)
check "traffic through the VIP goes on (via d2)" grep -q "connect: 20 passed, 0 failed" <<<"$out"

# The loop turns again: the reload reads the file.
cat "$DL_RUN/d1/good.yaml" >"$conf"
rm -f "$conf"
mv "$DL_RUN/d1/good.yaml" "$conf"
check "when the loop turns again, d1 takes its VIP back" netns_wait_for 5 "d1 master again" dl_has_addr 1 "$VIP"
resumed=$(pings)
check "... and the pings resume" netns_wait_for 3 "pings again" more_pings_than "$((resumed + 1))"
answers() { dl_xlbctl 1 status >/dev/null; }
check "xlbd's API answers again" answers

lab_checks_done "lab watchdog" || {
  echo "--- d1 log"; tail -20 "$DL_RUN/d1/xlbd.log"
  echo "--- notify"; tail -5 "$NOTES"
  exit 1
}
