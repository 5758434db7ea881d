#!/usr/bin/python3
"""Opens many idle connections (sending nothing) and holds them, as any
local user could against xlbd's metrics listener and API socket.

  idle_flood.py --tcp 127.0.0.1:9470 5000 --unix /run/xlb/xlbd.sock 5000 \
      --status FILE --stop FILE --max-seconds 40

Writes "opened N failed N" to FILE once all are open, then holds them until
the stop file exists (or max-seconds), then adds "closed_by_peer N" (how
many the server had closed meanwhile) and exits. Every loop is bounded."""
import argparse
import os
import resource
import socket
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tcp", nargs=2, metavar=("HOST:PORT", "COUNT"))
    p.add_argument("--unix", nargs=2, metavar=("PATH", "COUNT"))
    p.add_argument("--status", required=True)
    p.add_argument("--stop", required=True)
    p.add_argument("--max-seconds", type=float, default=40)
    a = p.parse_args()
    deadline = time.monotonic() + a.max_seconds
    want = (int(a.tcp[1]) if a.tcp else 0) + (int(a.unix[1]) if a.unix else 0)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want + 100, want + 100))
    socks, failed = [], 0

    def opened(family, address):
        nonlocal failed
        # A full backlog makes a unix connect fail with EAGAIN at once:
        # retry that for up to 2 s (the server is accepting meanwhile).
        until = time.monotonic() + 2
        while True:
            s = socket.socket(family, socket.SOCK_STREAM)
            s.settimeout(2)
            try:
                s.connect(address)
                socks.append(s)
                return
            except BlockingIOError:
                s.close()
                if time.monotonic() > until:
                    break
                time.sleep(0.001)
            except OSError:
                s.close()
                break
        failed += 1

    if a.tcp:
        host, port = a.tcp[0].rsplit(":", 1)
        for _ in range(int(a.tcp[1])):
            if time.monotonic() > deadline:
                break
            opened(socket.AF_INET, (host, int(port)))
    if a.unix:
        for _ in range(int(a.unix[1])):
            if time.monotonic() > deadline:
                break
            opened(socket.AF_UNIX, a.unix[0])
    with open(a.status, "w") as f:
        f.write(f"opened {len(socks)} failed {failed}\n")
    while not os.path.exists(a.stop) and time.monotonic() < deadline:
        time.sleep(0.1)
    closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass  # still open, nothing sent
        except OSError:
            closed += 1  # reset
        s.close()
    with open(a.status, "a") as f:
        f.write(f"closed_by_peer {closed}\n")


if __name__ == "__main__":
    main()
