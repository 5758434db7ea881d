# The active-active lab: N directors, three real servers and a client on one
# Ethernet segment (a bridge in its own namespace), as directors with VRRP
# usually sit: one-armed, VIPs in the segment's subnet, direct routing.
# Sourced by the failover benchmarks, the active-active lab test and the
# demo. Every name starts with a per-run prefix; netns_down (netns.sh) removes
# everything dl_up made (callers trap EXIT), processes by the PIDs we started.
#
#   client C   198.51.100.9
#   director i 198.51.100.i (i = 1..N, N <= 8), xlbd or keepalived
#   real j     198.51.100.2j (j = 1..3), every VIP on lo, xlb-lab-server :80
#   VIPs       198.51.100.101.. (on the master director's eth0)
#
# XDP on veth (PLATFORM.md): the bridge ports of the directors and of the
# client carry an XDP_PASS program so frames sent with XDP arrive, and
# the veths sending TCP into directors have tx checksum offload off.

DL_CLIENT_ADDR=198.51.100.9
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

dl_init() {  # dl_init BUILD_DIR DIRECTORS
  DL_BUILD=$(cd "$1" && pwd)
  DL_N=$2
  netns_init xa
  DL_PREFIX=$NETNS_PREFIX DL_RUN=$NETNS_RUN
  DL_S=$DL_PREFIX-s DL_C=$DL_PREFIX-c
  DL_D=() DL_R=()
  local i
  for ((i = 1; i <= DL_N; i++)); do DL_D[i]=$DL_PREFIX-d$i; done
  for i in 1 2 3; do DL_R[i]=$DL_PREFIX-r$i; done
}

dl_log() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*"; }
dl_director_addr() { echo "198.51.100.$1"; }
# dl_vip K (K = 1..); DL_VIP_NET: the /24 they are in (ecmp_lab.sh routes them).
dl_vip() { echo "${DL_VIP_NET:-198.51.100}.$((100 + $1))"; }

dl_up() {  # dl_up VIP_COUNT
  local i
  netns_add "$DL_S"
  netns_bridge "$DL_S"
  netns_add "$DL_C"
  netns_attach "$DL_C" "$DL_S" pc "$DL_CLIENT_ADDR/24"
  # xlb-pktgen sends out of the client's eth0 with XDP: its peer needs a program.
  ip -n "$DL_S" link set dev pc xdpdrv obj "$DL_BUILD/bpf/pass.bpf.o" sec xdp
  for ((i = 1; i <= DL_N; i++)); do dl_add_director "$i"; done
  dl_add_reals "$1"
}

# dl_add_director I: director I's namespace on the segment, the pass program
# on its bridge port (its XDP_TX frames arrive), its bpffs.
dl_add_director() {
  DL_D[$1]=$DL_PREFIX-d$1
  netns_add "${DL_D[$1]}"
  netns_attach "${DL_D[$1]}" "$DL_S" "pd$1" "$(dl_director_addr "$1")/24"
  ip -n "$DL_S" link set dev "pd$1" xdpdrv obj "$DL_BUILD/bpf/pass.bpf.o" sec xdp
  netns_mount_bpf "$DL_RUN/d$1/bpf"
}

# dl_add_reals VIP_COUNT: real1..3 on the segment, VIPs 1..VIP_COUNT on lo,
# xlb-lab-server on port 80; returns once they listen.
dl_add_reals() {
  local vips=$1 i j
  for j in 1 2 3; do
    netns_add "${DL_R[j]}"
    netns_attach "${DL_R[j]}" "$DL_S" "pr$j" "198.51.100.2$j/24"
    for ((i = 1; i <= vips; i++)); do ip -n "${DL_R[j]}" addr add "$(dl_vip "$i")/32" dev lo; done
    # The VIPs are on lo: never answer ARP for them, never use them as a source.
    ip netns exec "${DL_R[j]}" sysctl -qw net.ipv4.conf.all.arp_ignore=1 \
      net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.eth0.arp_ignore=1 \
      net.ipv4.conf.eth0.arp_announce=2
    netns_start "${DL_R[j]}" "$DL_BUILD/tests/lab/xlb-lab-server" --name "real$j" --port 80 \
      >"$DL_RUN/server$j.out"
  done
  netns_wait_for 5 "servers ready" dl_servers_ready
}

dl_servers_ready() {
  grep -qx ready "$DL_RUN/server1.out" && grep -qx ready "$DL_RUN/server2.out" &&
    grep -qx ready "$DL_RUN/server3.out"
}

# dl_services_yaml VIP_COUNT: one DR service per VIP on port 80, the same
# three reals everywhere (so every director builds the same Maglev tables);
# DL_REALS, when set, the flow-style list in their place.
DL_REALS_DEFAULT='{address: 198.51.100.21}, {address: 198.51.100.22}, {address: 198.51.100.23}'
dl_services_yaml() {
  local i
  echo "services:"
  for ((i = 1; i <= $1; i++)); do
    cat <<EOF
  - name: vip$i
    vip: $(dl_vip "$i")
    port: 80
    reals: [${DL_REALS:-$DL_REALS_DEFAULT}]
    health: {type: tcp, interval: 200ms, timeout: 200ms}
EOF
  done
}

# dl_start_xlbd I BODY [XLBD_FLAGS...]: xlbd in director I, its config the
# lab's interface and API socket plus BODY (services:, vrrp: sections); its
# PID in DL_XLBD[I]. DL_METRICS: the metrics listener's address in each
# director (default none).
declare -A DL_XLBD
DL_METRICS=${DL_METRICS:-}
dl_start_xlbd() {
  local i=$1 dir=$DL_RUN/d$1
  printf 'interfaces: [eth0]\napi: {socket: %s, metrics: "%s"}\n%s\n' "$dir/xlbd.sock" "$DL_METRICS" "$2" \
    >"$dir/xlb.yaml"
  netns_start "${DL_D[i]}" "$DL_BUILD/controlplane/xlbd" --config "$dir/xlb.yaml" --pin-dir "$dir/bpf" \
    "${@:3}" >>"$dir/xlbd.log" 2>&1
  DL_XLBD[$i]=$NETNS_LAST_PID
  netns_wait_for 10 "xlbd in director $i" dl_xlbctl "$i" status
}

# dl_kill_director I: a director dies: kill -9 of its xlbd and its link
# down (so its XDP program, which outlives xlbd, stops forwarding too).
dl_kill_director() {
  # bash reports a killed background job on stderr when it reaps it: not
  # news here, so the reaping happens with stderr closed.
  exec 3>&2 2>/dev/null
  kill -9 "${DL_XLBD[$1]}"
  ip -n "${DL_D[$1]}" link set eth0 down
  wait "${DL_XLBD[$1]}" || true
  exec 2>&3 3>&-
}

dl_xlbctl() {  # dl_xlbctl I ARGS...
  ip netns exec "${DL_D[$1]}" "$DL_BUILD/controlplane/xlbctl" --socket "$DL_RUN/d$1/xlbd.sock" "${@:2}"
}

# Packets the kernel dropped because a CPU's input backlog was full (all
# namespaces share it: /proc/net/softnet_stat, second column, hex).
dl_backlog_drops() {
  local n=0 processed dropped rest
  while read -r processed dropped rest; do n=$((n + 16#$dropped)); done </proc/net/softnet_stat
  echo "$n"
}
# dl_port_stat I FIELD: a tx counter of director I's bridge port (what the
# segment handed to director I: packets; what it could not because I's
# receive ring, a veth's 256 frames, was full: dropped).
dl_port_stat() { ip -n "$DL_S" -j -s link show "pd$1" | jq ".[0].stats64.tx.$2"; }

dl_has_addr() { netns_has_addr "${DL_D[$1]}" "$2"; }  # dl_has_addr I ADDR
