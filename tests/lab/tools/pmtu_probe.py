#!/usr/bin/python3
"""Sends one UDP datagram of a given IP size with DF (path-MTU discovery
"do") from a connected socket and reports the ICMP error the kernel queued
for it (IP_RECVERR / IPV6_RECVERR), as a client of a VIP would get it:

  pmtu_probe.py ADDR PORT IP_SIZE [--timeout-ms T]

Prints "icmp TYPE CODE mtu MTU from OFFENDER" (type 3 code 4 is IPv4
fragmentation needed, type 2 code 0 IPv6 packet too big; OFFENDER is the
address that sent the error) and exits 0, or prints "no error" and exits 1
after T ms (default 2000). The wait is one bounded poll."""
import argparse
import ipaddress
import select
import socket
import struct
import sys

IP_RECVERR = 11
IPV6_RECVERR = 25
IP_MTU_DISCOVER = 10
IPV6_MTU_DISCOVER = 23
IP_PMTUDISC_DO = 2
IPV6_PMTUDISC_DO = 2
SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6 = 2, 3


def main():
    p = argparse.ArgumentParser()
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("ip_size", type=int)
    p.add_argument("--timeout-ms", type=int, default=2000)
    a = p.parse_args()
    v6 = ipaddress.ip_address(a.addr).version == 6
    family = socket.AF_INET6 if v6 else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    if v6:
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO)
        payload = a.ip_size - 40 - 8
    else:
        s.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
        s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
        payload = a.ip_size - 20 - 8
    s.connect((a.addr, a.port))
    s.send(b"x" * payload)
    # An error queued on the socket wakes poll with POLLERR.
    poller = select.poll()
    poller.register(s, select.POLLERR)
    if not poller.poll(a.timeout_ms):
        print("no error")
        return 1
    _, ancdata, _, _ = s.recvmsg(2048, 1024, socket.MSG_ERRQUEUE)
    for level, _, data in ancdata:
        if level not in (socket.IPPROTO_IP, socket.IPPROTO_IPV6):
            continue
        # struct sock_extended_err, then the offender's sockaddr.
        _, origin, etype, code, _, info, _ = struct.unpack_from("=IBBBBII", data)
        if origin not in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6):
            continue
        if origin == SO_EE_ORIGIN_ICMP6:
            offender = socket.inet_ntop(socket.AF_INET6, data[16 + 8:16 + 24])
        else:
            offender = socket.inet_ntop(socket.AF_INET, data[16 + 4:16 + 8])
        print(f"icmp {etype} {code} mtu {info} from {offender}")
        return 0
    print("no error")
    return 1


if __name__ == "__main__":
    sys.exit(main())
