#!/usr/bin/env python3
"""Sends ICMP / ICMPv6 echo replies that answer no probe, for the lab test of
health through the tunnel: from SOURCE (the VIP, local in the namespace this
runs in) to DESTINATION (the director), with the director's xlbd's echo id,
so that its packet socket's filter lets them in. Each sequence number in
0..COUNT-1 once with a payload that is not xlbd's (its cookie is random),
then COUNT packets cut after the id (6 bytes of ICMP). xlbd must ignore
every one. Exit 0 once sent."""
import argparse
import ipaddress
import socket
import struct

from inet_checksum import checksum


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--destination", required=True)
    ap.add_argument("--id", type=int, required=True)
    ap.add_argument("--count", type=int, default=200)
    a = ap.parse_args()
    v6 = ipaddress.ip_address(a.destination).version == 6
    if v6:
        # The kernel fills an ICMPv6 checksum (offset 2) on raw ICMPv6 sockets.
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        reply_type = 129
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        reply_type = 0
    s.bind((a.source, 0))
    ident = a.id & 0xFFFF
    for seq in range(a.count):
        body = struct.pack("!BBHHH", reply_type, 0, 0, ident, seq) + b"xlb tunnel check" + bytes(8)
        if not v6:
            body = body[:2] + struct.pack("!H", checksum(body)) + body[4:]
        s.sendto(body, (a.destination, 0))
    for _ in range(a.count):
        s.sendto(struct.pack("!BBHH", reply_type, 0, 0, ident), (a.destination, 0))


if __name__ == "__main__":
    main()
