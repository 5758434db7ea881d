#!/usr/bin/env bash
# Package test (suite 'package'): what a director gets from `meson install`
# and from the Debian package.
#  (1) meson install --destdir: the programs, the unit with this build's
#      paths, the example config, man pages, completion; a second install
#      keeps a config that is already there.
#  (2) scripts/package.sh builds the .deb; `dpkg -x` (never dpkg -i) into a
#      scratch root: every file, the unit's paths, /etc/xlb/xlb.yaml a
#      conffile, the unit not enabled on install but restarted on upgrade,
#      Depends without the lab's test tools, the version meson's.
#  (3) the installed xlbd passes --check-config on the installed example.
#  (4) the man pages and the completion match the programs: every xlbctl
#      command and option of `xlbctl --help`, every xlbd flag of
#      `xlbd --help`, every key the configuration parser accepts.
# Everything happens in a scratch directory, removed at the end (also on
# failure). XLB_PACKAGE_TEST_DEB=0 leaves out (2), the slow part.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
source "$src/scripts/lib/lab_checks.sh"
build=$(cd "${1:?usage: package_test.sh BUILD_DIR}" && pwd)
started=$SECONDS

scratch=$(mktemp -d "${TMPDIR:-/tmp}/xlb-package-test.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

version=$(meson introspect --projectinfo "$build" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
option() {  # option NAME: a directory option of the build, absolute
  meson introspect --buildoptions "$build" |
    python3 -c 'import json,sys; print({o["name"]: o["value"] for o in json.load(sys.stdin)}[sys.argv[1]])' "$1"
}
prefix=$(option prefix)
abs() { [[ $1 == /* ]] && echo "$1" || echo "$prefix/$1"; }
sbindir=$(abs "$(option sbindir)") bindir=$(abs "$(option bindir)")
sysconfdir=$(abs "$(option sysconfdir)") mandir=$(abs "$(option mandir)")

# The unit in $1 runs $2/xlbd with $3/xlb/xlb.yaml, nothing from elsewhere.
unit_paths() {  # unit_paths UNIT SBINDIR SYSCONFDIR
  grep -qx "ExecStart=$2/xlbd --config $3/xlb/xlb.yaml" "$1" &&
    grep -qx "ExecStartPre=$2/xlbd --check-config $3/xlb/xlb.yaml" "$1" &&
    grep -qx "ExecReload=$2/xlbd --check-config $3/xlb/xlb.yaml" "$1" &&
    ! grep -q '@[a-z]*@' "$1" &&
    { [[ $2 == /usr/local/* ]] || ! grep -q /usr/local "$1"; }
}
files_present() {  # files_present ROOT PATH...: each is a file (or a link to one)
  local root=$1 missing=0 f
  for f in "${@:2}"; do
    [[ -f $root$f ]] || { echo "  missing: $f"; missing=1; }
  done
  ((missing == 0))
}
find_one() { find "$1" -path "*/$2" -print -quit; }

echo "== (1) meson install --destdir"
mroot=$scratch/meson-root
meson install -C "$build" --no-rebuild --quiet --destdir "$mroot" >"$scratch/install.log" 2>&1 ||
  { cat "$scratch/install.log"; exit 1; }
munit=$(find_one "$mroot" systemd/system/xlbd.service)
mcompletions=$(dirname "$(find_one "$mroot" bash-completion/completions/xlbctl)")
check "meson install: programs, example config, man pages" files_present "$mroot" \
  "$sbindir/xlbd" "$bindir/xlbctl" "$bindir/xlb-pktgen" "$sbindir/xlb-decap" "$sysconfdir/xlb/xlb.yaml" \
  "$mandir/man8/xlbd.8" "$mandir/man8/xlbctl.8" "$mandir/man8/xlb-decap.8" "$mandir/man5/xlb.yaml.5"
check "meson install: the unit runs $sbindir/xlbd with $sysconfdir/xlb/xlb.yaml" \
  unit_paths "$munit" "$sbindir" "$sysconfdir"
check "meson install: completion for xlbctl, xlbd, xlb-pktgen, xlb-decap" \
  files_present / "$mcompletions/xlbctl" "$mcompletions/xlbd" "$mcompletions/xlb-pktgen" \
  "$mcompletions/xlb-decap"
echo "# the director's own settings" >>"$mroot$sysconfdir/xlb/xlb.yaml"
meson install -C "$build" --no-rebuild --quiet --destdir "$mroot" >"$scratch/install.log" 2>&1 ||
  { cat "$scratch/install.log"; exit 1; }
check "meson install again: keeps the xlb.yaml already there" \
  grep -qx "# the director's own settings" "$mroot$sysconfdir/xlb/xlb.yaml"

# What the checks below read: the Debian package's files when it is built,
# else meson's.
root=$mroot xlbd=$mroot$sbindir/xlbd xlbctl=$mroot$bindir/xlbctl config=$mroot$sysconfdir/xlb/xlb.yaml
decap=$mroot$sbindir/xlb-decap
man8=$mroot$mandir/man8 man5=$mroot$mandir/man5 completion=$mcompletions/xlbctl
cp "$src/config/xlb.yaml" "$config"  # the example, not the edited copy

if [[ ${XLB_PACKAGE_TEST_DEB:-1} != 0 ]]; then
  echo "== (2) scripts/package.sh, dpkg -x"
  t0=$SECONDS
  "$src/scripts/package.sh" --no-check --no-dbgsym "$scratch/out" >"$scratch/package.log" 2>&1 ||
    { cat "$scratch/package.log"; exit 1; }
  echo "  package built in $((SECONDS - t0)) s"
  deb=$(ls "$scratch"/out/xlb_*.deb)
  root=$scratch/root
  dpkg -x "$deb" "$root"
  dpkg-deb -e "$deb" "$scratch/control"
  unit=$(find_one "$root" systemd/system/xlbd.service)
  check "package: programs, example config, man pages, completion" files_present "$root" \
    /usr/sbin/xlbd /usr/bin/xlbctl /usr/bin/xlb-pktgen /usr/sbin/xlb-decap /etc/xlb/xlb.yaml \
    /usr/share/man/man8/xlbd.8.gz /usr/share/man/man8/xlbctl.8.gz /usr/share/man/man8/xlb-decap.8.gz \
    /usr/share/man/man5/xlb.yaml.5.gz \
    /usr/share/bash-completion/completions/xlbctl /usr/share/bash-completion/completions/xlbd \
    /usr/share/bash-completion/completions/xlb-pktgen /usr/share/bash-completion/completions/xlb-decap
  in_unit_dir() { [[ $1 == /lib/systemd/system/xlbd.service || $1 == /usr/lib/systemd/system/xlbd.service ]]; }
  check "package: the unit is in systemd's unit directory" in_unit_dir "${unit#"$root"}"
  check "package: the unit runs /usr/sbin/xlbd with /etc/xlb/xlb.yaml" unit_paths "$unit" /usr/sbin /etc
  check "package: /etc/xlb/xlb.yaml is a conffile (an upgrade keeps the admin's)" \
    grep -qx /etc/xlb/xlb.yaml "$scratch/control/conffiles"
  # dh_installsystemd --no-enable: postinst enables xlbd only again on an
  # upgrade where it was enabled; deb-systemd-invoke starts only enabled units.
  not_enabled_on_install() {
    awk '/deb-systemd-helper debian-installed .xlbd.service./ {guard = 1}
         /deb-systemd-helper enable/ && !guard {bad = 1}
         END {exit bad || !guard}' "$1"
  }
  check "package: xlbd is not enabled on install (the example names eth0)" \
    not_enabled_on_install "$scratch/control/postinst"
  check "package: an enabled xlbd is restarted after an upgrade" \
    grep -q "_dh_action=restart" "$scratch/control/postinst"
  depends=$(dpkg-deb -f "$deb" Depends Pre-Depends Recommends)
  echo "  $depends" | head -c 400; echo
  check "package: Depends has the shared libraries (libbpf)" grep -q libbpf <<<"$depends"
  no_test_tools() { ! grep -Eiw "keepalived|frr|haproxy|chromium" <<<"$1"; }
  check "package: no test tool among the dependencies (keepalived, frr, haproxy, chromium)" \
    no_test_tools "$depends"
  check "package: version $version, meson's" test "$(dpkg-deb -f "$deb" Version)" = "$version"
  xlbd=$root/usr/sbin/xlbd xlbctl=$root/usr/bin/xlbctl config=$root/etc/xlb/xlb.yaml
  decap=$root/usr/sbin/xlb-decap
  man8=$scratch/man man5=$scratch/man completion=$root/usr/share/bash-completion/completions/xlbctl
  mkdir "$man8"
  for page in "$root"/usr/share/man/man8/*.gz "$root"/usr/share/man/man5/*.gz; do
    gunzip -c "$page" >"$man8/$(basename "$page" .gz)"
  done
fi

echo "== (3) the installed xlbd on the installed example"
check "installed xlbd --check-config on the installed example: valid" \
  fails_with 0 "xlb.yaml: valid, [0-9]+ services" "$xlbd" --check-config "$config"
check "installed xlbd --version: $version" fails_with 0 "version $version\$" "$xlbd" --version
check "installed xlbctl --version: $version" fails_with 0 "^xlbctl $version\$" "$xlbctl" --version
check "installed xlbctl without a daemon: exit 3, says so" \
  fails_with 3 "cannot reach xlbd at $scratch/none.sock: .*is xlbd running" \
  "$xlbctl" --socket "$scratch/none.sock" status

echo "== (4) man pages and completion against the programs"
# Roff source as text: no font escapes, \- as -.
plain() { sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\(dq/"/g' "$1"; }
plain "$man8/xlbctl.8" >"$scratch/xlbctl.txt"
plain "$man8/xlbd.8" >"$scratch/xlbd.txt"
plain "$man5/xlb.yaml.5" >"$scratch/xlb.yaml.txt"

# xlbctl's commands: the leading lower-case words of each usage line
# ("  service add VIP:PORT ..." -> "service add").
"$xlbctl" --help >"$scratch/xlbctl.help"
mapfile -t verbs < <(sed -n 's/^  \([a-z]\)/\1/p' "$scratch/xlbctl.help" | sed 's/  .*//' |
  awk '{v = ""; for (i = 1; i <= NF && $i ~ /^[a-z][a-z-]*$/; i++) v = v (v ? " " : "") $i; print v}')
# Their options: the global ones of --help, and each command's from its help.
options_of() { grep -oE -- '(^| |\[|\()--[a-z][a-z-]+' | grep -oE -- '--[a-z-]+' | sort -u; }
: >"$scratch/xlbctl.options"
for v in "${verbs[@]}"; do
  read -ra words <<<"$v"
  "$xlbctl" help "${words[@]}" >"$scratch/help.$v"
  options_of <"$scratch/help.$v" >"$scratch/options.$v"
  cat "$scratch/options.$v" >>"$scratch/xlbctl.options"
done
mapfile -t xlbctl_options < <(options_of <"$scratch/xlbctl.help" | sort -u - "$scratch/xlbctl.options")
# xlbd's own flags (not glog's): the lines under "Options" of xlbd --help.
"$xlbd" --help >"$scratch/xlbd.help" 2>&1
mapfile -t xlbd_flags < <(awk '/^Options/{ours = 1; next} /^[A-Z]/{ours = 0} ours && /^  --[a-z]/{print $1}' \
  "$scratch/xlbd.help")
echo "  xlbctl: ${#verbs[@]} commands, ${#xlbctl_options[@]} options; xlbd: ${#xlbd_flags[@]} flags"

missing_from() {  # missing_from FILE WORD...: each word (fixed string) is in FILE
  local file=$1 missing=() w
  for w in "${@:2}"; do grep -qF -- "$w" "$file" || missing+=("$w"); done
  ((${#missing[@]} == 0)) || { echo "  not in $(basename "$file"): ${missing[*]}"; return 1; }
}
check "xlbctl --help lists commands and options (the parse above works)" \
  test "${#verbs[@]}" -ge 10 -a "${#xlbctl_options[@]}" -ge 10 -a "${#xlbd_flags[@]}" -ge 5
check "xlbctl.8 has every command of xlbctl --help" missing_from "$scratch/xlbctl.txt" "${verbs[@]}"
check "xlbctl.8 has every option of xlbctl --help" missing_from "$scratch/xlbctl.txt" "${xlbctl_options[@]}"
check "xlbd.8 has every flag of xlbd --help" missing_from "$scratch/xlbd.txt" "${xlbd_flags[@]}"
plain "$man8/xlb-decap.8" >"$scratch/xlb-decap.txt"
mapfile -t decap_words < <("$decap" --help | options_of; "$decap" --help | sed -n 's/^  xlb-decap \([a-z]*\).*/\1/p')
check "xlb-decap.8 has every command and option of xlb-decap --help" \
  missing_from "$scratch/xlb-decap.txt" "${decap_words[@]}"
dashed_help() {  # xlbd --help: its flags as users type them, --check-config
  grep -q '^  --check-config' "$scratch/xlbd.help" || { echo "  no --check-config"; return 1; }
  ! grep -E '^  --[a-z-]*_' "$scratch/xlbd.help"
}
check "xlbd --help names the flags with dashes" dashed_help
check "xlbd takes --check_config too" fails_with 0 "xlb.yaml: valid" "$xlbd" --check_config "$config"
check "xlbd names an unknown flag as typed" fails_with 1 "unknown flag --no-such-flag" \
  "$xlbd" --no-such-flag
same_help() { "$xlbctl" service add --json --help | cmp -s - "$scratch/help.service add"; }
check "xlbctl COMMAND --help is xlbctl help COMMAND" same_help

# The configuration keys, from the parser itself: an unknown key at each
# level is refused with the list of the keys it accepts.
keys_of() {  # keys_of YAML_BODY: the keys the parser names for the zz_probe in it
  printf 'interfaces: [lo]\n%s\n' "$1" >"$scratch/probe.yaml"
  "$xlbd" --check-config "$scratch/probe.yaml" 2>&1 |
    sed -n 's/.*zz_probe: unknown key (expected one of: \(.*\))$/\1/p' | tr -d ',' | tr ' ' '\n'
}
# The .TP entries of the man page's subsection $1 (the first word of the
# line after each .TP), or with $1 empty the .SS headings.
man_entries() {
  awk -v section="$1" '
    /^\.SS/ {sub(/^\.SS +/, ""); gsub(/"/, ""); current = $0; if (section == "") print $0; next}
    /^\.TP/ {tag = 1; next}
    tag {tag = 0; if (section != "" && current == section) {sub(/^\.[A-Z]+ +/, ""); gsub(/"/, ""); print $1}}
  ' "$scratch/xlb.yaml.txt"
}
config_keys_documented() {  # config_keys_documented SECTION PROBE
  local keys missing=() k
  mapfile -t keys < <(keys_of "$2")
  ((${#keys[@]} > 0)) || { echo "  the parser named no keys for: $2"; return 1; }
  for k in "${keys[@]}"; do grep -qxF -- "$k" <(man_entries "$1") || missing+=("$k"); done
  ((${#missing[@]} == 0)) || { echo "  not in xlb.yaml.5 under '${1:-.SS}': ${missing[*]}"; return 1; }
}
service() { echo "services: [{name: a, vip: 192.0.2.1, port: 1, $1}]"; }
for probe in "|zz_probe: 1" "api|api: {zz_probe: 1}" "tables|tables: {zz_probe: 1}" \
  "scripts|scripts: {zz_probe: 1}" "services|services: [{zz_probe: 1}]" \
  "services.reals|$(service 'reals: [{zz_probe: 1}]')" \
  "services.health|$(service 'health: {zz_probe: 1}')" "vrrp|vrrp: [{zz_probe: 1}]" \
  "bgp|bgp: {zz_probe: 1}" "bgp.bfd|bgp: {asn: 1, router_id: 192.0.2.1, bfd: {zz_probe: 1}}" \
  "bgp.neighbors|bgp: {asn: 1, router_id: 192.0.2.1, neighbors: [{zz_probe: 1}]}" \
  "sync|sync: {zz_probe: 1}"; do
  check "xlb.yaml.5 documents every key the parser accepts in '${probe%%|*}'" \
    config_keys_documented "${probe%%|*}" "${probe#*|}"
done

renders_clean() {  # renders_clean PAGE: man prints no warning
  local warnings
  warnings=$(MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null)
  [[ -z $warnings ]] || { echo "$warnings" | head -5; return 1; }
}
if command -v man >/dev/null; then
  for page in "$man8/xlbd.8" "$man8/xlbctl.8" "$man8/xlb-decap.8" "$man5/xlb.yaml.5"; do
    check "$(basename "$page") renders without warnings" renders_clean "$page"
  done
fi

# The completion, run the way bash runs it: COMP_WORDS and COMP_CWORD set,
# the function called, COMPREPLY read.
completes() {  # completes WORD COMMAND WORDS...: WORD is offered after WORDS (typed: $CUR)
  bash -c 'source "$1"; shift; want=$1; shift
    COMP_WORDS=("$@" "$CUR"); COMP_CWORD=$(($# )); f=$(complete -p "$1" | awk "{print \$(NF-1)}")
    "$f"; for w in "${COMPREPLY[@]}"; do [[ $w == "$want" ]] && exit 0; done
    echo "  after \"$*\": offered ${COMPREPLY[*]:-nothing}, not $want"; exit 1' \
    _ "$completion" "$@"
}
export CUR=
completes_verbs() {
  local v words i rc=0
  for v in "${verbs[@]}"; do
    read -ra words <<<"$v"
    for ((i = 0; i < ${#words[@]}; i++)); do
      completes "${words[i]}" xlbctl "${words[@]:0:i}" || rc=1
    done
  done
  return $rc
}
check "completion offers every xlbctl command" completes_verbs
check "completion knows every xlbctl option" missing_from "$completion" "${xlbctl_options[@]}"
completes_options() {  # each command's own options and the global ones, after it
  local v o words rc=0
  for v in "${verbs[@]}"; do
    read -ra words <<<"$v"
    # The arguments a command needs before its options are offered.
    case $v in 'service add') words+=(192.0.2.1:80) ;; real\ *) words+=(192.0.2.1:80 192.0.2.2) ;; esac
    # After a "-" typed: where a file is expected, files come without one.
    while read -r o; do CUR=- completes "$o" xlbctl "${words[@]}" || rc=1; done <"$scratch/options.$v"
  done
  return $rc
}
check "completion offers each command's options and the global ones after it" completes_options
completes_flags() {
  local f rc=0
  for f in "${xlbd_flags[@]}"; do completes "$f" xlbd || rc=1; done
  return $rc
}
check "completion offers every xlbd flag" completes_flags
completes_decap() {
  local w rc=0
  for w in attach detach status; do completes "$w" xlb-decap || rc=1; done
  while read -r w; do CUR=- completes "$w" xlb-decap attach eth0 || rc=1; done \
    < <("$decap" --help | sed -n '/^  xlb-decap attach/,/^  xlb-decap detach/p' | options_of)
  CUR=- completes --json xlb-decap status || rc=1
  CUR=g completes generic xlb-decap attach eth0 --xdp-mode || rc=1
  return $rc
}
check "completion offers xlb-decap's commands and attach's options" completes_decap
check "completion is linked for xlbd, xlb-pktgen and xlb-decap" \
  test "$(readlink "$(dirname "$completion")/xlbd")" = xlbctl -a \
  "$(readlink "$(dirname "$completion")/xlb-pktgen")" = xlbctl -a \
  "$(readlink "$(dirname "$completion")/xlb-decap")" = xlbctl

echo "  took $((SECONDS - started)) s"
lab_checks_done package
