#!/usr/bin/env bash
# Fuzzes one parser (a libFuzzer target of tests/fuzz/, under ASan+UBSan)
# for longer than the test suite does, keeping what it finds for next time.
#
#   scripts/fuzz.sh TARGET [SECONDS] [-- LIBFUZZER_ARGS...]
#       TARGET: vrrp_packet, config, keepalived, http_head or sync_wire. SECONDS
#       defaults to 60. Builds build-asan/tests/fuzz/fuzz_TARGET, runs it from
#       its seeds (those of its meson test) and from the corpus in
#       $XLB_FUZZ_DIR/TARGET (default /tmp/xlb-fuzz/TARGET), which grows.
#       Prints the executions and coverage (libFuzzer's cov: and ft:); on a
#       crash the crashing input's path and exit status 1.
#
# Needs no root once scripts/setup.sh has configured build-asan/.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

usage() { echo "usage: $0 TARGET [SECONDS] [-- LIBFUZZER_ARGS...]" >&2; exit 2; }
[[ $# -ge 1 && $1 != -* ]] || usage
target=$1; shift
seconds=60
if [[ $# -gt 0 && $1 != -- ]]; then seconds=$1; shift; fi
[[ ${1:-} == -- ]] && shift
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || usage

[[ -f $XLB_ASAN_BUILD/build.ninja ]] || xlb_setup_asan_build
# The runner and the seeds, as the meson test of the target has them.
mapfile -t command < <(meson introspect "$XLB_ASAN_BUILD" --tests | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if t["name"] == "fuzz_" + sys.argv[1]:
        print("\n".join(t["cmd"]))' "$target")
if [[ ${#command[@]} -eq 0 ]]; then
  echo "fuzz: no target '$target'; there are:" \
    "$(ls "$XLB_ROOT"/tests/fuzz/*.cc | xargs -n1 basename | sed 's/\.cc$//' | tr '\n' ' ')" >&2
  exit 2
fi
nice -n 10 ninja -C "$XLB_ASAN_BUILD" "tests/fuzz/fuzz_$target" >/dev/null
export XLB_FUZZ_CORPUS=${XLB_FUZZ_DIR:-${TMPDIR:-/tmp}/xlb-fuzz}/$target
export XLB_FUZZ_SECONDS=$seconds
mkdir -p "$XLB_FUZZ_CORPUS"
XLB_FUZZ_CORPUS=$(cd "$XLB_FUZZ_CORPUS" && pwd)
echo "fuzz: $target for ${seconds} s, corpus in $XLB_FUZZ_CORPUS" >&2
cd "$XLB_ASAN_BUILD"  # meson's test command is relative to it
exec "${command[@]}" -- "$@"
