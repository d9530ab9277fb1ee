#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Helpers of selftests/keyd_e2e.sh.

  keyd_tool.py send GROUP PORT IFACE PPS SECONDS
        send numbered datagrams b"keyd-seq:N:" + padding at PPS
  keyd_tool.py recv GROUP PORT IFACE SECONDS
        join GROUP for SECONDS from the first datagram (or SECONDS
        without any); print JSON {"good", "cipher", "seqs": [[t, n]...]}:
        plaintext datagrams (with their arrival time and number) and
        others (ciphertext passed on without a key)
  send and recv also stop early on SIGTERM, printing what they print at
  the end (revoke_e2e stops them once the revocation is through); recv
  counts what is queued on its socket by then too
  keyd_tool.py pcap-rate PCAP PORT
        the most bytes on the wire (frame lengths) of UDP to PORT in any
        one-second window
  keyd_tool.py pcap-replay PCAP PORT GROUP IFACE
        send again every UDP payload to PORT found in PCAP
  keyd_tool.py pcap-content PCAP PORT
        "plain N other M": UDP payloads to PORT in PCAP that are send's
        plaintext, and the others (ciphertext)
"""
import json
import signal
import socket
import struct
import sys
import time


_stop = []


def _on_term(_sig, _frame):
    """SIGTERM: end send/recv after the current datagram, reporting as
    at the end (a flag, so that no datagram is half counted)."""
    _stop.append(1)


def sock_for(group, iface, port=None):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    idx = socket.if_nametoindex(iface)
    if port is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::", port))
        mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", idx)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    else:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 8)
    return s


def send(group, port, iface, pps, seconds):
    s = sock_for(group, iface)
    n, start = 0, time.time()
    signal.signal(signal.SIGTERM, _on_term)
    while time.time() < start + seconds and not _stop:
        s.sendto(b"keyd-seq:%d:" % n + b"p" * 200, (group, port))
        n += 1
        delay = start + n / pps - time.time()
        if delay > 0:
            time.sleep(delay)
    print("sent %d" % n, flush=True)
    return 0


def recv(group, port, iface, seconds):
    s = sock_for(group, iface, port)
    signal.signal(signal.SIGTERM, _on_term)
    print("ready", flush=True)
    # The window starts with the first datagram (SECONDS at most waiting
    # for it): on a loaded emulated guest the sender may start late.
    end, good, cipher, seqs = time.time() + seconds, 0, 0, []
    first = True
    while time.time() < end and not _stop:
        s.settimeout(max(0.01, min(0.2, end - time.time())))
        try:
            b = s.recv(65536)
        except socket.timeout:
            continue
        if first:
            first, end = False, time.time() + seconds
        if b.startswith(b"keyd-seq:"):
            good += 1
            seqs.append([round(time.time(), 3), int(b.split(b":")[1])])
        else:
            cipher += 1
    # The window is over (or SIGTERM ended it): what is already queued on
    # the socket arrived within it, and counts too.
    s.setblocking(False)
    while True:
        try:
            b = s.recv(65536)
        except BlockingIOError:
            break
        if b.startswith(b"keyd-seq:"):
            good += 1
            seqs.append([round(time.time(), 3), int(b.split(b":")[1])])
        else:
            cipher += 1
    print(json.dumps({"good": good, "cipher": cipher, "seqs": seqs}), flush=True)
    return 0


def udp_frames(path, port):
    """(time, frame length, UDP payload) of Ethernet/IPv6/UDP to port."""
    with open(path, "rb") as f:
        data = f.read()
    off = 24
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack_from("<IIII", data, off)
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 62 or pkt[12:14] != b"\x86\xdd" or pkt[20] != 17:
            continue
        if struct.unpack_from(">H", pkt, 56)[0] != port:
            continue
        ulen = struct.unpack_from(">H", pkt, 58)[0]
        yield sec + usec / 1e6, orig, pkt[62:54 + ulen]


def pcap_rate(path, port):
    frames = [(t, n) for t, n, _ in udp_frames(path, port)]
    best, lo, total = 0, 0, 0
    for hi in range(len(frames)):
        total += frames[hi][1]
        while frames[hi][0] - frames[lo][0] >= 1.0:
            total -= frames[lo][1]
            lo += 1
        best = max(best, total)
    print("%d %d" % (best, len(frames)), flush=True)
    return 0


def pcap_replay(path, port, group, iface):
    s = sock_for(group, iface)
    n = 0
    for _, _, payload in udp_frames(path, port):
        s.sendto(payload, (group, port))
        n += 1
        time.sleep(0.002)
    print("replayed %d" % n, flush=True)
    return 0


def pcap_content(path, port):
    plain = other = 0
    for _, _, payload in udp_frames(path, port):
        if payload.startswith(b"keyd-seq:"):
            plain += 1
        else:
            other += 1
    print("plain %d other %d" % (plain, other), flush=True)
    return 0


def main(a):
    if len(a) == 7 and a[1] == "send":
        return send(a[2], int(a[3]), a[4], float(a[5]), float(a[6]))
    if len(a) == 6 and a[1] == "recv":
        return recv(a[2], int(a[3]), a[4], float(a[5]))
    if len(a) == 4 and a[1] == "pcap-rate":
        return pcap_rate(a[2], int(a[3]))
    if len(a) == 4 and a[1] == "pcap-content":
        return pcap_content(a[2], int(a[3]))
    if len(a) == 6 and a[1] == "pcap-replay":
        return pcap_replay(a[2], int(a[3]), a[4], a[5])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
