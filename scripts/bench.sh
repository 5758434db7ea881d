#!/usr/bin/env bash
# Runs one of xlb's benchmarks (DESIGN.md, "Measuring").
#
#   scripts/bench.sh program [--json] [--batches N] [--calls N]
#       ns/packet of the XDP program's paths under BPF_PROG_TEST_RUN,
#       beside the floor (swap MACs, XDP_TX) measured in the same run.
#   scripts/bench.sh control [--json] [--trials N] [--starts N]
#       time from `xlbctl real set --weight` to the map change (beside
#       `xlbctl status`, the process start-up floor), and from xlbd's start
#       to a config of 1x3 and 100 services x 100 reals in the maps.
#   scripts/bench.sh failover [--json] [--trials N] [--adverts MS,MS]
#       VRRP failover of xlbd beside keepalived in the same roles: SIGKILL
#       and SIGTERM of the master -> the backup holds the VIP, and the first
#       new TCP connection through it (scripts/bench/failover.sh).
#
# Needs root (re-runs itself with sudo). Builds the benchmark first; build
# output goes to stderr, so with --json stdout holds the JSON object only.
set -euo pipefail

self=$(readlink -f "${BASH_SOURCE[0]}")
root=$(cd "$(dirname "$self")/.." && pwd)
build=$root/build

usage() {
  cat >&2 <<'EOF'
usage: scripts/bench.sh BENCHMARK [OPTIONS]

benchmarks:
  program   ns/packet of each XDP program path vs. the floor (BPF_PROG_TEST_RUN)
            options: --json  --batches N  --calls N
  control   xlbctl real set --weight -> map change; xlbd start -> 100x100 config in the maps
            options: --json  --trials N  --starts N
  failover  VRRP failover (kill, graceful) of xlbd and keepalived, 20 ms and 100 ms adverts
            options: --json  --trials N (default 5)  --adverts MS,MS

Needs root; without it the script re-runs itself with sudo.
EOF
  exit "${1:-2}"
}

need_root() {
  if [[ $EUID -eq 0 ]]; then
    return
  fi
  if command -v sudo >/dev/null 2>&1; then
    exec sudo -- "$self" "$@"
  fi
  echo "bench.sh: this benchmark needs root (BPF_PROG_TEST_RUN, namespaces) and sudo is not available; run it as root" >&2
  exit 1
}

# build_target TARGET: builds one ninja target of the existing build directory.
build_target() {
  if [[ ! -d $build ]]; then
    echo "bench.sh: no build directory at $build; run scripts/setup.sh first" >&2
    exit 1
  fi
  ninja -C "$build" "$1" >&2
}

[[ $# -ge 1 ]] || usage
case "$1" in
  -h | --help | help)
    usage 0
    ;;
  program)
    need_root "$@"
    shift
    build_target tests/bench/program_bench
    exec "$build/tests/bench/program_bench" "$@"
    ;;
  control)
    need_root "$@"
    shift
    for target in tests/bench/control_bench controlplane/xlbd controlplane/xlbctl; do
      build_target "$target"
    done
    exec "$build/tests/bench/control_bench" "$@"
    ;;
  failover)
    need_root "$@"
    shift
    for target in controlplane/xlbd controlplane/xlbctl tests/lab/xlb-lab-server \
      tests/lab/xlb-lab-client bpf/pass.bpf.o; do
      build_target "$target"
    done
    exec "$root/scripts/bench/failover.sh" "$build" "$@"
    ;;
  *)
    echo "bench.sh: unknown benchmark '$1'" >&2
    usage
    ;;
esac
