#!/usr/bin/python3
"""Sends protocol-112 datagrams no VRRP advert can be, from off-link: 9000
bytes with TTL 255 (fragmented at the MTU; longer than a speaker's receive
buffer once reassembled) and advert-sized ones with TTL 1, each to the VRRP
group and to a target address, about 400 datagrams/s, for SECONDS.

  vrrp_attack.py GROUP TARGET SOURCE VRID SECONDS

Prints how many datagrams it sent. Used by the lab test vrrp_hostile and the
chaos benchmark (scripts/bench/chaos.sh)."""
import socket
import sys
import time

group, target, source, vrid, seconds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
if not 0 < seconds <= 600:
    sys.exit("vrrp_attack.py: SECONDS is 0..600")
advert = bytes([0x31, vrid, 255, 1, 0, 10, 0, 0]) + socket.inet_aton("198.51.100.10")


def raw(ttl, fragment):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(source))
    if fragment:
        s.setsockopt(socket.IPPROTO_IP, 10, 0)  # IP_MTU_DISCOVER: IP_PMTUDISC_DONT
    return s


big, low = raw(255, True), raw(1, False)
jumbo = advert + bytes(9000 - 20 - len(advert))
sent, end = 0, time.monotonic() + seconds
while time.monotonic() < end:
    for dst in (group, target):
        big.sendto(jumbo, (dst, 0))
        low.sendto(advert, (dst, 0))
        sent += 2
    time.sleep(0.01)
print(sent)
