#!/usr/bin/env python3
"""Independent computation of the IKEv1 key schedule (RFC 2409 §5, §5.5,
Appendix B) with Python's hmac and hashlib, for keymat/ikev1_keys_test.cc.
Prints the expected values as hex; rerun it to check or change a vector.
"""
import hashlib
import hmac

H = hashlib.sha256
def prf(k, d): return hmac.new(k, d, H).digest()

psk = b"fleet-preshared-key"
ni = bytes(range(1, 17))
nr = bytes(range(0x21, 0x21 + 24))
gxy = bytes([0x33]) * 256
gxi = bytes([0x44]) * 256
gxr = bytes([0x55]) * 256
cky_i = bytes.fromhex("0102030405060708")
cky_r = bytes.fromhex("1112131415161718")
sai_b = bytes.fromhex("00000001000000010000002c")  # an SA body; the octets do not matter
idii_b = bytes.fromhex("01000000c0000201")
idir_b = bytes.fromhex("01000000c6336401")

def show(name, v): print(f"{name} {v.hex()}")

skeyid_psk = prf(psk, ni + nr)
skeyid_sig = prf(ni + nr, gxy)
skeyid_encr = prf(H(ni + nr).digest(), cky_i + cky_r)
show("skeyid_psk", skeyid_psk)
show("skeyid_sig", skeyid_sig)
show("skeyid_encr", skeyid_encr)
s = skeyid_psk
d = prf(s, gxy + cky_i + cky_r + b"\x00")
a = prf(s, d + gxy + cky_i + cky_r + b"\x01")
e = prf(s, a + gxy + cky_i + cky_r + b"\x02")
show("skeyid_d", d)
show("skeyid_a", a)
show("skeyid_e", e)
# AES-256 needs 32 octets: SHA-256's SKEYID_e is long enough, taken as is.
show("enc_key_aes256", e[:32])
# Appendix B with SHA-1 (20 octets) for AES-256: K1 = prf(SKEYID_e, 0), K2 = prf(SKEYID_e, K1).
def prf1(k, dd): return hmac.new(k, dd, hashlib.sha1).digest()
s1 = prf1(psk, ni + nr)
d1 = prf1(s1, gxy + cky_i + cky_r + b"\x00")
a1 = prf1(s1, d1 + gxy + cky_i + cky_r + b"\x01")
e1 = prf1(s1, a1 + gxy + cky_i + cky_r + b"\x02")
k1 = prf1(e1, b"\x00")
k2 = prf1(e1, k1)
show("sha1_skeyid_e", e1)
show("sha1_enc_key_aes256", (k1 + k2)[:32])
show("iv_phase1", H(gxi + gxr).digest()[:16])
show("hash_i", prf(s, gxi + gxr + cky_i + cky_r + sai_b + idii_b))
show("hash_r", prf(s, gxr + gxi + cky_r + cky_i + sai_b + idir_b))
last_block = bytes(range(0xa0, 0xb0))
mid = bytes.fromhex("9abcdef0")
show("iv_phase2", H(last_block + mid).digest()[:16])
# Quick Mode KEYMAT for ESP SPI c0ffee01, AES-256 + SHA-256 (32 + 32 octets), with PFS g^xy.
gqm = bytes([0x66]) * 32
spi = bytes.fromhex("c0ffee01")
seed = gqm + b"\x03" + spi + ni + nr
k = prf(d, seed)
while len(k) < 64:
    k += prf(d, k[-32:] + seed)
show("keymat_pfs", k[:64])
seed = b"\x03" + spi + ni + nr
k = prf(d, seed)
k += prf(d, k + seed)
k += prf(d, k[-32:] + seed)
show("keymat_nopfs_80", k[:80])
show("qm_hash3", prf(a, b"\x00" + mid + ni + nr))
