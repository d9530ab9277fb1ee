#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Pipelined lease inserter for the benchmark (raw generic netlink).

  lease_insert.py COUNT [START [BATCH]]

Adds COUNT leases in the current network namespace,

  REAL 2001:db8:1::10, PEER 2001:db8:2::<i>, VIRT 2001:db8:ff::<i>

for i = START .. START+COUNT-1 (the addresses bench/lease_bench.sh
generates; START defaults to 0), with
lifetime 3600 s and flags egress|ingress. BATCH requests (default 256) go
out in one sendmsg() without waiting; then their acks are drained. Prints
"inserted N in S s" and exits non-zero at the first error ack.

Used by lease_bench.sh only when `guise lease load` is missing. Its speed
is mostly Python's (building the messages), not the kernel's.
"""
import os
import socket
import struct
import sys
import time

NETLINK_GENERIC = 16
SOL_NETLINK, NETLINK_CAP_ACK, NETLINK_EXT_ACK = 270, 10, 11
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLMSG_ERROR = 2
GENL_ID_CTRL, CTRL_CMD_GETFAMILY = 0x10, 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 1, 2
NLA_F_NESTED = 0x8000

# include/uapi/linux/guise.h
GUISE_CMD_LEASE_NEW = 3
GUISE_A_LEASE = 2
A_REAL, A_PEER, A_VIRT, A_FLAGS, A_LIFETIME = 2, 3, 4, 5, 6
F_EGRESS_INGRESS = 0x3

REAL = socket.inet_pton(socket.AF_INET6, "2001:db8:1::10")
PEER_BASE = socket.inet_pton(socket.AF_INET6, "2001:db8:2::")[:12]
VIRT_BASE = socket.inet_pton(socket.AF_INET6, "2001:db8:ff::")[:12]


def attr(t, payload):
    a = struct.pack("=HH", 4 + len(payload), t) + payload
    return a + b"\0" * (-len(a) % 4)


def family_id(sk):
    body = struct.pack("=BBH", CTRL_CMD_GETFAMILY, 1, 0) + \
        attr(CTRL_ATTR_FAMILY_NAME, b"guise\0")
    sk.send(struct.pack("=IHHII", 16 + len(body), GENL_ID_CTRL,
                        NLM_F_REQUEST, 1, 0) + body)
    data = sk.recv(65536)
    ln, typ = struct.unpack_from("=IH", data)
    if typ == NLMSG_ERROR:
        err = -struct.unpack_from("=i", data, 16)[0]
        raise OSError(err, "guise family: " + os.strerror(err))
    buf = data[20:ln]
    while len(buf) >= 4:
        aln, t = struct.unpack_from("=HH", buf)
        if t == CTRL_ATTR_FAMILY_ID:
            return struct.unpack_from("=H", buf, 4)[0]
        buf = buf[(aln + 3) & ~3:]
    raise OSError(2, "guise family: no id")


def main(argv):
    if len(argv) not in (2, 3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    count = int(argv[1])
    first = int(argv[2]) if len(argv) > 2 else 0
    batch = int(argv[3]) if len(argv) > 3 else 256
    sk = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    sk.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
    sk.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    try:
        sk.setsockopt(socket.SOL_SOCKET, 33, 1 << 22)  # SO_RCVBUFFORCE
    except OSError:
        sk.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    sk.bind((0, 0))
    fam = family_id(sk)

    fixed = attr(A_REAL, REAL)
    tail = attr(A_FLAGS, struct.pack("=I", F_EGRESS_INGRESS)) + \
        attr(A_LIFETIME, struct.pack("=I", 3600))
    genlhdr = struct.pack("=BBH", GUISE_CMD_LEASE_NEW, 1, 0)
    seq = 100
    start = time.monotonic()
    done = 0
    while done < count:
        n = min(batch, count - done)
        msgs = []
        for i in range(first + done, first + done + n):
            low = struct.pack(">I", i)
            nest = attr(GUISE_A_LEASE | NLA_F_NESTED, fixed +
                        attr(A_PEER, PEER_BASE + low) +
                        attr(A_VIRT, VIRT_BASE + low) + tail)
            seq += 1
            msgs.append(struct.pack("=IHHII", 20 + len(nest), fam,
                                    NLM_F_REQUEST | NLM_F_ACK, seq, 0) +
                        genlhdr + nest)
        sk.send(b"".join(msgs))
        acks = 0
        while acks < n:
            data = sk.recv(1 << 20)
            off = 0
            while off + 16 <= len(data):
                ln, typ = struct.unpack_from("=IH", data, off)
                if typ == NLMSG_ERROR:
                    err = -struct.unpack_from("=i", data, off + 16)[0]
                    if err:
                        print("lease %d: %s" % (done + acks,
                                                os.strerror(err)),
                              file=sys.stderr)
                        return 1
                    acks += 1
                off += (ln + 3) & ~3
        done += n
    secs = time.monotonic() - start
    print("inserted %d in %.3f s" % (done, secs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
