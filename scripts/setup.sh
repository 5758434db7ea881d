#!/usr/bin/env bash
# Installs every Debian package xlb needs (idempotent) and configures the
# build in build/, and the sanitizer build in build-asan/.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
xlb_require_root "$0" "$@"

packages=(
  # build
  g++ clang llvm meson ninja-build pkg-config bpftool
  libbpf-dev libxdp-dev xdp-tools libabsl-dev libgflags-dev libgoogle-glog-dev
  libgtest-dev libgmock-dev libmnl-dev libyaml-cpp-dev libasio-dev nlohmann-json3-dev
  libssl-dev  # https health checks (OpenSSL)
  libsystemd-dev  # sd_notify: READY, WATCHDOG (Type=notify in config/xlbd.service.in)
  libclang-rt-14-dev  # build-asan/: clang's sanitizer runtimes and libFuzzer
  dpdk-dev libdpdk-dev  # xlb-pktgen --engine dpdk
  # the lab and the tests
  iproute2 ethtool iputils-ping tcpdump curl jq
  openssl  # the https lab test makes its CA with the CLI
  keepalived frr  # VRRP interop tests: keepalived, and FRR's vrrpd
  haproxy gnuplot-nox  # scripts/bench.sh connections (the baseline), scripts/bench/plot.sh
  nftables  # scripts/bench.sh throughput: the kernel path
  dpkg-dev debhelper fakeroot  # scripts/package.sh (the Debian package) and its test, suite 'package'
  chromium chromium-driver python3-selenium  # the status page's lab test drives a real browser
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # --no-install-recommends: recommends would pull in (and swap) services.
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
fi

if [[ -f $XLB_BUILD/build.ninja ]]; then
  meson setup --reconfigure "$XLB_BUILD" "$XLB_ROOT" >/dev/null
else
  meson setup "$XLB_BUILD" "$XLB_ROOT" >/dev/null
fi
xlb_setup_asan_build
echo "setup: ready; build with: ninja -C build"
