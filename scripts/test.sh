#!/usr/bin/env bash
# Runs every test suite: unit, packet, lab; then the unit and packet suites
# again in the sanitizer build (ASan+UBSan, build-asan/) and each fuzz
# target for a bounded time (suite 'fuzz', XLB_FUZZ_SECONDS each, default
# 15). Exit status non-zero on any failure. Sets up and builds first.
# With arguments, they go to the main build's `meson test` and the sanitizer
# build is left out (e.g. scripts/test.sh --suite unit).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
xlb_require_root "$0" "$@"

"$XLB_ROOT/scripts/setup.sh"
ninja -C "$XLB_BUILD"
rc=0
meson test -C "$XLB_BUILD" --print-errorlogs "$@" || rc=$?
logs=("$XLB_BUILD/meson-logs/testlog.json")
if [[ $# -eq 0 ]]; then
  # meson test builds only what these suites need (no benchmarks, pktgen,
  # DPDK); the first report of a sanitizer fails its test (meson.build).
  # Sanitized code runs 2-3 times slower: so may the tests.
  meson test -C "$XLB_ASAN_BUILD" --print-errorlogs --timeout-multiplier 3 \
    --suite unit --suite packet --suite fuzz || rc=$?
  logs+=("$XLB_ASAN_BUILD/meson-logs/testlog.json")
fi
# Closing lines counted from meson's own logs: each failure again with the
# end of its output (CI shows only the tail of a long run), then the count.
python3 - "${logs[@]}" <<'PY'
import json, sys
ok, failed = 0, []
for log in sys.argv[1:]:
    for line in open(log):
        t = json.loads(line)
        if t["result"] in ("OK", "EXPECTEDFAIL"):
            ok += 1
        else:
            failed.append((log, t))
for log, t in failed:
    print(f"--- FAILED {t['name']} ({t['result']}, {t['duration']:.0f} s) in {log}")
    tail = (t.get("stdout") or "").splitlines()[-40:]
    print("\n".join("  " + l for l in tail))
for log, t in failed:
    print(f"failed: {t['name']} ({t['result']})")
print(f"tests: {ok} passed, {len(failed)} failed")
PY
exit $rc
