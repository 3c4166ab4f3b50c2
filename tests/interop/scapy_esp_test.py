#!/usr/bin/python3
"""Our ESP and AH transforms against an independent implementation: Scapy's
SecurityAssociation (Debian python3-scapy). For every transform, with and
without extended sequence numbers, packets Scapy encrypts are opened by our
code (esp_tool open) and packets we seal are decrypted by Scapy; a tampered
packet and a wrong high sequence half are refused by ours. AH the same way
in tunnel and transport mode (esp_tool ah-seal / ah-open, whole IPv4
packets, since AH covers the header), and ESP+AH bundles: ESP inside AH.
"""

import hashlib
import hmac
import os
import struct
import subprocess
import sys
import unittest

try:
    from scapy.layers.inet import ICMP, IP, UDP
    from scapy.layers.ipsec import AH, ESP, SecurityAssociation
    from scapy.packet import Raw
except ImportError:
    print("SKIP: python3-scapy is not installed")
    sys.exit(77)

TOOL = os.path.join(os.environ.get("VPNFLEET_BIN_DIR", "build/bin"), "esp_tool")

# (our encryption, our integrity, scapy crypt_algo, scapy auth_algo, enc key len, auth key len)
TRANSFORMS = [
    ("ENCRYPTION_AES_GCM_128", "INTEGRITY_UNSPECIFIED", "AES-GCM", None, 20, 0),
    ("ENCRYPTION_AES_GCM_256", "INTEGRITY_UNSPECIFIED", "AES-GCM", None, 36, 0),
    ("ENCRYPTION_CHACHA20_POLY1305", "INTEGRITY_UNSPECIFIED", "CHACHA20-POLY1305", None, 36, 0),
    ("ENCRYPTION_AES_CBC_128", "INTEGRITY_HMAC_SHA1_96", "AES-CBC", "HMAC-SHA1-96", 16, 20),
    ("ENCRYPTION_AES_CBC_192", "INTEGRITY_HMAC_SHA2_256_128", "AES-CBC", "SHA2-256-128", 24, 32),
    ("ENCRYPTION_AES_CBC_256", "INTEGRITY_HMAC_SHA2_384_192", "AES-CBC", "SHA2-384-192", 32, 48),
    ("ENCRYPTION_AES_CBC_256", "INTEGRITY_HMAC_SHA2_512_256", "AES-CBC", "SHA2-512-256", 32, 64),
    ("ENCRYPTION_NULL", "INTEGRITY_HMAC_SHA2_256_128", "NULL", "SHA2-256-128", 0, 32),
    ("ENCRYPTION_3DES", "INTEGRITY_HMAC_MD5_96", "3DES", "HMAC-MD5-96", 24, 16),
]

# Debian 12's Scapy (2.5.0) leaves the ESN high bits out of the HMAC ICV of
# non-AEAD ESP; RFC 4303 §2.2.1 puts them in, and Scapy added them later
# (secdev/scapy#3908). For those cases the ICV is computed here with Python's
# hmac, as that fix does, while Scapy still does the cipher.
HMACS = {"HMAC-SHA1-96": (hashlib.sha1, 12), "HMAC-MD5-96": (hashlib.md5, 12),
         "SHA2-256-128": (hashlib.sha256, 16), "SHA2-384-192": (hashlib.sha384, 24),
         "SHA2-512-256": (hashlib.sha512, 32)}


def rfc4303_esn_icv(auth_algo, akey, esp_without_icv, high):
    digest, size = HMACS[auth_algo]
    return hmac.new(akey, esp_without_icv + struct.pack("!L", high), digest).digest()[:size]


SPI = 0x34F84D56
OUTER = IP(src="198.51.100.1", dst="198.51.100.2")
INNER = IP(src="10.1.0.1", dst="10.2.0.1") / UDP(sport=4000, dport=5000) / Raw(b"vpnfleet " * 11)


def key(n, seed):
    return bytes((seed * 31 + i * 7) & 0xFF for i in range(n))


def tool(action, enc, integ, ekey, akey, seq, esn, data_hex):
    args = [TOOL, action, "--enc=" + enc, "--ekey=" + ekey.hex(), "--integ=" + integ,
            "--akey=" + akey.hex(), "--spi=%d" % SPI, "--seq=%d" % seq]
    if esn:
        args.append("--esn")
    return subprocess.run(args, input=data_hex + "\n", capture_output=True, text=True)


class ScapyInterop(unittest.TestCase):
    def sa(self, t, ekey, akey, esn, seq):
        return SecurityAssociation(
            ESP, spi=SPI, crypt_algo=t[2], crypt_key=ekey if t[4] else None,
            auth_algo=t[3], auth_key=akey if t[5] else None,
            tunnel_header=OUTER, esn_en=esn, esn=(seq >> 32) if esn else 0)

    def test_scapy_encrypts_we_decrypt(self):
        for t in TRANSFORMS:
            for esn in (False, True):
                for seq in (1, 0x7FFFFFFF) + (((5 << 32) | 9,) if esn else ()):
                    with self.subTest(transform=t[0], integ=t[1], esn=esn, seq=seq):
                        ekey, akey = key(t[4], 1), key(t[5], 2)
                        sa = self.sa(t, ekey, akey, esn, seq)
                        pkt = sa.encrypt(INNER, seq_num=seq & 0xFFFFFFFF)
                        esp = bytes(pkt[ESP])
                        if esn and t[3]:
                            n = HMACS[t[3]][1]
                            esp = esp[:-n] + rfc4303_esn_icv(t[3], akey, esp[:-n], seq >> 32)
                        r = tool("open", t[0], t[1], ekey, akey, seq, esn, esp.hex())
                        self.assertEqual(r.returncode, 0, r.stderr)
                        nh, payload = r.stdout.split()
                        self.assertEqual(int(nh), 4)  # IPv4 in tunnel mode
                        self.assertEqual(bytes.fromhex(payload), bytes(INNER))

    def test_we_encrypt_scapy_decrypts(self):
        for t in TRANSFORMS:
            for esn in (False, True):
                seq = ((2 << 32) | 41) if esn else 41
                with self.subTest(transform=t[0], integ=t[1], esn=esn):
                    ekey, akey = key(t[4], 3), key(t[5], 4)
                    r = tool("seal", t[0], t[1], ekey, akey, seq, esn, bytes(INNER).hex())
                    self.assertEqual(r.returncode, 0, r.stderr)
                    wire = IP(bytes(IP(src=OUTER.src, dst=OUTER.dst, proto=50) /
                                    Raw(bytes.fromhex(r.stdout.strip()))))
                    self.assertEqual(wire[ESP].spi, SPI)
                    self.assertEqual(wire[ESP].seq, seq & 0xFFFFFFFF)
                    sa = self.sa(t, ekey, akey, esn, seq)
                    if esn and t[3]:
                        esp = bytes(wire[ESP])
                        n = HMACS[t[3]][1]
                        self.assertEqual(esp[-n:],
                                         rfc4303_esn_icv(t[3], akey, esp[:-n], seq >> 32))
                        inner = sa.decrypt(wire, verify=False)
                    else:
                        inner = sa.decrypt(wire)  # raises if the ICV does not verify
                    self.assertEqual(bytes(inner), bytes(INNER))

    def test_tampered_and_misattributed_packets_are_refused(self):
        t = TRANSFORMS[0]
        ekey = key(t[4], 5)
        sa = self.sa(t, ekey, b"", True, (1 << 32) | 3)
        esp = bytearray(bytes(sa.encrypt(INNER, seq_num=3)[ESP]))
        ok = tool("open", t[0], t[1], ekey, b"", (1 << 32) | 3, True, esp.hex())
        self.assertEqual(ok.returncode, 0, ok.stderr)
        wrong_high = tool("open", t[0], t[1], ekey, b"", (2 << 32) | 3, True, esp.hex())
        self.assertNotEqual(wrong_high.returncode, 0)
        esp[20] ^= 0x80
        tampered = tool("open", t[0], t[1], ekey, b"", (1 << 32) | 3, True, esp.hex())
        self.assertNotEqual(tampered.returncode, 0)
        self.assertIn("integrity", tampered.stderr)


# (our integrity, scapy auth_algo, key length)
AH_TRANSFORMS = [
    ("INTEGRITY_HMAC_SHA1_96", "HMAC-SHA1-96", 20),
    ("INTEGRITY_HMAC_SHA2_256_128", "SHA2-256-128", 32),
    ("INTEGRITY_HMAC_SHA2_384_192", "SHA2-384-192", 48),
    ("INTEGRITY_HMAC_SHA2_512_256", "SHA2-512-256", 64),
    ("INTEGRITY_HMAC_MD5_96", "HMAC-MD5-96", 16),
]
AH_SPI = 0x51AB0001
TRANSPORT = IP(src="198.51.100.1", dst="198.51.100.2") / UDP(sport=500, dport=4000) / \
    Raw(b"transport " * 7)


def rfc4302_ah(akey, seq, nh, payload):
    """IPv4 (OUTER's addresses) + AH (HMAC-SHA-256-128) + payload, by hand."""
    ah = struct.pack("!BBHLL", nh, (12 + 16) // 4 - 2, 0, AH_SPI, seq)
    header = bytes(IP(src=OUTER.src, dst=OUTER.dst, proto=51, ttl=57, tos=0x20,
                      len=20 + 28 + len(payload)))
    masked = bytearray(header)
    masked[1] = 0                 # TOS
    masked[6:8] = b"\0\0"       # flags, fragment offset
    masked[8] = 0                 # TTL
    masked[10:12] = b"\0\0"     # checksum
    icv = hmac.new(akey, bytes(masked) + ah + bytes(16) + payload, hashlib.sha256).digest()[:16]
    return header + ah + icv + payload


def ah_tool(action, integ, akey, seq, esn, data_hex, nh=None, src=None, dst=None):
    args = [TOOL, action, "--integ=" + integ, "--akey=" + akey.hex(), "--spi=%d" % AH_SPI,
            "--seq=%d" % seq]
    if esn:
        args.append("--esn")
    if nh is not None:
        args += ["--nh=%d" % nh, "--src=" + src, "--dst=" + dst]
    return subprocess.run(args, input=data_hex + "\n", capture_output=True, text=True)


class ScapyAhInterop(unittest.TestCase):
    def sa(self, t, akey, esn, seq, tunnel):
        return SecurityAssociation(AH, spi=AH_SPI, auth_algo=t[1], auth_key=akey,
                                   tunnel_header=OUTER if tunnel else None,
                                   esn_en=esn, esn=(seq >> 32) if esn else 0)

    def test_scapy_signs_we_verify(self):
        for t in AH_TRANSFORMS:
            for esn in (False, True):
                for tunnel in (True, False):
                    seq = ((7 << 32) | 5) if esn else 5
                    with self.subTest(integ=t[0], esn=esn, tunnel=tunnel):
                        akey = key(t[2], 6)
                        sa = self.sa(t, akey, esn, seq, tunnel)
                        signed = sa.encrypt(INNER if tunnel else TRANSPORT,
                                            seq_num=seq & 0xFFFFFFFF)
                        wire = bytearray(bytes(signed))
                        self.assertEqual(wire[9], 51)
                        r = ah_tool("ah-open", t[0], akey, seq, esn, wire.hex())
                        self.assertEqual(r.returncode, 0, r.stderr)
                        nh, payload = r.stdout.split()
                        if tunnel:
                            self.assertEqual(int(nh), 4)
                            self.assertEqual(bytes.fromhex(payload), bytes(INNER))
                        else:
                            self.assertEqual(int(nh), 17)
                            self.assertEqual(bytes.fromhex(payload), bytes(TRANSPORT[UDP]))
                        # A router lowers the TTL (and fixes the checksum): still valid.
                        wire[8] -= 1
                        wire[10:12] = b"\0\0"
                        routed = IP(bytes(wire))
                        del routed.chksum
                        r = ah_tool("ah-open", t[0], akey, seq, esn, bytes(routed).hex())
                        self.assertEqual(r.returncode, 0, r.stderr)
                        # One payload bit: refused.
                        wire[-1] ^= 1
                        r = ah_tool("ah-open", t[0], akey, seq, esn, wire.hex())
                        self.assertNotEqual(r.returncode, 0)
                        self.assertIn("integrity", r.stderr)

    def test_we_sign_scapy_verifies(self):
        for t in AH_TRANSFORMS:
            for esn in (False, True):
                for tunnel in (True, False):
                    seq = ((3 << 32) | 77) if esn else 77
                    with self.subTest(integ=t[0], esn=esn, tunnel=tunnel):
                        akey = key(t[2], 8)
                        if tunnel:
                            r = ah_tool("ah-seal", t[0], akey, seq, esn, bytes(INNER).hex(), 4,
                                        OUTER.src, OUTER.dst)
                        else:
                            r = ah_tool("ah-seal", t[0], akey, seq, esn,
                                        bytes(TRANSPORT[UDP]).hex(), 17, TRANSPORT.src,
                                        TRANSPORT.dst)
                        self.assertEqual(r.returncode, 0, r.stderr)
                        wire = IP(bytes.fromhex(r.stdout.strip()))
                        self.assertEqual(wire[AH].spi, AH_SPI)
                        self.assertEqual(wire[AH].seq, seq & 0xFFFFFFFF)
                        plain = self.sa(t, akey, esn, seq, tunnel).decrypt(wire)  # raises if bad
                        if tunnel:
                            self.assertEqual(bytes(plain), bytes(INNER))
                        else:
                            self.assertEqual(plain.proto, 17)
                            self.assertEqual(bytes(plain)[20:], bytes(TRANSPORT[UDP]))

    def test_esp_ah_bundle_both_ways(self):
        esp_t, ah_t = TRANSFORMS[4], AH_TRANSFORMS[1]  # AES-CBC-192/SHA-256, AH SHA-256
        ekey, eakey, akey = key(esp_t[4], 9), key(esp_t[5], 10), key(ah_t[2], 11)
        esp_sa = SecurityAssociation(ESP, spi=SPI, crypt_algo=esp_t[2], crypt_key=ekey,
                                     auth_algo=esp_t[3], auth_key=eakey, tunnel_header=OUTER)
        ah_sa = SecurityAssociation(AH, spi=AH_SPI, auth_algo=ah_t[1], auth_key=akey)
        # Scapy: ESP in tunnel mode; then AH over the outer header. Scapy
        # 2.5 cannot sign AH over ESP (its signer MACs the first ESP layer it
        # finds, into the ESP data), so that ICV is computed here with
        # Python's hmac over RFC 4302 §3.3.3.1's fields; AH alone is Scapy's
        # own in the tests above.
        esp_pkt = esp_sa.encrypt(INNER, seq_num=4)
        wire = rfc4302_ah(akey, 4, 50, bytes(esp_pkt[ESP]))
        r = ah_tool("ah-open", ah_t[0], akey, 4, False, wire.hex())
        self.assertEqual(r.returncode, 0, r.stderr)
        nh, esp = r.stdout.split()
        self.assertEqual(int(nh), 50)
        r = tool("open", esp_t[0], esp_t[1], ekey, eakey, 4, False, esp)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(bytes.fromhex(r.stdout.split()[1]), bytes(INNER))
        # Ours: the same, and Scapy takes it apart.
        r = tool("seal", esp_t[0], esp_t[1], ekey, eakey, 6, False, bytes(INNER).hex())
        self.assertEqual(r.returncode, 0, r.stderr)
        r = ah_tool("ah-seal", ah_t[0], akey, 6, False, r.stdout.strip(), 50, OUTER.src, OUTER.dst)
        self.assertEqual(r.returncode, 0, r.stderr)
        outer = ah_sa.decrypt(IP(bytes.fromhex(r.stdout.strip())))
        self.assertEqual(outer[IP].proto, 50)
        self.assertEqual(bytes(esp_sa.decrypt(IP(bytes(outer)))), bytes(INNER))


if __name__ == "__main__":
    unittest.main(verbosity=2)
