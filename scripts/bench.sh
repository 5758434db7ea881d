#!/usr/bin/env bash
# Runs one of xlb's benchmarks (DESIGN.md, "Measuring").
#
#   scripts/bench.sh program [--json] [--batches N] [--calls N] [--sync_per_flow]
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
#   scripts/bench.sh failover-active-active [--json] [--advert MS] [--flood-seconds S]
#       three directors, six VIPs, 60 long-lived connections: a director
#       killed and brought back, then a flood of one VIP; connections
#       survived, longest gap, VRRP state changes
#       (scripts/bench/failover_active_active.sh).
#   scripts/bench.sh throughput [--json] [--runs N] [--seconds S] [--proto udp|tcp] [--flows N]
#                               [--syn-flood-rate N]
#       packets/s delivered by xlb DR, xlb NAT, xlb tunnel (IPIP and GUE), the
#       floor forwarder (XDP redirect only) and the kernel (nftables DNAT) on
#       the same veth path,
#       generator (xlb-pktgen) -> director -> three sinks
#       (scripts/bench/throughput.sh).
#   scripts/bench.sh connections [--json] [--runs N] [--count N] [--parallel K]
#       new TCP connections/s (short exchanges) through a VIP to three reals:
#       xlb DR beside HAProxy in TCP mode and the client straight to a real
#       (the floor), one client (scripts/bench/connections.sh).
#   scripts/bench.sh chaos [--json] [--advert MS] [--pace-ms MS] [--flood-seconds S]
#                          [--flood-rate PPS] [--idle-conns N]
#       two directors with VRRP, three reals, short requests and 30
#       long-lived connections; nine faults one after the other (idle
#       connections, kill -9 and restart, a second xlbd, a failed start,
#       a bad SIGHUP, hostile VRRP datagrams, a NAT real without a route,
#       a spoofed flood, SIGSTOP); what each cost (scripts/bench/chaos.sh).
#   scripts/bench.sh ecmp [--json]
#       a router's ECMP route over three directors (FRR, BFD 100 ms x 3),
#       90 long-lived connections: a director killed (the time until the
#       route lost it, connections survived, longest gap), a fourth joining,
#       a real removed everywhere while a fifth joins (scripts/bench/ecmp.sh).
#   scripts/bench.sh sync [--json] [--quick] [--rate N] [--seconds S]
#       flow-state sync between directors (issue #16): NAT and DR connections
#       surviving the VRRP master's death (with and without sync), ECMP join
#       with a real drained, and each xlbd's CPU and the lag at 100k new
#       flows/s (scripts/bench/sync.sh).
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
            options: --json  --batches N  --calls N  --sync_per_flow
  control   xlbctl real set --weight -> map change; xlbd start -> 100x100 config in the maps
            options: --json  --trials N  --starts N
  failover  VRRP failover (kill, graceful) of xlbd and keepalived, 20 ms and 100 ms adverts
            options: --json  --trials N (default 5)  --adverts MS,MS
  failover-active-active
            three directors: connections surviving a director's death and return, and a flood
            options: --json  --advert MS (default 100)  --flood-seconds S (default 60; 0: none)
                     --flood-rate PPS (default 0: as fast as it goes)
                     --realtime-priority N (xlbd's flag; 0: none)
  throughput  packets/s of xlb DR, NAT, tunnel (IPIP, GUE), the floor and nftables DNAT
            (xlb-pktgen, sinks; about 1.5 min)
            options: --json  --runs N (default 3)  --seconds S (default 3)  --proto udp|tcp
                     --flows N (default 65536)  --syn-flood-rate N (xlb's; 0: no limit)
  connections  new TCP connections/s: xlb DR vs HAProxy (TCP mode) vs the client straight to a real
            options: --json  --runs N (default 5)  --count N (default 30000)  --parallel K (default 64)
  chaos     nine faults under traffic (two directors, VRRP): requests failed, connections lost,
            reals marked down wrongly, VRRP state changes, longest gap, per fault
            options: --json  --advert MS (default 100)  --pace-ms MS (default 20, between requests)
                     --flood-seconds S (default 10)  --flood-rate PPS (default 200000)
                     --idle-conns N (default 5000 per listener)
  ecmp      a router's ECMP route over three directors (FRR + xlbd each), 90 long-lived
            connections: a director killed, one joining, a real removed while one joins
            options: --json
  sync      flow-state sync: NAT and DR connections surviving the VRRP master's kill -9 (with
            and without sync), ECMP join + drain, xlbd CPU and lag at 100k new flows/s
            options: --json  --quick (no without-sync runs, 2 s load)  --rate N (default 100000)
                     --seconds S (default 3)

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

# build_targets TARGET...: builds ninja targets of the existing build directory.
build_targets() {
  if [[ ! -d $build ]]; then
    echo "bench.sh: no build directory at $build; run scripts/setup.sh first" >&2
    exit 1
  fi
  ninja -C "$build" "$@" >&2
}

# Each benchmark: the targets it needs built, and what runs it: a program of
# the build (bin:PATH), or a scenario script of scripts/bench/ given the
# build directory first (script:NAME).
lab=(controlplane/xlbd controlplane/xlbctl tests/lab/xlb-lab-server tests/lab/xlb-lab-client
  bpf/pass.bpf.o)
declare -A NEEDS=(
  [program]="tests/bench/program_bench"
  [control]="tests/bench/control_bench controlplane/xlbd controlplane/xlbctl"
  [failover]="${lab[*]}"
  [throughput]="pktgen/xlb-pktgen tests/bench/floor_forwarder dataplane/tool/xlb-dp bpf/pass.bpf.o"
  [failover-active-active]="${lab[*]} pktgen/xlb-pktgen"
  [connections]="tests/lab/xlb-lab-client tests/lab/xlb-lab-server dataplane/tool/xlb-dp bpf/pass.bpf.o"
  [chaos]="${lab[*]} pktgen/xlb-pktgen dataplane/tool/xlb-dp"
  [ecmp]="${lab[*]}"
  [sync]="${lab[*]} dataplane/tool/xlb-dp"
)
declare -A RUNNER=(
  [program]=bin:tests/bench/program_bench
  [control]=bin:tests/bench/control_bench
  [failover]=script:failover.sh
  [throughput]=script:throughput.sh
  [failover-active-active]=script:failover_active_active.sh
  [connections]=script:connections.sh
  [chaos]=script:chaos.sh
  [ecmp]=script:ecmp.sh
  [sync]=script:sync.sh
)

[[ $# -ge 1 ]] || usage
case "$1" in
  -h | --help | help) usage 0 ;;
esac
if [[ -z ${RUNNER[$1]:-} ]]; then
  echo "bench.sh: unknown benchmark '$1'" >&2
  usage
fi
need_root "$@"
benchmark=$1
shift
# shellcheck disable=SC2086  # a list of target names, split on purpose
build_targets ${NEEDS[$benchmark]}
case ${RUNNER[$benchmark]} in
  bin:*) exec "$build/${RUNNER[$benchmark]#bin:}" "$@" ;;
  script:*) exec "$root/scripts/bench/${RUNNER[$benchmark]#script:}" "$build" "$@" ;;
esac
