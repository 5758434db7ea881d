#!/usr/bin/env bash
# Lab test: scripts run safely. xlbd runs its exec health checks as the
# configured script user (nobody here) with a small fixed environment
# (nothing of xlbd's own, e.g. NOTIFY_SOCKET), and refuses a script that
# another user could change.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/lab.sh"
source "$here/../../scripts/lib/lab_checks.sh"
lab_init "${1:?usage: scripts_test.sh BUILD_DIR}"
trap netns_down EXIT

lab_up
lab_start_servers

# The script is root's, in root's directories (nobody may only run it); what
# it writes goes to a directory anyone may write.
chmod 0711 "$LAB_RUN"
SCRIPTS=$LAB_RUN/scripts OUT=$LAB_RUN/out
mkdir -m 0755 "$SCRIPTS"
mkdir -m 0777 "$OUT"
cat >"$SCRIPTS/check.sh" <<SCRIPT
#!/bin/sh
id -u >"$OUT/uid.\$\$" && mv "$OUT/uid.\$\$" "$OUT/uid"
env | sort >"$OUT/env.\$\$" && mv "$OUT/env.\$\$" "$OUT/env"
exit 0
SCRIPT
chmod 0755 "$SCRIPTS/check.sh"

write_config() {  # write_config CHECK_COMMAND
  cat >"$CONF" <<YAML
interfaces: [d0, d1]
api: {socket: $SOCK, metrics: ""}
scripts: {user: nobody}
services:
  - name: web
    vip: $LAB_VIP4
    port: 80
    reals:
      - {address: 203.0.113.11}
    health: {type: exec, command: "$1", interval: 200ms, timeout: 200ms, rise: 1, fall: 1}
YAML
}

write_config "$SCRIPTS/check.sh --real"
ip netns exec "$D" env NOTIFY_SOCKET=/run/xlb-test-notify XLB_LEAK=1 \
  "$LAB_BUILD/controlplane/xlbd" --config "$CONF" --pin-dir "$LAB_PINS" >>"$XLBD_LOG" 2>&1 &
XLBD_PID=$!
netns_own "$XLBD_PID"
netns_wait_for 10 "xlbd's API" xlbctl status >/dev/null || { cat "$XLBD_LOG"; exit 1; }

check "the exec check ran" netns_wait_for 5 "the check's output" test -s "$OUT/env"
check "it ran as nobody (uid 65534)" test "$(cat "$OUT/uid")" = 65534
expected="HOME=/nonexistent
LANG=C.UTF-8
LOGNAME=nobody
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
check "with the fixed environment, nothing of xlbd's (no NOTIFY_SOCKET)" bash -c \
  "grep -Ev '^(PWD|XLB_REAL_ADDRESS|XLB_REAL_PORT|USER)=' '$OUT/env' | diff - <(printf '%s\n' '$expected')"
check "with the real's address and port" bash -c \
  "grep -qx XLB_REAL_ADDRESS=203.0.113.11 '$OUT/env' && grep -qx XLB_REAL_PORT=80 '$OUT/env' && grep -qx USER=nobody '$OUT/env'"
up() { [[ $(xlbctl --json list | jq -r '.[].reals[].health') == up ]]; }
check "the real is up by its check" netns_wait_for 5 "real up" up

# A script in a directory anyone can write is refused: by --check-config
# and by a reload, which keeps the running configuration.
mkdir -m 0777 "$LAB_RUN/open"
cp "$SCRIPTS/check.sh" "$LAB_RUN/open/check.sh"
write_config "$LAB_RUN/open/check.sh"
check "--check-config refuses a script others can change" fails_with 1 \
  "xlb.yaml:10: services\[0\]\.health\.command: script $LAB_RUN/open/check.sh is refused: $LAB_RUN/open is writable by anyone \(mode 0777\)" \
  "$LAB_BUILD/controlplane/xlbd" --check-config "$CONF"
kill -HUP "$XLBD_PID"
check "a reload with it is refused and logged" netns_wait_for 5 "the refusal" \
  grep -q "$LAB_RUN/open is writable by anyone" "$XLBD_LOG"
rm -f "$OUT/uid"
check "xlbd keeps running" kill -0 "$XLBD_PID"
check "with its configuration: the old check runs on" netns_wait_for 5 "the old check" test -s "$OUT/uid"

lab_checks_done "lab scripts" || { echo "--- xlbd log"; tail -40 "$XLBD_LOG"; exit 1; }
