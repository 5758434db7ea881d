#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time from its seeds; the meson test
# of each target (suite 'fuzz') and scripts/fuzz.sh call it.
#
#   tests/fuzz/run.sh FUZZER SEED_DIR... [-- LIBFUZZER_ARGS...]
#
# XLB_FUZZ_SECONDS: how long (default 15). XLB_FUZZ_CORPUS: where new inputs
# go and stay (default: a temporary directory, removed after). Crashing
# inputs go to XLB_FUZZ_ARTIFACTS (default build-asan/fuzz-artifacts/) and
# their path is printed. Exit status 1 on a crash, a leak, a sanitizer report
# or a failed property (the target aborts).
set -euo pipefail

[[ $# -ge 2 ]] || { echo "usage: $0 FUZZER SEED_DIR... [-- LIBFUZZER_ARGS...]" >&2; exit 2; }
fuzzer=$1; shift
name=$(basename "$fuzzer")
seeds=()
while [[ $# -gt 0 && $1 != -- ]]; do seeds+=("$1"); shift; done
[[ ${1:-} == -- ]] && shift
seconds=${XLB_FUZZ_SECONDS:-15}
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "$name: XLB_FUZZ_SECONDS='$seconds' is not a number of seconds" >&2; exit 2; }
artifacts=${XLB_FUZZ_ARTIFACTS:-$(dirname "$fuzzer")/../../fuzz-artifacts}
mkdir -p "$artifacts"
artifacts=$(cd "$artifacts" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/xlb-$name.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
corpus=${XLB_FUZZ_CORPUS:-$tmp/corpus}
mkdir -p "$corpus"
: "${ASAN_OPTIONS:=halt_on_error=1:abort_on_error=1:print_stacktrace=1}"
: "${UBSAN_OPTIONS:=halt_on_error=1:print_stacktrace=1}"
export ASAN_OPTIONS UBSAN_OPTIONS

log=$tmp/log
status=0
# -timeout: one input taking this long is a hang, reported like a crash.
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$artifacts/$name-" "$@" "$corpus" "${seeds[@]}" >"$log" 2>&1 || status=$?

execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
cov=$(grep -E '^#[0-9]+' "$log" | grep -o 'cov: [0-9]* ft: [0-9]*' | tail -1 || true)
echo "$name: ${execs:-?} executions (${rate:-?}/s) in ${seconds} s; ${cov:-cov: ? ft: ?};" \
  "corpus $(find "$corpus" -type f | wc -l) inputs"
if [[ $status -ne 0 ]] || grep -qE '^==[0-9]+==ERROR|runtime error:|^SUMMARY:' "$log"; then
  echo "$name: FAILED (exit $status)" >&2
  grep -E 'ERROR:|runtime error:|SUMMARY:|ToYaml|imported|written back|note out' "$log" | head -20 >&2 || true
  grep -A30 -m1 -E '^==[0-9]+==ERROR|runtime error:' "$log" | grep -E '^ +#[0-9]+ ' | head -15 >&2 || true
  input=$(grep -o 'Test unit written to .*' "$log" | sed 's/^Test unit written to //' | tail -1 || true)
  if [[ -n $input ]]; then
    echo "$name: crashing input: $input" >&2
    echo "$name: reproduce with: $(cd "$(dirname "$fuzzer")" && pwd)/$name $input" >&2
  else
    tail -20 "$log" >&2
  fi
  exit 1
fi
