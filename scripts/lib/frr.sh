# FRR daemons in a lab namespace (sourced after netns.sh): one instance per
# path space (-N NAME), its configs, pid files, vty and zserv sockets and
# log in one directory (/var/run/frr/NAME, owned by frr, as FRR wants),
# removed by netns_down with the crash-log directories a killed daemon
# leaves (/var/tmp/frr/DAEMON.PID).
#
#   frr_dir NAME                       the instance's directory
#   frr_start NAME NS OUT DAEMON...    zebra, then each DAEMON (bgpd, bfdd,
#                                      vrrpd...) once the one before is
#                                      zebra's client; config DIR/D.conf
#                                      (written by the caller, empty when
#                                      not), output appended to OUT; PIDs
#                                      in FRR_PIDS (zebra's first)
#   frr_vtysh NAME NS ARGS...          vtysh on the instance
#
# Order matters: bfdd started before bgpd is zebra's client never gets
# bgpd's BFD sessions (PLATFORM.md).

frr_dir() { echo "/var/run/frr/$1"; }
frr_vtysh() { ip netns exec "$2" vtysh -N "$1" --config_dir /var/run/frr "${@:3}"; }
frr_has_client() {  # NAME NS PROTO: zebra lists the daemon as its client
  [[ $(frr_vtysh "$1" "$2" -c 'show zebra client summary') == *$'\n'"$3 "* ]]
}

frr_start() {  # frr_start NAME NS OUT DAEMON...
  local name=$1 ns=$2 out=$3 dir daemon extra pid
  dir=$(frr_dir "$name")
  mkdir -p "$dir"
  netns_own_path "$dir"
  for daemon in zebra "${@:4}" vtysh; do [[ -e $dir/$daemon.conf ]] || : >"$dir/$daemon.conf"; done
  chown -R frr:frr "$dir"
  FRR_PIDS=()
  for daemon in zebra "${@:4}"; do
    extra=()
    [[ $daemon == bfdd ]] && extra=(--bfdctl "$dir/bfdd.sock")
    netns_start "$ns" "/usr/lib/frr/$daemon" -N "$name" --vty_socket "$dir" -z "$dir/zserv.api" \
      --log "file:$dir/frr.log" -f "$dir/$daemon.conf" -i "$dir/$daemon.pid" "${extra[@]}" \
      >>"$out" 2>&1
    pid=$NETNS_LAST_PID
    FRR_PIDS+=("$pid")
    netns_own_path "/var/tmp/frr/$daemon.$pid"
    if [[ $daemon == zebra ]]; then
      netns_wait_for 10 "zebra in $name" test -S "$dir/zserv.api" || return 1
    else
      netns_wait_for 10 "$daemon in $name connected to zebra" frr_has_client "$name" "$ns" "${daemon%d}" ||
        return 1
    fi
  done
}
