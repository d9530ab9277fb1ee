#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Known-answer vectors for the DEMM and announcement codecs, computed
independently of libguise with python3-cryptography from the layouts in
Documentation/keying.rst. Prints the hex that tests/keyd_codec.c embeds.

Usage: python3 tests/keyd_vectors.py
"""
import ipaddress
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def hkdf(ikm, info, n):
    return HKDF(algorithm=hashes.SHA256(), length=n, salt=None, info=info).derive(ikm)


def seq(a, n):
    return bytes(range(a, a + n))


def aead(alg, key):
    return ChaCha20Poly1305(key) if alg == 1 else AESGCM(key)


KM = seq(0x00, 32)
EPOCH = 472222
NONCE = seq(0xA0, 12)
NB, NA = 1700000000, 1700000060
G1 = ipaddress.IPv6Address("ff3e::4242").packed
G2 = ipaddress.IPv6Address("ff3e::4243").packed

seal = hkdf(KM, b"guise keyd v1 demm seal", 32)
tag = hkdf(KM, b"guise keyd v1 demm tag" + struct.pack(">I", EPOCH), 8)
entries = [
    (1, 3, G1, 5000, NB, NA + 3600, seq(0x40, 32)),
    (2, 1, G2, 5002, NB, NA + 7200, seq(0x60, 32)),
]
body = struct.pack(">QQQHH", 7, NB, NA, len(entries), 0)
for ch, ep, g, port, nb, na, key in entries:
    body += struct.pack(">II", ch, ep) + g + struct.pack(">HHQQ", port, 0, nb, na) + key
hdr = bytes([0x47, 1, 2, 1]) + struct.pack(">I", EPOCH) + tag + NONCE
demm = hdr + aead(1, seal).encrypt(NONCE, body, hdr)
print("demm (chacha20-poly1305):", demm.hex())

KC = seq(0x80, 32)
KS = seq(0xB0, 32)
ann = struct.pack(">III", 1, 10, 77) + G1 + struct.pack(">HBBQQ", 5000, 1, 0, NB, NA)
ann += bytes.fromhex("c0c1c2c3") + KS
hdr = bytes([0x47, 1, 3, 3]) + struct.pack(">III", 1, 3, 0) + NONCE
announce = hdr + aead(3, KC).encrypt(NONCE, ann, hdr)
print("announce (aes256-gcm):", announce.hex())
