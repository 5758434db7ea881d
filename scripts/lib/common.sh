# Shared by the scripts: run as root (re-run with sudo when possible), and
# where things are.
XLB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
XLB_BUILD=$XLB_ROOT/build

xlb_require_root() {  # xlb_require_root "$0" "$@"
  [[ $EUID -eq 0 ]] && return 0
  if command -v sudo >/dev/null 2>&1; then
    exec sudo --preserve-env=CI "$@"
  fi
  echo "$(basename "$1"): needs root (XDP, BPF maps, network namespaces); run it as root" >&2
  exit 1
}
