#!/usr/bin/env bash
# Fuzzes the VRRP advert decoders (controlplane/vrrp/fuzz_packet.cc) with
# clang's libFuzzer under ASan+UBSan for a bounded time. Not part of CI.
#
#   scripts/fuzz_vrrp.sh [SECONDS] [-- LIBFUZZER_ARGS...]
#       SECONDS defaults to 60. Builds into $XLB_FUZZ_DIR (default
#       /tmp/xlb-fuzz-vrrp), seeds the corpus with the keepalived adverts in
#       controlplane/vrrp/packet_samples.h, and keeps the grown corpus there
#       for the next run. Prints the executions; on a crash, the input that
#       caused it and exit status 1.
#
# Needs clang++ and its libFuzzer runtime (Debian: libclang-rt-14-dev for
# clang 14); no root, and it does not touch build/.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${XLB_FUZZ_DIR:-${TMPDIR:-/tmp}/xlb-fuzz-vrrp}
seconds=60
if [[ $# -gt 0 && $1 != -- ]]; then seconds=$1; shift; fi
[[ ${1:-} == -- ]] && shift
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS] [-- LIBFUZZER_ARGS...]" >&2; exit 2; }

cxx=${CXX_FUZZ:-clang++}
command -v "$cxx" >/dev/null || { echo "fuzz_vrrp: $cxx not found (Debian: apt-get install clang)" >&2; exit 1; }
clang_major=$("$cxx" -dumpversion | cut -d. -f1)
mkdir -p "$out/corpus" "$out/seeds" "$out/artifacts"

echo "fuzz_vrrp: building $out/fuzz_packet" >&2
# shellcheck disable=SC2046  # pkg-config's word splitting is wanted
if ! "$cxx" -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$root" "$root/controlplane/vrrp/fuzz_packet.cc" "$root/controlplane/vrrp/packet.cc" \
    "$root/dataplane/address.cc" $(pkg-config --cflags --libs absl_statusor absl_status absl_strings) \
    -o "$out/fuzz_packet"; then
  echo "fuzz_vrrp: build failed; is libFuzzer installed? (Debian: apt-get install libclang-rt-$clang_major-dev)" >&2
  exit 1
fi

# Seeds: every sample frame of packet_samples.h, minus its Ethernet header,
# as an IPv4 packet (mode byte 0) and its VRRP payload as IPv6 (mode 3: the
# target fills in the checksum), plus one well-formed IPv6 VRRPv3 advert.
bytes() {  # hex string -> raw bytes on stdout
  local hex=$1 escaped=
  while [[ -n $hex ]]; do escaped+="\\x${hex:0:2}"; hex=${hex:2}; done
  printf '%b' "$escaped"
}
v6_facts=fe800000000000000000000000000001ff020000000000000000000000000012ff  # fe80::1 ff02::12 255
samples=$root/controlplane/vrrp/packet_samples.h
grep -o '^inline constexpr uint8_t k[A-Za-z]*[0-9]*\[\]' "$samples" | grep -o 'k[A-Za-z]*[0-9]*' |
while read -r name; do
  hex=$(sed -n "/^inline constexpr uint8_t $name\[\] = {/,/^};/p" "$samples" | grep -o '0x[0-9a-f][0-9a-f]' | sed 's/^0x//' | tr -d '\n')
  ip=${hex:28}        # drop the 14-byte Ethernet header
  bytes "00$ip" >"$out/seeds/$name-ipv4"
  bytes "03$v6_facts${ip:40}" >"$out/seeds/$name-ipv6"
done
bytes "03${v6_facts}313396010064000020010db8000000000000000000000100" >"$out/seeds/v3-ipv6"
echo "fuzz_vrrp: $(find "$out/seeds" -type f | wc -l) seeds; fuzzing for ${seconds}s" >&2

log=$out/fuzz.log
status=0
"$out/fuzz_packet" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$out/artifacts/" \
  "$@" "$out/corpus" "$out/seeds" >"$log" 2>&1 || status=$?

execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
echo "fuzz_vrrp: ${execs:-?} executions (${rate:-?}/s) in ${seconds}s; last status: ${last:-none}"
echo "fuzz_vrrp: corpus $(find "$out/corpus" -type f | wc -l) inputs in $out/corpus; log $log"
if [[ $status -ne 0 ]] || grep -qE 'ERROR: (libFuzzer|AddressSanitizer)|runtime error:' "$log"; then
  echo "fuzz_vrrp: CRASH (exit $status):" >&2
  grep -E 'ERROR:|runtime error:|SUMMARY:|Test unit written to' "$log" >&2 || tail -30 "$log" >&2
  echo "fuzz_vrrp: reproduce with $out/fuzz_packet ARTIFACT" >&2
  exit 1
fi
echo "fuzz_vrrp: no crash"
