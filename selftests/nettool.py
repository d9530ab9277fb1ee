#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Small traffic tools for the VM tests (no socat/iperf needed).

  nettool.py tcp-sink PORT            accept one connection, read to EOF,
                                      answer the SHA-256 of what came
  nettool.py tcp-send HOST PORT BYTES send BYTES random bytes, exit 0 iff
                                      the sink's SHA-256 matches
  nettool.py udp-echo PORT [COUNT]    echo COUNT datagrams (default 1)
  nettool.py udp-ping HOST PORT       send one datagram, exit 0 iff it
                                      comes back unchanged within 3 s
  nettool.py udp-count PORT SECONDS   print how many datagrams arrived
  nettool.py udp-burst HOST PORT N    send N numbered datagrams at once
  nettool.py mcast-send GROUP PORT IFACE COUNT SIZE [FIRST]
                                      send COUNT datagrams of SIZE bytes,
                                      datagram i holding payload(i)
  nettool.py mcast-gso-send GROUP PORT IFACE SENDS SEGS SIZE LAST [FIRST]
                                      SENDS sends with UDP_SEGMENT SIZE,
                                      each of SEGS datagrams: SEGS - 1 of
                                      SIZE bytes and a last of LAST; they
                                      hold payload(FIRST), payload(FIRST
                                      + 1), ...; exit 1 (naming the errno)
                                      if a send fails
  nettool.py mcast-recv GROUP PORT IFACE SECONDS
                                      join GROUP on IFACE, for SECONDS
                                      (from the first datagram with
                                      NETTOOL_FIRST_WAIT; SIGTERM ends
                                      it early; NETTOOL_EXPECT=N too,
                                      NETTOOL_GRACE s (default 1) after
                                      the Nth datagram), count what is
                                      queued by then, and print
                                      "good N bad M plain P": distinct
                                      datagrams equal to some payload(i),
                                      others (a second copy of one too),
                                      and others holding the plaintext
                                      marker (a leak). NETTOOL_GRO=1: with
                                      the UDP_GRO socket option, splitting
                                      what arrives coalesced at the
                                      gso_size the kernel reports; prints
                                      "coalesced N" (reads that held more
                                      than one datagram) first
  nettool.py tx-csum IFACE on|off     switch IFACE's transmit checksum
                                      offload (ETHTOOL_STXCSUM; no
                                      ethtool binary needed)

Servers print "ready" once listening, so callers can wait for it.
"""
import hashlib
import os
import signal
import socket
import sys


def tcp_sink(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    s.listen(1)
    print("ready", flush=True)
    c, _ = s.accept()
    h = hashlib.sha256()
    while True:
        b = c.recv(65536)
        if not b:
            break
        h.update(b)
    c.sendall(h.hexdigest().encode())
    c.close()
    return 0


def tcp_send(host, port, nbytes):
    data = os.urandom(nbytes)
    c = socket.create_connection((host, port), timeout=60)
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    got = c.recv(64).decode()
    ok = got == hashlib.sha256(data).hexdigest()
    print("sent %d bytes, digest %s" % (nbytes, "matches" if ok else "DIFFERS"))
    return 0 if ok else 1


def udp_echo(port, count):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::", port))
    print("ready", flush=True)
    for _ in range(count):
        b, peer = s.recvfrom(65536)
        s.sendto(b, peer)
    return 0


def udp_ping(host, port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.settimeout(3)
    msg = os.urandom(200)
    s.sendto(msg, (host, port))
    try:
        b, _ = s.recvfrom(65536)
    except socket.timeout:
        print("no answer")
        return 1
    return 0 if b == msg else 1


def udp_count(port, seconds):
    import time
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::", port))
    print("ready", flush=True)
    end, seen = time.time() + seconds, set()
    while time.time() < end:
        s.settimeout(max(0.01, end - time.time()))
        try:
            seen.add(s.recv(65536))
        except socket.timeout:
            break
    print(len(seen), flush=True)
    return 0


def udp_burst(host, port, n):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    for i in range(n):
        s.sendto(b"datagram %d" % i, (host, port))
    return 0


MARK = b"guise-plaintext-marker:"


def payload(i, size):
    head = MARK + b"%08d:" % i
    body = (head * (size // len(head) + 1))[:size]
    return body


def mcast_sock(iface):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    idx = socket.if_nametoindex(iface)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 8)
    # NETTOOL_LOOP=1: a sender's datagrams loop back to local receivers
    loop = int(os.environ.get("NETTOOL_LOOP", "0"))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, loop)
    return s, idx


SOL_UDP, UDP_SEGMENT, UDP_GRO = 17, 103, 104


def mcast_gso_send(group, port, iface, sends, segs, size, last, first=0):
    s, _ = mcast_sock(iface)
    s.setsockopt(SOL_UDP, UDP_SEGMENT, size)
    i = first
    for _ in range(sends):
        buf = b""
        for j in range(segs):
            buf += payload(i, size if j < segs - 1 else last)
            i += 1
        try:
            s.sendto(buf, (group, port))
        except OSError as e:
            print("send failed: %s" % os.strerror(e.errno), flush=True)
            return 1
    print("sent %d" % (i - first), flush=True)
    return 0


def mcast_send(group, port, iface, count, size, first=0):
    import time
    s, _ = mcast_sock(iface)
    for i in range(first, first + count):
        s.sendto(payload(i, size), (group, port))
        time.sleep(float(os.environ.get("NETTOOL_INTERVAL", "0.002")))
    return 0


def mcast_recv(group, port, iface, seconds):
    import struct
    import time
    s, idx = mcast_sock(iface)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", idx)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    gro = os.environ.get("NETTOOL_GRO") == "1"
    if gro:
        s.setsockopt(SOL_UDP, UDP_GRO, 1)
    # SIGTERM ends the window early (the caller knows traffic is over):
    # a flag, so that no datagram is half counted; what is queued on the
    # socket by then is still read and counted.
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    print("ready", flush=True)
    n = {"good": 0, "bad": 0, "plain": 0, "coalesced": 0}
    seen = set()

    def count(b, anc):
        step = len(b) or 1
        for level, kind, data in anc:
            if (level, kind) == (SOL_UDP, UDP_GRO):
                step = struct.unpack("@i", data[:4])[0]
        if step < len(b):
            n["coalesced"] += 1
        for d in [b[o:o + step] for o in range(0, len(b), step)] or [b]:
            if d.startswith(MARK) and d[len(MARK):len(MARK) + 8].isdigit():
                i = int(d[len(MARK):len(MARK) + 8])
                if d == payload(i, len(d)) and (i, len(d)) not in seen:
                    seen.add((i, len(d)))
                    n["good"] += 1
                    continue
            n["bad"] += 1
            if MARK in d:
                n["plain"] += 1

    # NETTOOL_FIRST_WAIT=N: the window starts with the first datagram,
    # awaited N s at most (slow, loaded emulated guests)
    first = float(os.environ.get("NETTOOL_FIRST_WAIT", "0"))
    # NETTOOL_EXPECT=N: once N datagrams (good or bad) have arrived, the
    # window ends NETTOOL_GRACE s (default 1) later, SECONDS at most, so
    # that extras and duplicates are still counted.
    expect = int(os.environ.get("NETTOOL_EXPECT", "0"))
    grace = float(os.environ.get("NETTOOL_GRACE", "1"))
    end = time.time() + seconds + first
    while not stop and time.time() < end:
        s.settimeout(max(0.01, min(0.2, end - time.time())))
        try:
            b, anc, _, _ = s.recvmsg(70000, socket.CMSG_SPACE(4))
        except socket.timeout:
            continue
        if first:
            first, end = 0, time.time() + seconds
        count(b, anc)
        if expect and n["good"] + n["bad"] >= expect:
            end = min(end, time.time() + grace)
    # the window is over: count what is already queued too
    s.setblocking(False)
    while True:
        try:
            b, anc, _, _ = s.recvmsg(70000, socket.CMSG_SPACE(4))
        except BlockingIOError:
            break
        count(b, anc)
    if gro:
        print("coalesced %d" % n["coalesced"], flush=True)
    print("good %d bad %d plain %d" % (n["good"], n["bad"], n["plain"]),
          flush=True)
    return 0


def tx_csum(iface, on):
    import array
    import fcntl
    import struct
    siocethtool, ethtool_stxcsum = 0x8946, 0x17
    buf = array.array("B", struct.pack("=II", ethtool_stxcsum, int(on)))
    ifr = struct.pack("16sP", iface.encode(), buf.buffer_info()[0])
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(s.fileno(), siocethtool, ifr)
    return 0


def main(a):
    if len(a) == 4 and a[1] == "tx-csum" and a[3] in ("on", "off"):
        return tx_csum(a[2], a[3] == "on")
    if len(a) in (7, 8) and a[1] == "mcast-send":
        return mcast_send(a[2], int(a[3]), a[4], int(a[5]), int(a[6]),
                          int(a[7]) if len(a) == 8 else 0)
    if len(a) in (9, 10) and a[1] == "mcast-gso-send":
        return mcast_gso_send(a[2], int(a[3]), a[4], *map(int, a[5:]))
    if len(a) == 6 and a[1] == "mcast-recv":
        return mcast_recv(a[2], int(a[3]), a[4], float(a[5]))
    if len(a) == 4 and a[1] == "udp-count":
        return udp_count(int(a[2]), float(a[3]))
    if len(a) == 5 and a[1] == "udp-burst":
        return udp_burst(a[2], int(a[3]), int(a[4]))
    if len(a) == 3 and a[1] == "tcp-sink":
        return tcp_sink(int(a[2]))
    if len(a) == 5 and a[1] == "tcp-send":
        return tcp_send(a[2], int(a[3]), int(a[4]))
    if len(a) in (3, 4) and a[1] == "udp-echo":
        return udp_echo(int(a[2]), int(a[3]) if len(a) == 4 else 1)
    if len(a) == 4 and a[1] == "udp-ping":
        return udp_ping(a[2], int(a[3]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
