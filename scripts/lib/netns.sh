# The lab's namespace helpers, in one place: every lab (lab.sh's director,
# directors_lab.sh's segment, the VRRP tests' own segments) makes its
# namespaces, processes and mounts through these, and netns_down removes all
# of them, also after a failure (callers trap EXIT). Names start with a
# per-run prefix so that two runs never collide. Sourced, not run.
#
#   netns_init TAG          a prefix (TAG + random + PID, 10 chars) and a run
#                           directory: NETNS_PREFIX, NETNS_RUN
#   netns_add NAME          a namespace we own, lo up
#   netns_start NS CMD...   a process we own, in NS; its PID in NETNS_LAST_PID
#   netns_own PID           a process started otherwise, stopped by netns_down
#   netns_stop PID          stops one process we own and forgets it
#   netns_forget PID        forgets one that ended (and was waited for), so
#                           that netns_down never signals its reused PID
#   netns_mount_bpf DIR     a bpffs of our own at DIR (made if missing)
#   netns_bridge NS         bridge br0 in NS: a segment's switch
#   netns_attach NS SWITCH PORT ADDR/LEN...
#                           eth0 in NS on SWITCH's br0 (bridge port PORT),
#                           with the addresses given; tx checksum offload off
#                           (XDP on veth, PLATFORM.md)
#   netns_attach_as NS IFNAME SWITCH PORT ADDR/LEN...
#                           the same with another name than eth0 (a router
#                           on several segments)
#   netns_own_path PATH     a file or directory made outside NETNS_RUN (a
#                           daemon's run directory), removed by netns_down
#                           once our processes are gone
#   netns_wait_for SECONDS WHAT CMD...
#                           polls CMD (quietly) every 50 ms until it succeeds,
#                           or says what timed out and fails; with
#                           NETNS_WAIT_LOG=1 it also says how long it took
#   netns_has_addr NS ADDR  ADDR is on NS's eth0
#   netns_down              stops our processes (TERM, KILL after 3 s), then
#                           unmounts, deletes the namespaces, our paths and
#                           the run dir

NETNS_PIDS=()
NETNS_LIST=()
NETNS_MOUNTS=()
NETNS_PATHS=()

netns_init() {  # netns_init TAG
  NETNS_PREFIX=$1$(printf '%04x' $((RANDOM % 65536)))$$
  NETNS_PREFIX=${NETNS_PREFIX:0:10}
  NETNS_RUN=$(mktemp -d "/tmp/${NETNS_PREFIX}.XXXX")
}

netns_add() {
  ip netns add "$1"
  NETNS_LIST+=("$1")
  ip -n "$1" link set lo up
}

netns_start() {
  # ip netns exec execs CMD, so $! is CMD's own PID.
  ip netns exec "$1" "${@:2}" &
  NETNS_LAST_PID=$!
  NETNS_PIDS+=("$NETNS_LAST_PID")
}

netns_own() { NETNS_PIDS+=("$1"); }

netns_stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  netns_forget "$1"
}

netns_forget() {
  local kept=() pid
  for pid in "${NETNS_PIDS[@]}"; do [[ $pid == "$1" ]] || kept+=("$pid"); done
  NETNS_PIDS=("${kept[@]}")
}

netns_mount_bpf() {
  mkdir -p "$1"
  mount -t bpf bpf "$1"
  NETNS_MOUNTS+=("$1")
}

netns_bridge() {
  ip -n "$1" link add br0 type bridge
  ip -n "$1" link set br0 up
}

netns_attach() { netns_attach_as "$1" eth0 "${@:2}"; }  # netns_attach NS SWITCH PORT ADDR/LEN...

netns_attach_as() {  # netns_attach_as NS IFNAME SWITCH PORT ADDR/LEN...
  local ns=$1 ifname=$2 switch=$3 port=$4 addr
  shift 4
  ip link add "$ifname" netns "$ns" type veth peer name "$port" netns "$switch"
  ip -n "$switch" link set "$port" master br0
  ip -n "$switch" link set "$port" up
  for addr in "$@"; do
    if [[ $addr == *:* ]]; then
      ip -n "$ns" addr add "$addr" dev "$ifname" nodad
    else
      ip -n "$ns" addr add "$addr" dev "$ifname"
    fi
  done
  ip -n "$ns" link set "$ifname" up
  ip netns exec "$ns" ethtool -K "$ifname" tx off >/dev/null
}

netns_own_path() { NETNS_PATHS+=("$1"); }

netns_wait_for() {
  local limit_ms=$(($1 * 1000)) what=$2 start=$EPOCHREALTIME elapsed_ms
  shift 2
  while true; do
    if "$@" >/dev/null 2>&1; then
      elapsed_ms=$(((${EPOCHREALTIME/./} - ${start/./}) / 1000))
      [[ ${NETNS_WAIT_LOG:-0} == 1 ]] && printf '[%s]   %s after %d ms\n' "$(date +%T.%3N)" "$what" "$elapsed_ms"
      return 0
    fi
    elapsed_ms=$(((${EPOCHREALTIME/./} - ${start/./}) / 1000))
    if ((elapsed_ms >= limit_ms)); then
      echo "timed out waiting for $what (${limit_ms} ms)" >&2
      return 1
    fi
    sleep 0.05
  done
}

# (No `| grep -q`: under pipefail, ip's SIGPIPE from an early match would fail it.)
netns_has_addr() { [[ $(ip -n "$1" -o addr show dev eth0) == *" $2/"* ]]; }

netns_down() {
  local pid ns m i
  for pid in "${NETNS_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  # 3 s for a graceful exit. `jobs -rp` lists our children still running
  # (kill -0 would count the exited ones not yet waited for).
  for ((i = 0; i < 60; i++)); do
    local running alive=0
    running=$(jobs -rp)
    for pid in "${NETNS_PIDS[@]}"; do grep -qx "$pid" <<<"$running" && alive=1; done
    ((alive)) || break
    sleep 0.05
  done
  for pid in "${NETNS_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${NETNS_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  NETNS_PIDS=()
  for m in "${NETNS_MOUNTS[@]}"; do umount "$m" 2>/dev/null || true; done
  NETNS_MOUNTS=()
  for ns in "${NETNS_LIST[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  NETNS_LIST=()
  for m in "${NETNS_PATHS[@]}"; do rm -rf "$m"; done
  NETNS_PATHS=()
  [[ -n "${NETNS_RUN:-}" && -d "$NETNS_RUN" ]] && rm -rf "$NETNS_RUN"
  return 0
}
