# The three-director scenario on top of directors_lab.sh (sourced after
# it), shared by the active-active benchmark, its lab test and the demo:
# VRRP sections from `xlbctl vrrp plan`, xlbd on every director, and the
# client's long-lived connections (xlb-lab-client hold, one per VIP).
#   AA_VIPS          number of VIPs (dl_vip 1..AA_VIPS)
#   AA_CONNS_PER_VIP long-lived connections per VIP
AA_VIPS=${AA_VIPS:-6}
AA_CONNS_PER_VIP=${AA_CONNS_PER_VIP:-10}
AA_HOLD_PIDS=()
AA_XLBD_FLAGS=()  # extra xlbd flags, e.g. (--realtime-priority 50)

aa_vip_list() {  # VIP1,VIP2,...
  local k out=
  for ((k = 1; k <= AA_VIPS; k++)); do out+=${out:+,}$(dl_vip "$k"); done
  echo "$out"
}

# aa_plan ADVERT_MS: the plan's table in $DL_RUN/plan.txt, each director's
# vrrp: section in $DL_RUN/plan/dI.vrrp.yaml.
aa_plan() {
  local names=() i
  for ((i = 1; i <= DL_N; i++)); do names+=("d$i"); done
  rm -rf "$DL_RUN/plan"
  "$DL_BUILD/controlplane/xlbctl" vrrp plan --directors "$(IFS=,; echo "${names[*]}")" \
    --vips "$(aa_vip_list)" --interface eth0 --advert-interval "${1}ms" \
    --output-dir "$DL_RUN/plan" >"$DL_RUN/plan.txt"
}
aa_start_director() {  # aa_start_director I: xlbd with the services and its planned section
  dl_start_xlbd "$1" "$(dl_services_yaml "$AA_VIPS")
$(cat "$DL_RUN/plan/d$1.vrrp.yaml")" "${AA_XLBD_FLAGS[@]}"
}
aa_plan_and_start() {  # aa_plan_and_start ADVERT_MS
  local i
  aa_plan "$1"
  for ((i = 1; i <= DL_N; i++)); do aa_start_director "$i"; done
}
aa_planned_master() {  # the director planned as master of VIP K (the "*" column)
  awk -v vip="$(dl_vip "$1")/32" '$1 == vip { for (i = 3; i <= NF; i++) if ($i ~ /\*$/) print i - 2 }' \
    "$DL_RUN/plan.txt"
}
aa_masters_as_planned() {
  local k
  for ((k = 1; k <= AA_VIPS; k++)); do
    dl_has_addr "$(aa_planned_master "$k")" "$(dl_vip "$k")" || return 1
  done
}
aa_vips_of() {  # aa_vips_of I: the VIPs director I masters, space-separated
  local k out=()
  for ((k = 1; k <= AA_VIPS; k++)); do [[ $(aa_planned_master "$k") == "$1" ]] && out+=("$(dl_vip "$k")"); done
  echo "${out[*]}"
}
aa_vip_answers() {
  ip netns exec "$DL_C" "$DL_BUILD/tests/lab/xlb-lab-client" connect --target "$1:80" --count 1 \
    --timeout-ms 300 >/dev/null 2>&1
}
aa_all_vips_answer() {
  local k
  for ((k = 1; k <= AA_VIPS; k++)); do aa_vip_answers "$(dl_vip "$k")" || return 1; done
}
# aa_vrrp_sum COUNTER I...: a VRRP counter summed over every instance of
# those directors (state_changes, timers_late, ...).
aa_vrrp_sum() {
  local counter=$1 i total=0
  shift
  for i in "$@"; do
    total=$((total + $(dl_xlbctl "$i" --json vrrp | jq "[.[].counters.$counter] | add")))
  done
  echo "$total"
}
aa_state_changes() { aa_vrrp_sum state_changes "$@"; }  # aa_state_changes I...

# --- the long-lived connections -------------------------------------------------
aa_start_holds() {
  local k
  for ((k = 1; k <= AA_VIPS; k++)); do
    netns_start "$DL_C" "$DL_BUILD/tests/lab/xlb-lab-client" hold --target "$(dl_vip "$k"):80" \
      --conns "$AA_CONNS_PER_VIP" --interval-ms 50 --seconds 600 --timeout-ms 10000 \
      >"$DL_RUN/hold$k.out" 2>"$DL_RUN/hold$k.err"
    AA_HOLD_PIDS[k]=$NETNS_LAST_PID
  done
  netns_wait_for 15 "the long-lived connections ready" aa_holds_ready || {
    tail -n 3 "$DL_RUN"/hold*.err >&2
    return 1
  }
}
aa_holds_ready() {
  local k
  for ((k = 1; k <= AA_VIPS; k++)); do grep -qx ready "$DL_RUN/hold$k.out" || return 1; done
}
aa_status_count() { grep -c '^status ' "$DL_RUN/hold$1.out" || true; }
aa_status_grew() { (($(aa_status_count "$1") > $2)); }  # aa_status_grew K BEFORE
# aa_hold_status_once: "ALIVE MAX_GAP_MS FRESH" over every client, asked
# with SIGUSR2 (FRESH: alive and with an echo within the last 3 intervals).
aa_hold_status_once() {
  local k before alive=0 gap=0 fresh=0 line
  for ((k = 1; k <= AA_VIPS; k++)); do
    before=$(aa_status_count "$k")
    kill -USR2 "${AA_HOLD_PIDS[k]}"
    netns_wait_for 5 "status of client $k" aa_status_grew "$k" "$before" || true
    line=$(grep '^status ' "$DL_RUN/hold$k.out" | tail -1)
    alive=$((alive + $(awk '{print $3}' <<<"$line")))
    fresh=$((fresh + $(awk '{print $9}' <<<"$line")))
    gap=$(awk -v g="$gap" '{ print ($7 > g ? $7 : g) }' <<<"$line")
  done
  echo "$alive $gap $fresh"
}
aa_all_alive_fresh() {
  local alive gap fresh
  read -r alive gap fresh < <(aa_hold_status_once)
  ((alive == fresh))
}
# aa_hold_status: "ALIVE MAX_GAP_MS" once every living connection exchanges
# again (a stalled one fails by its 10 s echo deadline, within the wait).
aa_hold_status() {
  netns_wait_for 15 "every living connection exchanging" aa_all_alive_fresh >&2 || true
  local alive gap fresh
  read -r alive gap fresh < <(aa_hold_status_once)
  echo "$alive $gap"
}
aa_stop_holds() {
  local k
  for ((k = 1; k <= AA_VIPS; k++)); do kill -USR1 "${AA_HOLD_PIDS[k]}" 2>/dev/null || true; done
  for ((k = 1; k <= AA_VIPS; k++)); do wait "${AA_HOLD_PIDS[k]}" 2>/dev/null || true; done
}
