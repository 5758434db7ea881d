#!/usr/bin/env bash
# Runs every test suite: unit, packet, lab. Exit status non-zero on any
# failure. Sets up and builds first.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
xlb_require_root "$0" "$@"

"$XLB_ROOT/scripts/setup.sh"
ninja -C "$XLB_BUILD"
rc=0
meson test -C "$XLB_BUILD" --print-errorlogs "$@" || rc=$?
# One plain closing line, counted from meson's own log.
python3 - "$XLB_BUILD/meson-logs/testlog.json" <<'PY'
import json, sys
ok = bad = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): ok += 1
    else: bad += 1
print(f"tests: {ok} passed, {bad} failed")
PY
exit $rc
