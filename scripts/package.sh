#!/usr/bin/env bash
# Builds xlb's Debian package (debian/, debhelper with meson) from this tree
# into OUTPUT_DIR: xlb_VERSION_amd64.deb (and its -dbgsym, .buildinfo,
# .changes). The build happens in a copy of the tree in the scratch directory
# build-deb/ (XLB_PACKAGE_WORKDIR; emptied at the end), so build/ and the
# tree are not touched. Its path stays the same from one run to the next:
# dpkg-buildflags puts it in every compile command (-ffile-prefix-map), and
# ccache finds its objects again only under the same path. One run at a time
# per work directory (a lock). Runs as root or not (dpkg-buildpackage
# uses fakeroot then). Needs dpkg-dev, debhelper, fakeroot and the
# Build-Depends of debian/control (all installed by scripts/setup.sh).
#   scripts/package.sh [--no-check] [--no-dbgsym] OUTPUT_DIR
#   --no-check: skip the unit suite during the build (DEB_BUILD_OPTIONS=nocheck)
#   --no-dbgsym: no xlb-dbgsym package (noddebs; its compression is slow)
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

usage() { echo "usage: $0 [--no-check] [--no-dbgsym] OUTPUT_DIR" >&2; exit 2; }
nocheck=0 nodbgsym=0
while [[ $# -gt 0 && $1 == --* ]]; do
  case $1 in
    --no-check) nocheck=1 ;;
    --no-dbgsym) nodbgsym=1 ;;
    *) usage ;;
  esac
  shift
done
[[ $# -eq 1 ]] || usage
for tool in dpkg-buildpackage dh fakeroot; do
  command -v "$tool" >/dev/null ||
    { echo "package.sh: $tool is missing (scripts/setup.sh installs it)" >&2; exit 1; }
done
mkdir -p "$1"
out=$(cd "$1" && pwd)

work=${XLB_PACKAGE_WORKDIR:-$XLB_ROOT/build-deb}
mkdir -p "$work"
work=$(cd "$work" && pwd)
[[ $out/ != "$work"/* ]] || { echo "package.sh: OUTPUT_DIR must be outside $work (emptied at the end)" >&2; exit 2; }
exec 9>"$work/.lock"
flock -n 9 || { echo "package.sh: another package.sh builds in $work" >&2; exit 1; }
clean() { find "$work" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +; }
clean
trap clean EXIT
src=$work/xlb
mkdir "$src"
# The tree as it is (tracked and new files, committed or not), without the
# build directories or anything .gitignore leaves out.
if git -C "$XLB_ROOT" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$XLB_ROOT" && git ls-files -z --cached --others --exclude-standard |
     tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -C "$src" -xf -
else
  tar -C "$XLB_ROOT" --exclude=./build --exclude='./build-*' -cf - . | tar -C "$src" -xf -
fi

# debhelper (compat 13) gives the build a HOME of its own, where ccache
# would find neither its configuration nor its cache: every object was
# compiled again (5-12 min here instead of about 1).
if command -v ccache >/dev/null; then
  export CCACHE_DIR=${CCACHE_DIR:-$(ccache -k cache_dir)}
  config=${XDG_CONFIG_HOME:-$HOME/.config}/ccache/ccache.conf
  [[ -n ${CCACHE_CONFIGPATH:-} || ! -f $config ]] || export CCACHE_CONFIGPATH=$config
fi
options="parallel=${XLB_PACKAGE_JOBS:-2}"
((nocheck)) && options+=" nocheck"
((nodbgsym)) && options+=" noddebs"
echo "package.sh: building in $src (DEB_BUILD_OPTIONS=$options)"
(cd "$src" && DEB_BUILD_OPTIONS="$options" nice -n 10 dpkg-buildpackage -b -us -uc) \
  >"$work/build.log" 2>&1 || {
  tail -n 60 "$work/build.log" >&2
  echo "package.sh: dpkg-buildpackage failed (the end of its log is above)" >&2
  exit 1
}
shopt -s nullglob
artifacts=("$work"/*.deb "$work"/*.ddeb "$work"/*.buildinfo "$work"/*.changes)
mv -f "${artifacts[@]}" "$out"/
for f in "${artifacts[@]}"; do echo "$out/$(basename "$f")"; done
