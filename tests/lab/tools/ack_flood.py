#!/usr/bin/python3
"""Sends TCP ACKs that belong to no connection, from spoofed sources, out of
an interface toward a VIP: the ACK part of a spoofed flood (xlb-pktgen sends
SYNs and UDP only). Each frame has a random source address from --src, a
random source port and random sequence numbers; 4096 such frames are built
once and sent round-robin.

  ack_flood.py --interface eth0 --dst-mac MAC --dst 198.51.100.101:80 \\
      --src 203.0.113.0/24 --rate 66000 --seconds 10

At most --rate frames/s (0: as fast as it goes) for --seconds (at most 600).
Prints one JSON object: {"sent": N, "seconds": S, "pps": P}. Destinations
only in the documentation ranges."""
import argparse
import errno
import ipaddress
import json
import random
import socket
import struct
import time

from inet_checksum import checksum

ALLOWED = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]


def frame(dst_mac, src_mac, src, dst, sport, dport):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, random.getrandbits(32), random.getrandbits(32),
                      5 << 4, 0x10, 65535, 0, 0)  # ACK
    pseudo = src.packed + dst.packed + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), random.getrandbits(16), 0x4000, 64,
                     socket.IPPROTO_TCP, 0, src.packed, dst.packed)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + tcp


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--interface", required=True)
    p.add_argument("--dst-mac", required=True)
    p.add_argument("--dst", required=True, help="VIP:PORT (IPv4)")
    p.add_argument("--src", required=True, help="source addresses, ADDR/PREFIX")
    p.add_argument("--rate", type=int, default=0)
    p.add_argument("--seconds", type=float, default=10)
    a = p.parse_args()
    host, _, port = a.dst.rpartition(":")
    try:
        dst, dport = ipaddress.IPv4Address(host), int(port)
        sources = ipaddress.IPv4Network(a.src, strict=False)
        dst_mac = bytes.fromhex(a.dst_mac.replace(":", ""))
    except ValueError as e:
        p.error(f"bad --dst, --src or --dst-mac: {e}")
    if not 0 < dport < 65536 or len(dst_mac) != 6:
        p.error("--dst needs a port 1..65535 and --dst-mac six bytes")
    if not any(dst in n for n in ALLOWED):
        p.error(f"--dst {dst} is outside the documentation ranges")
    if not 0 < a.seconds <= 600 or a.rate < 0:
        p.error("--seconds is 0..600 and --rate 0 or more")
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.interface, 0))
    src_mac = s.getsockname()[4]
    frames = [frame(dst_mac, src_mac, sources[random.randrange(sources.num_addresses)], dst,
                    random.randint(1024, 65535), dport) for _ in range(4096)]
    sent, start = 0, time.monotonic()
    end = start + a.seconds
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if a.rate and sent >= a.rate * (now - start):
            time.sleep(0.0005)
            continue
        for f in frames[sent % 4096:sent % 4096 + 64]:  # a burst of up to 64
            try:
                s.send(f)
                sent += 1
            except OSError as e:  # the queue is full (EAGAIN, ENOBUFS): let it drain
                if e.errno not in (errno.EAGAIN, errno.ENOBUFS):
                    raise
                time.sleep(0.0002)
                break
    elapsed = time.monotonic() - start
    print(json.dumps({"sent": sent, "seconds": round(elapsed, 3), "pps": int(sent / elapsed)}))


if __name__ == "__main__":
    main()
