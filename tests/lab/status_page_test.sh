#!/usr/bin/env bash
# Lab test: the status page (GET / on xlbd's metrics listener) in a real
# browser. Two directors with xlbd, one DR service on the VIP with three
# reals (tcp checks every 200 ms) and one VRRP instance for it (d1 at
# priority 200, d2 at 100, 100 ms adverts), each serving its page on its own
# address, port 9100. Headless chromium in the client's namespace
# (status_page_browser.py, driven by selenium) watches d2's page and d1's
# while real 1's server is stopped, a real is added to d2 (xlbctl) and d1's
# xlbd is stopped (SIGTERM): the page shows the real down within 2 s of its
# health change, the new real, and d2 master within 2 s of its VRRP change;
# the checks are the script's.
# XLB_STATUS_SCREENSHOTS=DIR keeps screenshots of the page (phone, desktop,
# after the changes) there.
set -euo pipefail
BUILD=$(cd "${1:?usage: status_page_test.sh BUILD_DIR}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/scripts/lib/directors_lab.sh"
source "$ROOT/scripts/lib/lab_checks.sh"
for tool in /usr/bin/chromium /usr/bin/chromedriver; do
  [[ -x $tool ]] || { echo "status_page_test: $tool missing: run scripts/setup.sh" >&2; exit 1; }
done
/usr/bin/python3 -c 'import selenium' ||
  { echo "status_page_test: python3-selenium missing: run scripts/setup.sh" >&2; exit 1; }
dl_init "$BUILD" 2
trap netns_down EXIT
dl_up 1
VIP=$(dl_vip 1)
PORT=9100

body() {  # body PRIORITY
  cat <<EOF
$(dl_services_yaml 1)
vrrp:
  - name: vip1
    interface: eth0
    vrid: 51
    priority: $1
    advert_interval: 100ms
    addresses: [$VIP/24]
EOF
}
DL_METRICS=$(dl_director_addr 1):$PORT dl_start_xlbd 1 "$(body 200)"
check "d1 becomes master" netns_wait_for 5 "d1 master" dl_has_addr 1 "$VIP"
DL_METRICS=$(dl_director_addr 2):$PORT dl_start_xlbd 2 "$(body 100)"

# real 1's server: the PID dl_up started it with (the first real's).
REAL1_PID=${NETNS_PIDS[0]}
command_of() { tr '\0' ' ' <"/proc/$1/cmdline"; }
check "real 1's server is the one started first" \
  grep -q -- "--name real1 " <(command_of "$REAL1_PID")

rc=0
ip netns exec "$DL_C" /usr/bin/python3 "$ROOT/tests/lab/status_page_browser.py" \
  --backup "http://$(dl_director_addr 2):$PORT/" --master "http://$(dl_director_addr 1):$PORT/" \
  --real 198.51.100.21:80 --real-down-cmd "kill $REAL1_PID" --added-real 198.51.100.24:80 \
  --real-add-cmd "ip netns exec ${DL_D[2]} $BUILD/controlplane/xlbctl \
    --socket $DL_RUN/d2/xlbd.sock real add $VIP:80 198.51.100.24" \
  --master-stop-cmd "kill -TERM ${DL_XLBD[1]}" --profile-root "$DL_RUN" \
  ${XLB_STATUS_SCREENSHOTS:+--screenshots "$XLB_STATUS_SCREENSHOTS"} || rc=$?
netns_stop "$REAL1_PID"
netns_stop "${DL_XLBD[1]}"
check "the browser's checks passed" test "$rc" = 0
check "d2 holds the VIP" dl_has_addr 2 "$VIP"
check "the browser's profile directory is gone" \
  bash -c "! compgen -G '$DL_RUN/chromium-profile.*' >/dev/null"

lab_checks_done "lab status page" || {
  for d in 1 2; do echo "--- d$d log"; tail -20 "$DL_RUN/d$d/xlbd.log"; done
  exit 1
}
