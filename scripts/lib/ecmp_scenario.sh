# The ECMP scenario of issue #14 on the ECMP lab (ecmp_lab.sh), shared by
# `scripts/bench.sh ecmp` (scripts/bench/ecmp.sh), its lab test
# (tests/lab/ecmp_lab_test.sh) and `scripts/demo.sh --ecmp`: long-lived
# connections (active_active.sh's hold client, one VIP) spread by the
# router's hash over the directors, while a director dies, one joins, and a
# real is removed everywhere during a join. Directors are started and
# killed only through ecmp_start_director / ecmp_add_director /
# ecmp_kill_director, so how a director runs FRR and xlbd stays there.
#
#   ecmp_sc_init BUILD_DIR CONNS       names, 3 directors, CONNS connections
#   ecmp_sc_up                         the lab, directors 1..3, a 3-path
#                                      route and 3 BFD sessions (30 s max)
#   ecmp_sc_hold                       CONNS new connections, all exchanging
#   ecmp_sc_kill I                     kill director I; ECMP_WITHDRAW_MS (the
#                                      kill to a route one path shorter; -1:
#                                      not within 10 s), ECMP_ALIVE, ECMP_GAP
#   ecmp_sc_join I                     director I joins; ECMP_JOIN_MS (the
#                                      start to a route one path longer; -1:
#                                      not within 30 s), ECMP_ALIVE, ECMP_GAP,
#                                      ECMP_MOVED (flows the router sent to
#                                      another director), ECMP_MOVED_NEW (of
#                                      those, to director I), ECMP_MOVED_CHANGED
#   ecmp_sc_remove_real ADDR           `xlbctl real del` on every live
#                                      director at once; later directors are
#                                      started without ADDR too
#   ecmp_sc_drain_real ADDR            `xlbctl real set --drain` (weight 0:
#                                      its flows stay, new ones avoid it) on
#                                      every live director at once; later
#                                      directors start with ADDR at weight 0
#   ecmp_sc_stop_holds                 end the connections; ECMP_ON_REAL
#                                      (ADDR's), ECMP_OFF_REAL, and
#                                      ECMP_OFF_REAL_SURVIVED (the others
#                                      still alive at the end); ECMP_SURVIVED
#                                      (all of them still alive at the end)
#   ecmp_sc_director_conns I           the flows passing director I now
#   ecmp_sc_spread                     "d1=N d3=N ..." over the live ones
#
# The scenario of issue #16 (flow state shared, ECMP_SYNC=1, ecmp_lab.sh):
#   ecmp_sc_sync_join_drain BUILD_DIR [SYNC] [CONNS]
#       the whole of it on a lab of its own, removed at the end (callers
#       trap netns_down on EXIT too): ecmp_sc_init, then ecmp_sc_join_drain;
#       SYNC 1 (default) or 0 (without sync, for the comparison), CONNS 90.
#       Sets ECMP_JOIN_DRAIN_SURVIVED (connections alive at the end, of
#       CONNS) besides ecmp_sc_join_drain's figures; `scripts/bench.sh sync`
#       calls it.
#   ecmp_sc_join_drain                 after ecmp_sc_init: 3 directors, CONNS
#       connections (ECMP_JD_UP of them up), every director holding every
#       flow by sync (ECMP_JD_SHARED 1); the real with the most flows
#       (ECMP_JD_REAL, ECMP_JD_ON_REAL flows) drained on every director, then
#       director 4 joins, with it drained in its config (ECMP_JD_PATHS: the
#       route's paths after; ECMP_JOIN_MS); ECMP_JD_MOVED flows the router
#       moved to another director, ECMP_JD_MOVED_NEW of them to director 4,
#       ECMP_JD_MOVED_DRAINED / ECMP_JD_MOVED_NEW_DRAINED those of them on
#       the drained real (Maglev on their new director, without sync, sends
#       them elsewhere); ECMP_SURVIVED at the end. Returns 1 at a step that
#       failed (ECMP_JD_FAILED says which).
#
# Moved flows are counted from the directors' connection tables (`xlbctl
# conns`): a flow (client port) on another director than before whose entry
# there was touched since the join began is one the router sent there.
# ECMP_MOVED_CHANGED: of the moved flows not on a removed real, those the
# director they moved to sent to another real than before (a Maglev slot
# that changed with the reals): the real they now reach resets them.

source "$(dirname "${BASH_SOURCE[0]}")/ecmp_lab.sh"
source "$(dirname "${BASH_SOURCE[0]}")/active_active.sh"

ecmp_sc_init() {  # ecmp_sc_init BUILD_DIR CONNS
  AA_VIPS=1 AA_CONNS_PER_VIP=$2
  ECMP_CONNS=$2 ECMP_LIVE=(1 2 3) ECMP_REMOVED_REAL=
  ecmp_init "$1" 3
}

ecmp_sc_up() {
  local i
  ecmp_up
  for i in "${ECMP_LIVE[@]}"; do ecmp_start_director "$i"; done
  netns_wait_for 30 "3 paths to the VIP" ecmp_router_paths_are 3 &&
    netns_wait_for 10 "3 BFD sessions up" ecmp_bfd_up_are 3
}

ecmp_sc_hold() {
  aa_start_holds && netns_wait_for 5 "every connection exchanging" aa_all_alive_fresh
}

# ecmp_sc_flows I: the flows passing director I now, "CLIENT_PORT REAL" a
# line: its established entries refreshed within the last half second (the
# connections send every 50 ms; idle_s moves in ~0.25 s steps). A flow the
# router moved away leaves an entry that idles (its FIN passes elsewhere).
ECMP_SC_SETTLE_MS=1000  # after a route change: moved flows' old entries idle
ecmp_sc_flows() {
  dl_xlbctl "$1" --json conns --limit 100000 |
    jq -r '.connections[] | select(.state == "active" and .idle_s < 0.5)
      | "\(.client | sub(".*:"; "")) \(.real)"' | sort -u
}
ecmp_sc_director_conns() { ecmp_sc_flows "$1" | wc -l; }  # ecmp_sc_director_conns I
ecmp_sc_spread() {
  local i out=()
  for i in "${ECMP_LIVE[@]}"; do out+=("d$i=$(ecmp_sc_director_conns "$i")"); done
  echo "${out[*]}"
}
# The flows of every live director, "DIRECTOR CLIENT_PORT REAL" a line.
ecmp_sc_all_flows() {
  local i
  for i in "${ECMP_LIVE[@]}"; do ecmp_sc_flows "$i" | sed "s/^/$i /"; done
}
# ecmp_sc_all_touched START: the same for every entry (closing ones too)
# touched since START: a flow reset by its new real stops sending, so its
# entry soon idles out of ecmp_sc_flows, but was touched after START.
ecmp_sc_all_touched() {
  local i since
  since=$(($(ecmp_sc_elapsed_ms "$1") / 1000)).$(printf '%03d' $(($(ecmp_sc_elapsed_ms "$1") % 1000)))
  for i in "${ECMP_LIVE[@]}"; do
    dl_xlbctl "$i" --json conns --limit 100000 |
      jq -r --argjson since "$since" '.connections[] | select(.state != "expired" and .idle_s < $since)
        | "\(.client | sub(".*:"; "")) \(.real)"' | sort -u | sed "s/^/$i /"
  done
}

ecmp_sc_elapsed_ms() { echo $(((${EPOCHREALTIME/./} - ${1/./}) / 1000)); }
ecmp_sc_settled() {  # ecmp_sc_settled START: settle time since START passed, every connection fresh
  (($(ecmp_sc_elapsed_ms "$1") >= ECMP_SC_SETTLE_MS)) && aa_all_alive_fresh
}

ecmp_sc_kill() {  # ecmp_sc_kill I
  local start=$EPOCHREALTIME want=$((${#ECMP_LIVE[@]} - 1)) i live=()
  ecmp_kill_director "$1"
  ECMP_WITHDRAW_MS=-1
  netns_wait_for 10 "$want paths to the VIP" ecmp_router_paths_are "$want" &&
    ECMP_WITHDRAW_MS=$(ecmp_sc_elapsed_ms "$start")
  for i in "${ECMP_LIVE[@]}"; do ((i == $1)) || live+=("$i"); done
  ECMP_LIVE=("${live[@]}")
  read -r ECMP_ALIVE ECMP_GAP < <(aa_hold_status)
}

ecmp_sc_join() {  # ecmp_sc_join I
  local start joined want=$((${#ECMP_LIVE[@]} + 1)) before=$DL_RUN/flows.before.$1 after=$DL_RUN/flows.after.$1
  ecmp_sc_all_flows >"$before"
  start=$EPOCHREALTIME joined=$EPOCHREALTIME
  ecmp_add_director "$1"
  ECMP_LIVE+=("$1")
  ECMP_JOIN_MS=-1
  netns_wait_for 30 "$want paths to the VIP" ecmp_router_paths_are "$want" &&
    ECMP_JOIN_MS=$(ecmp_sc_elapsed_ms "$start")
  # Every flow exchanged since the change, and the old entries of the
  # moved ones idled out of ecmp_sc_flows.
  start=$EPOCHREALTIME
  netns_wait_for 10 "every connection exchanging since the route change" ecmp_sc_settled "$start" || true
  read -r ECMP_ALIVE ECMP_GAP < <(aa_hold_status)
  # Entries touched since the join began, not since the route changed: a
  # flow reset by its new real at once (the router moved it the moment its
  # route grew) touched its new director's entry only then, before the
  # route change was seen here. Its old director's entry, touched too, is
  # left out below by its director.
  ecmp_sc_all_touched "$joined" >"$after"
  # Moved: a flow that reached another director than before since the join
  # started. Changed: a moved flow whose new real differs from the one it
  # had (the removed real's own flows aside).
  read -r ECMP_MOVED ECMP_MOVED_NEW ECMP_MOVED_CHANGED < <(awk -v new="$1" -v removed="$ECMP_REMOVED_REAL" '
    FNR == NR { dir[$2] = $1; real[$2] = $3; next }
    ($2 in dir) && $1 != dir[$2] {
      moved++; on_new += ($1 == new)
      old = real[$2]; sub(/:.*/, "", old)
      if (old != removed && $3 != real[$2]) changed++
    }
    END { print moved + 0, on_new + 0, changed + 0 }' "$before" "$after")
}

ecmp_sc_remove_real() {  # ecmp_sc_remove_real ADDR
  local i pids=()
  ECMP_REMOVED_REAL=$1
  DL_REALS=$(sed "s/{address: $1}, //; s/, {address: $1}//" <<<"${DL_REALS:-$DL_REALS_DEFAULT}")
  for i in "${ECMP_LIVE[@]}"; do
    dl_xlbctl "$i" real del "$ECMP_VIP:80" "$1" >/dev/null &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
}

ecmp_sc_drain_real() {  # ecmp_sc_drain_real ADDR
  local i pids=()
  DL_REALS=$(sed "s/{address: $1}/{address: $1, weight: 0}/" <<<"${DL_REALS:-$DL_REALS_DEFAULT}")
  for i in "${ECMP_LIVE[@]}"; do
    dl_xlbctl "$i" real set "$ECMP_VIP:80" "$1" --drain >/dev/null &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
}

# ecmp_sc_stop_holds: per connection, the server it reached and its status
# (the hold client's closing "conn I server NAME ... status S" lines).
ecmp_sc_stop_holds() {
  local name
  aa_stop_holds
  name=$(ecmp_sc_real_name "$ECMP_REMOVED_REAL")
  read -r ECMP_ON_REAL ECMP_OFF_REAL ECMP_OFF_REAL_SURVIVED ECMP_SURVIVED < <(awk -v r="$name" '
    $1 == "conn" && $3 == "server" {
      all_ok += ($NF == "ok")
      if ($4 == r) on++; else { off++; ok += ($NF == "ok") }
    }
    END { print on + 0, off + 0, ok + 0, all_ok + 0 }' "$DL_RUN/hold1.out")
}
ecmp_sc_real_name() { if [[ -n $1 ]]; then echo "real${1##*.2}"; fi; }  # 198.51.100.2J -> realJ

# --- issue #16: a director joins while a real is drained everywhere -------------

# ecmp_sc_carried: the flows each live director carries now, "DIRECTOR
# CLIENT_PORT REAL" a line, fresh in two looks 0.6 s apart: a peer's copy
# made or refreshed by sync looks fresh for a moment (its last_seen is the
# owner's), never twice in a row (sync refreshes no faster than every 5 s).
ecmp_sc_carried() {
  local first
  first=$(ecmp_sc_all_flows | sort)
  sleep 0.6
  comm -12 <(echo "$first") <(ecmp_sc_all_flows | sort)
}

# ecmp_sc_holds_all I: director I has an entry for every connection (its
# own, or a copy from a peer: "syn_recv" until refreshed, any live state).
ecmp_sc_holds_all() {
  local n
  n=$(dl_xlbctl "$1" --json conns --limit 100000 |
    jq -r '.connections[] | select(.state != "expired" and .state != "closing")
      | .client | sub(".*:"; "")' | sort -u | wc -l)
  ((n >= ECMP_CONNS))
}
ecmp_sc_all_hold_all() {
  local i
  for i in "${ECMP_LIVE[@]}"; do ecmp_sc_holds_all "$i" || return 1; done
}
ecmp_sc_sync_peers_up() {  # every live director hears the other live ones
  local i want=$((${#ECMP_LIVE[@]} - 1))
  for i in "${ECMP_LIVE[@]}"; do
    [[ $(dl_xlbctl "$i" --json sync | jq '[.peers[] | select(.up)] | length') == "$want" ]] || return 1
  done
}

ecmp_sc_join_drain() {
  local before=$DL_RUN/jd.before after=$DL_RUN/jd.after touched=$DL_RUN/jd.touched start
  ECMP_JD_UP=0 ECMP_JD_SHARED=0 ECMP_JD_REAL= ECMP_JD_ON_REAL=0 ECMP_JD_PATHS=0 ECMP_JOIN_MS=-1
  ECMP_JD_MOVED=0 ECMP_JD_MOVED_NEW=0 ECMP_JD_MOVED_DRAINED=0 ECMP_JD_MOVED_NEW_DRAINED=0
  ECMP_SURVIVED=0 ECMP_JD_FAILED=
  ecmp_sc_up || { ECMP_JD_FAILED="3 directors and their routes"; return 1; }
  if ((ECMP_SYNC)); then
    netns_wait_for 10 "sync peers up" ecmp_sc_sync_peers_up || { ECMP_JD_FAILED="sync peers up"; return 1; }
  fi
  ecmp_sc_hold || { ECMP_JD_FAILED="$ECMP_CONNS connections"; return 1; }
  read -r ECMP_JD_UP _ < <(aa_hold_status)
  if ((ECMP_SYNC)); then
    netns_wait_for 5 "every director holds every flow" ecmp_sc_all_hold_all && ECMP_JD_SHARED=1
  fi
  ecmp_sc_carried >"$before"
  # The real with the most flows: the most moved flows on it.
  read -r ECMP_JD_ON_REAL ECMP_JD_REAL < <(awk '{ sub(/:.*/, "", $3); n[$3]++ }
    END { for (r in n) print n[r], r }' "$before" | sort -rn | head -1)
  [[ -n $ECMP_JD_REAL ]] || { ECMP_JD_FAILED="flows on the directors"; return 1; }
  start=$EPOCHREALTIME
  ecmp_sc_drain_real "$ECMP_JD_REAL"
  ecmp_sc_join 4
  ECMP_JD_PATHS=$(ecmp_router_paths)
  ecmp_sc_carried >"$after"
  ecmp_sc_all_touched "$start" >"$touched"
  # Moved: a flow alive on another director than before; or one that broke
  # (no longer carried anywhere) whose packets made an entry for another
  # real on another director since the drain (Maglev chose there). With
  # sync that entry is copied to every peer: a broken flow counts as on
  # director 4 when director 4 has it (its peers, holding copies, kept theirs).
  read -r ECMP_JD_MOVED ECMP_JD_MOVED_NEW ECMP_JD_MOVED_DRAINED ECMP_JD_MOVED_NEW_DRAINED < <(
    awk -v new=4 -v drained="$ECMP_JD_REAL" '
      function count(port, d) {
        r = real[port]; sub(/:.*/, "", r)
        moved++; on_new += (d == new); on_drained += (r == drained); new_drained += (d == new && r == drained)
      }
      FILENAME == ARGV[1] { dir[$2] = $1; real[$2] = $3; next }
      FILENAME == ARGV[2] { carried[$2] = 1; if (($2 in dir) && $1 != dir[$2]) count($2, $1); next }
      ($2 in dir) && !($2 in carried) && $1 != dir[$2] && $3 != real[$2] {
        if (!($2 in broke) || $1 == new) broke[$2] = $1
      }
      END {
        for (port in broke) count(port, broke[port])
        print moved + 0, on_new + 0, on_drained + 0, new_drained + 0
      }' "$before" "$after" "$touched")
  ecmp_sc_stop_holds
}

ecmp_sc_sync_join_drain() {  # ecmp_sc_sync_join_drain BUILD_DIR [SYNC] [CONNS]
  ECMP_SYNC=${2:-1} DL_REALS=
  ecmp_sc_init "$1" "${3:-90}" || return 1
  ecmp_sc_join_drain || true
  ECMP_JOIN_DRAIN_SURVIVED=$ECMP_SURVIVED
  netns_down
}
