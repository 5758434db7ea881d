# Shared by the scripts: run as root (re-run with sudo when possible), and
# where things are.
XLB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
XLB_BUILD=$XLB_ROOT/build

xlb_require_root() {  # xlb_require_root "$0" "$@"
  [[ $EUID -eq 0 ]] && return 0
  if command -v sudo >/dev/null 2>&1; then
    exec sudo --preserve-env=CI "$@"
  fi
  echo "$(basename "$1"): needs root (XDP, BPF maps, network namespaces); run it as root" >&2
  exit 1
}

# The sanitizer build: clang with AddressSanitizer and UndefinedBehavior-
# Sanitizer, and libFuzzer's coverage, for the unit and packet suites and the
# fuzz targets of tests/fuzz/ (scripts/test.sh, scripts/fuzz.sh). Only what
# those tests need is built in it. b_lundef=false: meson's --no-undefined
# does not go with clang's sanitizer runtimes.
XLB_ASAN_BUILD=$XLB_ROOT/build-asan
xlb_setup_asan_build() {
  local options=(-Db_sanitize=address,undefined -Db_lundef=false -Dfuzzing=true)
  if [[ -f $XLB_ASAN_BUILD/build.ninja ]]; then
    meson setup --reconfigure "${options[@]}" "$XLB_ASAN_BUILD" "$XLB_ROOT" >/dev/null
  else
    CC=clang CXX=clang++ meson setup "${options[@]}" "$XLB_ASAN_BUILD" "$XLB_ROOT" >/dev/null
  fi
}
