#!/usr/bin/env bash
# Lab test: keepalived's notify hooks. Two directors with xlbd and VRRP (d1
# at priority 200, d2 at 100, 100 ms adverts), each with every hook set:
# notify_master/backup/fault/stop (a script with its own argument),
# notify_keepalived (keepalived's notify: INSTANCE name state priority
# appended) and xlb's notify (name state priority). Each hook appends its uid
# and arguments to the director's log. Checked: the order and arguments on
# start (BACKUP, then MASTER for d1), the backup's hooks, the backup's
# notify_master after the master's kill -9, notify_stop (and STOP) done
# before a SIGTERM'd xlbd exits, and a hung notify_stop that does not hold
# the exit up longer than xlbd's bound (5 s).
set -euo pipefail
BUILD=$(cd "${1:?usage: notify_test.sh BUILD_DIR}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/scripts/lib/directors_lab.sh"
source "$ROOT/scripts/lib/lab_checks.sh"
dl_init "$BUILD" 2
SLOW_PID_FILE=
cleanup() {
  # The hung hook outlives the xlbd that started it: stop it by its PID.
  if [[ -n "$SLOW_PID_FILE" && -s "$SLOW_PID_FILE" ]]; then
    kill -9 "$(cat "$SLOW_PID_FILE")" 2>/dev/null || true
  fi
  netns_down
}
trap cleanup EXIT
dl_up 1
VIP=$(dl_vip 1)

# The hooks are root's, in root's directories; they run as nobody and write
# where anyone may.
chmod 0711 "$DL_RUN"
SCRIPTS=$DL_RUN/scripts OUT=$DL_RUN/out
mkdir -m 0755 "$SCRIPTS"
mkdir -m 0777 "$OUT"
for d in d1 d2; do
  printf '#!/bin/sh\necho "$(id -u) $*" >>"%s/%s.log"\n' "$OUT" "$d" >"$SCRIPTS/$d.sh"
  chmod 0755 "$SCRIPTS/$d.sh"
done
printf '#!/bin/sh\necho $$ >"%s/slow.pid"\nexec sleep 60\n' "$OUT" >"$SCRIPTS/slow.sh"
chmod 0755 "$SCRIPTS/slow.sh"

body() {  # body DIRECTOR PRIORITY [NOTIFY_STOP]
  local hook=$SCRIPTS/$1.sh
  cat <<EOF
scripts: {user: nobody}
vrrp:
  - name: v1
    interface: eth0
    vrid: 51
    priority: $2
    advert_interval: 100ms
    addresses: [$VIP/24]
    notify_master: "$hook master"
    notify_backup: "$hook backup"
    notify_fault: "$hook fault"
    notify_stop: "${3:-$hook stop}"
    notify_keepalived: "$hook"
    notify: $hook
EOF
}
log_is() {  # log_is DIRECTOR EXPECTED_LINES...
  diff <(printf '%s\n' "${@:2}") "$OUT/$1.log"
}
gone() { ! ps -o stat= -p "$1" | grep -qv Z; }  # exited (a zombie counts)

dl_start_xlbd 1 "$(body d1 200)"
check "d1 becomes master" netns_wait_for 5 "d1 master" dl_has_addr 1 "$VIP"
has_lines() { test "$(wc -l <"$OUT/$1.log")" -ge "$2"; }
check "d1 ran its six hooks" netns_wait_for 5 "d1's hooks" has_lines d1 6
check "d1: BACKUP then MASTER, each notify_STATE, then keepalived's notify, then xlb's" \
  log_is d1 "65534 backup" "65534 INSTANCE v1 BACKUP 200" "65534 v1 BACKUP 200" \
  "65534 master" "65534 INSTANCE v1 MASTER 200" "65534 v1 MASTER 200"

dl_start_xlbd 2 "$(body d2 100)"
check "d2 ran its backup hooks" netns_wait_for 5 "d2's hooks" has_lines d2 3
check "d2: notify_backup, notify_keepalived BACKUP 100, notify BACKUP 100" \
  log_is d2 "65534 backup" "65534 INSTANCE v1 BACKUP 100" "65534 v1 BACKUP 100"

dl_kill_director 1
check "after d1's kill -9, d2 becomes master" netns_wait_for 5 "d2 master" dl_has_addr 2 "$VIP"
check "d2 ran its master hooks" netns_wait_for 5 "d2's master hooks" has_lines d2 6
check "d2: notify_master, notify_keepalived MASTER 100, notify MASTER 100" \
  log_is d2 "65534 backup" "65534 INSTANCE v1 BACKUP 100" "65534 v1 BACKUP 100" \
  "65534 master" "65534 INSTANCE v1 MASTER 100" "65534 v1 MASTER 100"

kill -TERM "${DL_XLBD[2]}"
check "SIGTERM: d2's xlbd exits" netns_wait_for 10 "d2's xlbd to exit" gone "${DL_XLBD[2]}"
# No waiting here: xlbd waits for the stop hooks before it exits.
check "its stop hooks ran before it exited: notify_stop, STOP, INIT" \
  log_is d2 "65534 backup" "65534 INSTANCE v1 BACKUP 100" "65534 v1 BACKUP 100" \
  "65534 master" "65534 INSTANCE v1 MASTER 100" "65534 v1 MASTER 100" \
  "65534 stop" "65534 INSTANCE v1 STOP 100" "65534 v1 INIT 100"

# A notify_stop that hangs: xlbd exits after its bound all the same.
ip -n "${DL_D[1]}" link set eth0 up
SLOW_PID_FILE=$OUT/slow.pid
: >"$OUT/d1.log"
dl_start_xlbd 1 "$(body d1 200 "$SCRIPTS/slow.sh")"
check "d1 master again" netns_wait_for 5 "d1 master" dl_has_addr 1 "$VIP"
start=$SECONDS
kill -TERM "${DL_XLBD[1]}"
check "a hung notify_stop does not hold xlbd: it exits within 5 s (+ 3 s slack)" \
  netns_wait_for 8 "d1's xlbd to exit" gone "${DL_XLBD[1]}"
check "... not before it gave the hook its 5 s" test $((SECONDS - start)) -ge 4
check "... and says so" grep -q "notify command(s) not finished 5 s after" "$DL_RUN/d1/xlbd.log"
check "the hook after it in the queue (keepalived's notify) did not run" \
  bash -c "! grep -q STOP '$OUT/d1.log'"

lab_checks_done "lab notify" || {
  for d in d1 d2; do
    echo "--- $d hooks"; cat "$OUT/$d.log" 2>/dev/null || true
    echo "--- $d log"; tail -20 "$DL_RUN/$d/xlbd.log"
  done
  exit 1
}
