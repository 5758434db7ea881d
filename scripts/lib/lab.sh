# The direct-routing lab, built from network namespaces (sourced by the lab
# tests and the demo). Every name starts with a per-run prefix so two runs
# never collide; netns_down removes everything lab_up made, also after a
# failure (callers trap EXIT).
#
#   client (C)  198.51.100.2  2001:db8:1::2
#      | c0 - d0
#   director (D) d0: 198.51.100.1 2001:db8:1::1   d1: 203.0.113.1 2001:db8:2::1
#      | d1 - sd, bridge br0 in switch (S)
#   real1..3 (R1..R3) eth0: 203.0.113.11..13  2001:db8:2::11..13, VIP on lo
#
# Direct-routing VIPs: 192.0.2.10 and 2001:db8:10::10, on the reals' lo; the
# reals answer the client directly through their gateway, the director's d1
# address (the director's kernel forwards those replies). NAT VIPs:
# 192.0.2.20 and 2001:db8:10::20, not on the reals; their replies come back
# to the director (the reals' gateway), which rewrites them.

LAB_VIP4=192.0.2.10
LAB_VIP6=2001:db8:10::10
LAB_NAT_VIP4=192.0.2.20
LAB_NAT_VIP6=2001:db8:10::20
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

lab_init() {  # lab_init BUILD_DIR
  LAB_BUILD=$(cd "$1" && pwd)
  netns_init xlb
  LAB_PREFIX=$NETNS_PREFIX LAB_RUN=$NETNS_RUN
  LAB_PINS=$LAB_RUN/bpf
  C=${LAB_PREFIX}-c D=${LAB_PREFIX}-d S=${LAB_PREFIX}-s
  R1=${LAB_PREFIX}-r1 R2=${LAB_PREFIX}-r2 R3=${LAB_PREFIX}-r3
  # xlbd in the director, for the tests that run it: its config, API socket
  # and log (lab_start_xlbd, xlbctl).
  CONF=$LAB_RUN/xlb.yaml SOCK=$LAB_RUN/xlbd.sock XLBD_LOG=$LAB_RUN/xlbd.log
}

lab_log() { printf '[%s] %s\n' "$(date +%T)" "$*"; }

# lab_real_vips NS: the direct-routing VIPs on NS's lo, as a real of DR or
# tunnel forwarding has them; never answered for in ARP on eth0, never used
# as a source there.
lab_real_vips() {
  ip -n "$1" addr add "$LAB_VIP4/32" dev lo
  ip -n "$1" addr add "$LAB_VIP6/128" dev lo
  ip netns exec "$1" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
    net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
}

lab_up() {
  for ns in "$C" "$D" "$S" "$R1" "$R2" "$R3"; do netns_add "$ns"; done
  # client <-> director
  ip -n "$C" link add c0 type veth peer name d0 netns "$D"
  ip -n "$C" addr add 198.51.100.2/24 dev c0
  ip -n "$C" addr add 2001:db8:1::2/64 dev c0 nodad
  ip -n "$D" addr add 198.51.100.1/24 dev d0
  ip -n "$D" addr add 2001:db8:1::1/64 dev d0 nodad
  # director <-> switch
  ip -n "$D" link add d1 type veth peer name sd netns "$S"
  ip -n "$D" addr add 203.0.113.1/24 dev d1
  ip -n "$D" addr add 2001:db8:2::1/64 dev d1 nodad
  ip -n "$S" link add br0 type bridge
  ip -n "$S" link set sd master br0
  local i=1
  for r in "$R1" "$R2" "$R3"; do
    netns_attach "$r" "$S" "s$i" "203.0.113.1$i/24" "2001:db8:2::1$i/64"
    lab_real_vips "$r"
    i=$((i + 1))
  done
  ip -n "$S" link set br0 up
  ip -n "$S" link set sd up
  ip -n "$C" link set c0 up
  ip -n "$D" link set d0 up
  ip -n "$D" link set d1 up
  ip netns exec "$D" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
    net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.d0.rp_filter=0 net.ipv4.conf.d1.rp_filter=0
  # Routes after the links are up (a link change flushes them).
  ip -n "$C" route add 192.0.2.0/24 via 198.51.100.1
  ip -n "$C" route add 203.0.113.0/24 via 198.51.100.1
  ip -n "$C" -6 route add 2001:db8:10::/64 via 2001:db8:1::1
  ip -n "$C" -6 route add 2001:db8:2::/64 via 2001:db8:1::1
  for r in "$R1" "$R2" "$R3"; do
    ip -n "$r" route add default via 203.0.113.1
    ip -n "$r" -6 route add default via 2001:db8:2::1
  done
  # XDP on veth: checksums must be complete in what is sent into the
  # director, and the peer of a veth it sends into needs an XDP program
  # (PLATFORM.md): sd toward the reals, c0 toward the client (NAT replies).
  ip netns exec "$C" ethtool -K c0 tx off >/dev/null
  ip -n "$S" link set dev sd xdpdrv obj "$LAB_BUILD/bpf/pass.bpf.o" sec xdp
  ip -n "$C" link set dev c0 xdpdrv obj "$LAB_BUILD/bpf/pass.bpf.o" sec xdp
  # Private bpffs for this run's pins.
  netns_mount_bpf "$LAB_PINS"
}

# Starts the name server in each real: TCP and UDP on port 80 (direct
# routing) and 8080 (NAT), and a fake Patroni REST API on 8008 whose role is
# the content of $LAB_RUN/roleN (lab_role N ROLE changes it).
lab_start_servers() {
  local i=1
  for r in "$R1" "$R2" "$R3"; do
    echo replica >"$LAB_RUN/role$i"
    netns_start "$r" "$LAB_BUILD/tests/lab/xlb-lab-server" --name "real$i" --port 80 --port 8080 --udp \
      --patroni-port 8008 --role-file "$LAB_RUN/role$i" >"$LAB_RUN/server$i.out"
    i=$((i + 1))
  done
  netns_wait_for 5 "servers ready" bash -c "grep -qx ready '$LAB_RUN/server1.out' && \
    grep -qx ready '$LAB_RUN/server2.out' && grep -qx ready '$LAB_RUN/server3.out'"
}

lab_role() { echo "$2" >"$LAB_RUN/role$1"; }  # lab_role N primary|replica|down

xlbctl() { ip netns exec "$D" "$LAB_BUILD/controlplane/xlbctl" --socket "$SOCK" "$@"; }

# lab_start_xlbd [XLBD_FLAG...]: xlbd in the director on $CONF and this
# run's pins, its PID in XLBD_PID; returns once its API answers.
lab_start_xlbd() {
  ip netns exec "$D" "$LAB_BUILD/controlplane/xlbd" --config "$CONF" --pin-dir "$LAB_PINS" "$@" \
    >>"$XLBD_LOG" 2>&1 &
  XLBD_PID=$!
  netns_own "$XLBD_PID"
  netns_wait_for 10 "xlbd's API" xlbctl status >/dev/null
}

lab_dp() { ip netns exec "$D" "$LAB_BUILD/dataplane/tool/xlb-dp" --pin-dir "$LAB_PINS" "$@"; }
lab_client() { ip netns exec "$C" "$LAB_BUILD/tests/lab/xlb-lab-client" "$@"; }

# The kernel's checksum error counters (TcpInCsumErrors, UdpInCsumErrors,
# Udp6InCsumErrors) of a namespace, summed; "missing" if one is not found.
lab_csum_errors() {
  ip netns exec "$1" cat /proc/net/snmp /proc/net/snmp6 | awk '
    function add(line, names,   i) {
      for (i = 1; i <= NF; i++) if (names[i] == "InCsumErrors") { n += $i; found++ }
    }
    /^Tcp:/ { if (!t++) for (i = 1; i <= NF; i++) tcp[i] = $i; else add($0, tcp) }
    /^Udp:/ { if (!u++) for (i = 1; i <= NF; i++) udp[i] = $i; else add($0, udp) }
    /^Udp6InCsumErrors/ { n += $2; found++ }
    END { print (found == 3 ? n : "missing") }'
}
