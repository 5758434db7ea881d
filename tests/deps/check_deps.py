#!/usr/bin/env python3
"""The dependency rule of the tree (docs/architecture.md), checked.

1. Includes: each folder may include headers only from the folders its rule
   lists below. A folder without a rule is an error, so a new folder gets
   one. Tests, fuzz targets and benchmarks may include anything.
2. Links: the static libraries named with --no-dataplane (config, health,
   vrrp, api, xlbctl, model, netlink) must not reference a symbol of libbpf
   or of the data plane library (namespace xlb::dataplane): only what
   programs maps (dataplane/ with its xlb-dp, reconcile/, xlbd, pktgen/) links them.

usage: check_deps.py SOURCE_ROOT [--no-dataplane LIB.a ...]
Prints every violation with its file and line; exit status 1 if any.
"""
import os
import re
import subprocess
import sys

# folder -> the folders whose headers it may include (itself always).
# The layers, bottom up: model (shared types) and netlink; the data plane
# (the only one with libbpf) and bpf; the control plane's parts, which never
# see the data plane; then the programs that put them together.
RULES = {
    "bpf": [],
    "model": [],
    "netlink": ["model"],
    "dataplane": ["bpf", "model", "netlink"],
    "pktgen": ["bpf", "model", "netlink", "dataplane"],
    # xlb-decap, the reals' decapsulator: its own program and loader.
    "decap": ["bpf", "model", "netlink", "dataplane"],
    "controlplane/config": ["model"],
    "controlplane/health": ["model", "controlplane/config"],
    "controlplane/vrrp": ["model", "netlink", "controlplane/config", "controlplane/health"],
    "controlplane/api": ["model", "controlplane/config", "controlplane/health",
                         "controlplane/vrrp", "controlplane/bgp"],
    "controlplane/offline": ["model", "controlplane/config"],
    # FRR through vtysh; health/ for the one spawn function.
    "controlplane/bgp": ["model", "controlplane/config", "controlplane/health"],
    # Flow-state sync's codec, key and replay window; config/ for the secret file.
    "controlplane/sync": ["model", "controlplane/config"],
    "controlplane/xlbctl": ["model", "controlplane/config", "controlplane/api",
                            "controlplane/vrrp", "controlplane/bgp", "controlplane/offline"],
    # Programs the maps: the data plane is allowed here, and below.
    "controlplane/reconcile": ["model", "controlplane/config", "dataplane", "bpf"],
    "controlplane/xlbd": ["model", "netlink", "bpf", "dataplane", "controlplane/config",
                          "controlplane/health", "controlplane/vrrp", "controlplane/api",
                          "controlplane/bgp", "controlplane/reconcile", "controlplane/sync"],
}
ANYTHING = ("tests",)  # tests, fuzz targets, benchmarks
SOURCE_DIRS = ("bpf", "model", "netlink", "dataplane", "pktgen", "decap", "controlplane")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
# Symbols a library must not need when it stays off the data plane (libbpf, libxdp, xlb::dataplane).
FORBIDDEN_SYMBOL = re.compile(r"^(bpf_|libbpf_|btf__|bpf_object__|bpf_map__|bpf_program__|xdp_|libxdp_)"
                              r"|_ZN(K)?3xlb9dataplane")


def folder_of(path):
    """'controlplane/vrrp/io.cc' -> 'controlplane/vrrp', 'model/x.h' -> 'model'."""
    parts = path.split("/")
    if parts[0] in ("controlplane", "tests") and len(parts) > 2:
        return "/".join(parts[:2])
    return parts[0]


def check_includes(root):
    errors = []
    for top in SOURCE_DIRS:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not name.endswith((".h", ".cc", ".c")):
                    continue
                path = os.path.relpath(os.path.join(dirpath, name), root)
                own = folder_of(path)
                if name.endswith("_test.cc"):
                    continue  # a unit test beside its code may use test support
                if own not in RULES:
                    errors.append(f"{path}: folder '{own}' has no rule in {__file__}: add one")
                    continue
                allowed = set(RULES[own]) | {own}
                with open(os.path.join(root, path), encoding="utf-8") as f:
                    for lineno, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m or "/" not in m.group(1):
                            continue  # a sibling or a generated header
                        target = folder_of(m.group(1))
                        if not os.path.exists(os.path.join(root, m.group(1))) and \
                                target not in RULES and target not in ANYTHING:
                            continue  # a library's header (absl/..., nlohmann/...)
                        if target not in allowed:
                            errors.append(f"{path}:{lineno}: {own} may not include "
                                          f"{m.group(1)} ({own} may use: "
                                          f"{', '.join(sorted(allowed))})")
    return errors


def check_libraries(libs):
    errors = []
    for lib in libs:
        out = subprocess.run(["nm", "--undefined-only", "--format=posix", lib],
                             capture_output=True, text=True, check=True).stdout
        bad = sorted({line.split()[0] for line in out.splitlines()
                      if line.split() and FORBIDDEN_SYMBOL.search(line.split()[0])})
        for sym in bad[:10]:
            errors.append(f"{os.path.basename(lib)}: needs {sym}, a libbpf or data-plane symbol")
        if len(bad) > 10:
            errors.append(f"{os.path.basename(lib)}: ... and {len(bad) - 10} more")
    return errors


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    root, rest = argv[1], argv[2:]
    libs = rest[1:] if rest[:1] == ["--no-dataplane"] else []
    errors = check_includes(root) + check_libraries(libs)
    for e in errors:
        print(e)
    print(f"dependency rule: {len(errors)} violation(s), {len(libs)} libraries checked")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
