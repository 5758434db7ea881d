#!/usr/bin/env python3
"""Sends hostile flow-sync datagrams (controlplane/sync/wire.h) to a director,
for the sync lab's hostile test. KIND:
  forged     a well-formed EVENTS datagram with one record, tagged with a
             key that is not the directors' (random): "auth_failed"
  replayed   the same, tagged with the real key (--key-file) but in an epoch
             older than the sender's current one (--epoch): "replayed"
  truncated  a header cut short: "malformed"
  junk       random bytes: "malformed"
Each datagram COUNT times to DESTINATION:PORT. The record names a flow of
--vip:80 from --client to --real, so a datagram that got through would show
in the director's table. Exit 0 once sent."""
import argparse
import hashlib
import hmac
import ipaddress
import os
import socket
import struct


def record(client, vip, real, client_port):
    # type NEW, family 4, proto TCP, flags ESTABLISHED, ports, age 0, addresses.
    head = struct.pack("!BBBBHHHHI", 1, 4, 6, 1, client_port, 80, 80, 80, 0)
    addr = lambda a: ipaddress.ip_address(a).packed.ljust(16, b"\0")
    return head + addr(client) + addr(vip) + addr(real)


def datagram(key, sender_id, epoch, sequence, records):
    header = b"XLBS" + struct.pack("!BBHIQQHH", 1, 1, 0, sender_id, epoch, sequence,
                                   len(records), 0)
    body = header + b"".join(records)
    return body + hmac.new(key, body, hashlib.sha256).digest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["forged", "replayed", "truncated", "junk"])
    ap.add_argument("--destination", required=True)
    ap.add_argument("--port", type=int, default=8849)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--key-file")
    ap.add_argument("--sender-id", type=int, default=1)
    ap.add_argument("--epoch", type=int, default=1)
    ap.add_argument("--client", default="198.51.100.9")
    ap.add_argument("--vip", default="198.51.100.101")
    ap.add_argument("--real", default="198.51.100.21")
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(a.count):
        rec = [record(a.client, a.vip, a.real, 60000 + i)]
        if a.kind == "forged":
            out = datagram(os.urandom(48), a.sender_id, a.epoch, i + 1, rec)
        elif a.kind == "replayed":
            with open(a.key_file, "rb") as f:
                key = f.read()
            out = datagram(key, a.sender_id, a.epoch, i + 1, rec)
        elif a.kind == "truncated":
            out = datagram(os.urandom(48), a.sender_id, a.epoch, i + 1, rec)[:20]
        else:
            out = os.urandom(100)
        s.sendto(out, (a.destination, a.port))


if __name__ == "__main__":
    main()
