#!/usr/bin/env bash
# New TCP connections per second through a VIP (DESIGN.md, "Measuring"):
# xlb direct routing beside HAProxy in TCP mode (the Debian package), in the
# same run, from the same client with the same parameters, to the same three
# reals, in the namespace lab of scripts/lib/lab.sh:
#
#   client C -- d0 director D d1 -- switch S -- real1..3 (xlb-lab-server :80)
#
# One exchange is what xlb-lab-client connect does: connect, read the
# server's name line, send "ping\n", read the echo, close; --parallel of them
# in flight at a time (default 64: a concurrent load, so HAProxy's threads
# have work to share; 8 to 128 gave the same ratio within the noise),
# --count per run (default 30000, about 1-3 s). A run's figure is exchanges
# that passed / the wall-clock time of the client process (its start, about
# 7 ms, included: it costs the faster paths a little, never helps them).
# Each run is preceded by 100 exchanges that show the path answers (and
# warm it up). Paths:
#
#   xlb      xlb attached to d0 and d1, a DR service 192.0.2.10:80 over the
#            three reals; the reals answer the client directly (through the
#            director's kernel routing, their gateway).
#   haproxy  xlb detached; the same VIP on the director's lo and
#            `haproxy -db` (the Debian package; TCP mode, balance
#            roundrobin, no logging, otherwise its defaults: a thread per
#            CPU, maxconn from the open file limit) listening on it,
#            connecting to the reals' port 80. The same VIP rather than an address of its own:
#            the client's route, TIME_WAIT tuple space and exchange are then
#            the same, which is what a user swapping one for the other sees.
#            The VIP is on the director only during haproxy's runs: while it
#            is local, the kernel would drop the reals' DR replies from it
#            as martians.
#   direct   xlb detached, no proxy: the client to real1's address, routed
#            through the director's kernel. Not a load balancer: the floor
#            line, what this client reaches over the same hops (one server,
#            where the others have three).
#
# Client-side limits are the same for all: the client's namespace (and the
# director's, where HAProxy makes its own outgoing connections) get
# ip_local_port_range 1024-65535 and tcp_tw_reuse=1. Paths are interleaved
# run by run (xlb, haproxy, direct; haproxy, direct, xlb; ...) so a busy
# neighbour on this shared machine hits them alike; each figure is the
# median of its runs.
#
#   scripts/bench/connections.sh BUILD_DIR [--json] [--runs 1..9 (5)] [--count N (30000)]
#                                           [--parallel K (64)]
#
# Human table (with ratios) on stderr; with --json, stdout is one object:
#   {"xlb_cps": X, "haproxy_cps": H, "direct_cps": D, "ratio": X/H}
# Everything it makes is removed on exit, also on failure.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../lib/lab.sh"

usage() {
  echo "usage: connections.sh BUILD_DIR [--json] [--runs 1..9] [--count N] [--parallel K]" >&2
  exit 2
}

[[ $# -ge 1 && -d $1 ]] || usage
build_dir=$1
shift
json=0 runs=5 count=30000 parallel=64
while [[ $# -gt 0 ]]; do
  case "$1" in
    --json) json=1 ;;
    --runs) runs=${2:-}; shift ;;
    --count) count=${2:-}; shift ;;
    --parallel) parallel=${2:-}; shift ;;
    *) echo "connections.sh: unknown option '$1'" >&2; usage ;;
  esac
  shift
done
[[ $runs =~ ^[1-9]$ ]] || { echo "connections.sh: --runs '$runs': 1..9" >&2; exit 2; }
[[ $count =~ ^[0-9]+$ ]] && ((count >= 1000 && count <= 1000000)) ||
  { echo "connections.sh: --count '$count': 1000..1000000" >&2; exit 2; }
[[ $parallel =~ ^[0-9]+$ ]] && ((parallel >= 1 && parallel <= 1000)) ||
  { echo "connections.sh: --parallel '$parallel': 1..1000" >&2; exit 2; }
command -v haproxy >/dev/null || { echo "connections.sh: haproxy is not installed (scripts/setup.sh)" >&2; exit 1; }

lab_init "$build_dir"
trap netns_down EXIT
trap 'exit 1' INT TERM
for f in tests/lab/xlb-lab-client tests/lab/xlb-lab-server dataplane/tool/xlb-dp bpf/pass.bpf.o; do
  [[ -e $LAB_BUILD/$f ]] || { echo "connections.sh: $LAB_BUILD/$f is missing (build it first)" >&2; exit 1; }
done
VIP=$LAB_VIP4
DIRECT=203.0.113.11

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }


write_haproxy_cfg() {
  cat >"$LAB_RUN/haproxy.cfg" <<EOF
global
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend vip
  bind $VIP:80
  default_backend reals
backend reals
  balance roundrobin
  server real1 203.0.113.11:80
  server real2 203.0.113.12:80
  server real3 203.0.113.13:80
EOF
}

HAPROXY_PID=
path_on() {  # path_on xlb|haproxy|direct
  case "$1" in
    xlb) lab_dp attach d0 d1 >&2 ;;
    haproxy)
      ip -n "$D" addr add "$VIP/32" dev lo
      netns_start "$D" haproxy -f "$LAB_RUN/haproxy.cfg" -db 2>>"$LAB_RUN/haproxy.err"
      HAPROXY_PID=$NETNS_LAST_PID
      ;;
    direct) ;;
  esac
}

path_off() {
  case "$1" in
    xlb) lab_dp detach d0 d1 >&2 ;;
    haproxy)
      netns_stop "$HAPROXY_PID"
      ip -n "$D" addr del "$VIP/32" dev lo
      ;;
    direct) ;;
  esac
}

answers() { lab_client connect --target "$1" --count 100 --parallel 10 --timeout-ms 500 >/dev/null; }
target_of() { [[ $1 == direct ]] && echo "$DIRECT:80" || echo "$VIP:80"; }

# measure PATH: sets MEASURED to the exchanges/s of one run and FAILED to
# the exchanges that failed (not a subshell: the processes it starts stay
# this shell's).
MEASURED= FAILED=
measure() {
  local path=$1 target out t0 t1 passed
  target=$(target_of "$path")
  # tcp_tw_reuse takes over a TIME_WAIT socket only once it is a second
  # old: so the previous run's leave none in this run's way.
  sleep 1
  path_on "$path"
  # Ready when a few exchanges pass; they also warm the path up.
  netns_wait_for 10 "$path answering on $target" answers "$target" ||
    { [[ $path != haproxy ]] || cat "$LAB_RUN/haproxy.err" >&2; exit 1; }
  t0=$(date +%s%N)
  out=$(lab_client connect --target "$target" --count "$count" --parallel "$parallel" \
    --timeout-ms 3000 2>"$LAB_RUN/client.err") || true
  t1=$(date +%s%N)
  path_off "$path"
  read -r passed FAILED < <(awk '$1 == "connect:" {print $2, $4}' <<<"$out")
  if [[ -z ${passed:-} ]]; then
    echo "connections.sh: the client's $path run ended without a report:" >&2
    cat "$LAB_RUN/client.err" >&2
    exit 1
  fi
  ((FAILED == 0)) || { log "$path: $FAILED of $count exchanges failed:"; sed 's/^/  /' "$LAB_RUN/client.err" >&2; }
  MEASURED=$(awk -v n="$passed" -v ns="$((t1 - t0))" 'BEGIN {printf "%d", n * 1e9 / ns}')
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
verdict() { awk -v r="$1" -v g="$2" 'BEGIN {print ((r >= g) ? "met" : "NOT met")}'; }

log "building the lab ($LAB_PREFIX): client, director, three reals"
lab_up >&2
for ns in "$C" "$D"; do
  ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1
done
lab_start_servers >&2
{
  lab_dp attach d0 d1
  lab_dp service add "$VIP:80/tcp"
  lab_dp real set "$VIP:80/tcp" 203.0.113.11 203.0.113.12 203.0.113.13
  lab_dp detach d0 d1
} >&2
write_haproxy_cfg

paths=(xlb haproxy direct)
declare -A figures=() failures=()
for ((run = 1; run <= runs; run++)); do
  # The order turns by one each run, so no path always follows the same one.
  for ((i = 0; i < ${#paths[@]}; i++)); do
    p=${paths[(i + run - 1) % ${#paths[@]}]}
    measure "$p"
    figures[$p]+="$MEASURED "
    failures[$p]=$((${failures[$p]:-0} + FAILED))
    log "run $run/$runs: $p $MEASURED connections/s, $FAILED failed"
  done
done

declare -A med
for p in "${paths[@]}"; do med[$p]=$(median <<<"${figures[$p]}"); done
xlb_haproxy=$(ratio "${med[xlb]}" "${med[haproxy]}")
xlb_direct=$(ratio "${med[xlb]}" "${med[direct]}")
haproxy_direct=$(ratio "${med[haproxy]}" "${med[direct]}")
{
  echo
  echo "connections: new TCP connections/s (connect, name line, ping echo, close), one client,"
  echo "$parallel in flight, median of $runs runs of $count (each run's figure after it)"
  printf '  %-30s %10s %7s   %s\n' "path" "conn/s" "failed" "runs"
  printf '  %-30s %10s %7s   %s\n' "xlb DR (VIP, 3 reals)" "${med[xlb]}" "${failures[xlb]}" "${figures[xlb]}"
  printf '  %-30s %10s %7s   %s\n' "HAProxy TCP (VIP, 3 reals)" "${med[haproxy]}" "${failures[haproxy]}" "${figures[haproxy]}"
  printf '  %-30s %10s %7s   %s\n' "direct (floor: real1, no LB)" "${med[direct]}" "${failures[direct]}" "${figures[direct]}"
  echo "  xlb/haproxy      $xlb_haproxy  (goal >= 1.5: $(verdict "$xlb_haproxy" 1.5))"
  echo "  xlb/direct       $xlb_direct"
  echo "  haproxy/direct   $haproxy_direct"
} >&2
if ((json)); then
  printf '{"xlb_cps": %d, "haproxy_cps": %d, "direct_cps": %d, "ratio": %s}\n' \
    "${med[xlb]}" "${med[haproxy]}" "${med[direct]}" "$xlb_haproxy"
fi
