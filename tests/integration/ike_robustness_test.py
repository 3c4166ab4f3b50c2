#!/usr/bin/env python3
"""Hostile and foreign datagrams at our IKE daemon, from another lab site.

Site `v` runs vpnfleet-ike (no dataplane: IKE on its own sockets, ports 500
and 4500) with --half_open_timeout=3s; site `x` sends raw UDP from Python.
Checked, through the API, the metrics and the daemon's log:
  1. 64 datagrams with a valid IKE_SA_INIT header and a garbage payload
     chain leave no SA at all (half-open count stays 0), each is counted as
     MALFORMED, and the log names the peer without flooding (rate-limited);
  2. a well-formed IKE_SA_INIT (X25519, AES-GCM) from a peer that never
     sends IKE_AUTH is answered, shows as a half-open SA, and is gone after
     the half-open timeout, counted as HALF_OPEN_TIMEOUT; above 64
     half-open SAs a request is answered with a COOKIE and kept only when it
     comes back with it (a forged one gets a new COOKIE);
  3. an IKEv1 Main Mode first message is answered at once with an ISAKMP
     Informational NO-PROPOSAL-CHOSEN, counted and logged as
     IKEV1_NOT_CONFIGURED;
  4. an IKE_SA_INIT of major version 3 gets INVALID_MAJOR_VERSION (§2.5);
  5. datagrams shorter than an IKE header, and on port 4500 too, are counted.
Exit 77 (skip) without root.
"""

import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))

from checks import Fail, check, skip, wait_for  # noqa: E402
import fleet  # noqa: E402
import vpnlab  # noqa: E402

# Runs in site x: sends what the test asks for and prints the answers (hex).
SENDER = r'''
import os, socket, struct, sys, json
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives import serialization

target, what, count = sys.argv[1], sys.argv[2], int(sys.argv[3])

def header(spi_i, next_payload, version, exchange, flags, mid, body):
    return struct.pack("!8s8sBBBBII", spi_i, b"\0" * 8, next_payload, version, exchange, flags,
                       mid, 28 + len(body)) + body

def payload(next_payload, body):
    return struct.pack("!BBH", next_payload, 0, 4 + len(body)) + body

def transform(last, ttype, tid, attrs=b""):
    body = struct.pack("!BBH", ttype, 0, tid) + attrs
    return struct.pack("!BBH", 0 if last else 3, 0, 4 + len(body)) + body

def init_body():
    ts = (transform(False, 1, 20, struct.pack("!HH", 0x800E, 128)) +   # AES-GCM-16, 128
          transform(False, 2, 5) +                                     # PRF HMAC-SHA2-256
          transform(True, 4, 31))                                      # Curve25519
    proposal = struct.pack("!BBHBBBB", 0, 0, 8 + len(ts), 1, 1, 0, 3) + ts
    pub = X25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return (payload(34, proposal) + payload(40, struct.pack("!HH", 31, 0) + pub) +
            payload(0, os.urandom(32)))

def ike_sa_init(version=0x20):
    return header(os.urandom(8), 33, version, 34, 0x08, 0, init_body())

def first_notify(reply):
    """(type, data) of the reply's first payload if it is a Notify."""
    if len(reply) < 36 or reply[16] != 41:
        return None, b""
    length = struct.unpack("!H", reply[30:32])[0]
    return struct.unpack("!H", reply[34:36])[0], reply[36:28 + length]

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 0))
s.settimeout(2)
port = 4500 if what == "short4500" else 500
answers = []
for i in range(count):
    if what == "cookie":
        # 64 half-open SAs, then a request that must come back with the
        # COOKIE it is given before the responder keeps anything.
        for _ in range(64):
            s.sendto(ike_sa_init(), (target, port))
            s.recv(65535)
        spi, body = os.urandom(8), init_body()
        s.sendto(header(spi, 33, 0x20, 34, 0x08, 0, body), (target, port))
        kind, cookie = first_notify(s.recv(65535))
        answers.append("%d:%s" % (kind or 0, cookie.hex()))
        cookie_payload = struct.pack("!BBHBBH", 33, 0, 8 + len(cookie), 0, 0, 16390) + cookie
        s.sendto(header(spi, 41, 0x20, 34, 0x08, 0, cookie_payload + body), (target, port))
        reply = s.recv(65535)
        answers.append("%d:%d" % (reply[16], reply[19]))
        bad = bytes([cookie[0]]) + bytes(16)
        s.sendto(header(os.urandom(8), 41, 0x20, 34, 0x08, 0,
                        struct.pack("!BBHBBH", 33, 0, 8 + len(bad), 0, 0, 16390) + bad + body),
                 (target, port))
        kind, _ = first_notify(s.recv(65535))
        answers.append("%d" % (kind or 0))
        break
    elif what == "garbage":
        # A valid header; the "SA payload" says it is 65,000 octets long.
        m = header(os.urandom(8), 33, 0x20, 34, 0x08, 0,
                   struct.pack("!BBH", 34, 0, 65000) + os.urandom(40))
    elif what == "init":
        m = ike_sa_init()
    elif what == "v3":
        m = ike_sa_init(0x30)
    elif what == "ikev1":
        # Main Mode, first message: an SA payload with one proposal (content
        # does not matter to a responder that refuses the version).
        m = header(os.urandom(8), 1, 0x10, 2, 0, 0, struct.pack("!BBHII", 0, 0, 12, 1, 1))
    else:
        m = b"\x01\x02\x03\x04\x05" if what == "short" else b"\0\0\0\0\x01\x02\x03\x04\x05\x06"
    s.sendto(m, (target, port))
    if what in ("init", "v3", "ikev1"):
        try:
            answers.append(s.recv(65535).hex())
        except socket.timeout:
            answers.append("")
print(json.dumps(answers))
'''


def send(site, target, what, count=1):
    r = site.exec(["/usr/bin/python3", "-c", SENDER, target, what, str(count)], timeout=60)
    return json.loads(r.stdout.strip().splitlines()[-1])


def metric(text, name, labels=""):
    m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return float(m.group(1)) if m else 0.0


def main():
    if os.geteuid() != 0:
        skip("needs root for network namespaces")
    import grpcapi
    lab = vpnlab.Lab("ikr%d" % (os.getpid() % 10000))
    v = lab.add_site("v", lan="10.1.0.0/24")
    x = lab.add_site("x")
    lab.up()
    try:
        rec = fleet.start(lab, "v", "ike", ["--half_open_timeout=3s"])
        ike = grpcapi.Ike("unix:" + rec["socket"])
        ike.call("ReplaceConfig", {"config": {
            "isakmp_policies": [{"priority": 10, "encryption": "ENCRYPTION_AES_GCM_128",
                                 "hash": "PRF_HMAC_SHA2_256", "group": "DH_GROUP_CURVE25519",
                                 "authentication": "AUTH_METHOD_PRE_SHARE"}],
            "pre_shared_keys": [{"address": {"address": "0.0.0.0", "length": 0},
                                 "key": "c2VjcmV0LXNlY3JldA=="}]}})
        scrape = lambda: lab.scrape(v, *rec["metrics"])  # noqa: E731
        log_path = os.path.join(v.dir, "ike.log")

        print("case 1: 64 IKE_SA_INITs with a garbage payload chain")
        send(x, v.wan_address, "garbage", 64)
        m = wait_for(lambda: (lambda t: t if metric(t, "vpnfleet_ike_messages_refused_total",
                                                    '{reason="MALFORMED"}') >= 64 else None)(
            scrape()), 10, "64 MALFORMED refusals counted")
        check(metric(m, "vpnfleet_ike_sas") == 0, "no IKE SA was created (half-open 0)")
        check(not ike.call("ListIkeSas", {}).get("ike_sas"), "ListIkeSas is empty")
        with open(log_path) as f:
            lines = [json.loads(l) for l in f if '"IKE message refused"' in l]
        check(lines and lines[0].get("peer", "").startswith(x.wan_address) and
              lines[0].get("reason") == "MALFORMED",
              "the log names the peer and the reason: %s" % (lines[:1],))
        check(len(lines) <= 20, "the log is rate-limited (%d lines for 64 refusals)" % len(lines))

        print("case 2: a real IKE_SA_INIT, then silence: the half-open SA expires")
        answers = send(x, v.wan_address, "init")
        check(answers[0] and int(answers[0][36:38], 16) == 34 and
              int(answers[0][38:40], 16) & 0x20, "answered with an IKE_SA_INIT response")
        sas = ike.call("ListIkeSas", {}).get("ike_sas", [])
        check(len(sas) == 1 and sas[0]["state"] != "IKE_SA_STATE_ESTABLISHED",
              "one half-open SA (%s)" % (sas[0]["state"] if sas else "none"))
        start = time.time()
        wait_for(lambda: not ike.call("ListIkeSas", {}).get("ike_sas"), 10,
                 "the half-open SA dropped after --half_open_timeout=3s")
        print("  ok: gone after %.1f s" % (time.time() - start))
        check(metric(scrape(), "vpnfleet_ike_negotiations_failed_total",
                     '{reason="HALF_OPEN_TIMEOUT"}') == 1, "counted as HALF_OPEN_TIMEOUT")

        print("case 2b: above 64 half-open SAs, a request must return a COOKIE (RFC 7296 §2.6)")
        answers = send(x, v.wan_address, "cookie")
        kind, cookie = answers[0].split(":")
        check(kind == "16390" and len(cookie) == 2 * 17,
              "the 65th request got a COOKIE notify (%s)" % answers[0])
        check(answers[1] == "33:32", "with the cookie returned it got a real answer (SA, response)")
        check(answers[2] == "16390", "a forged cookie got a fresh COOKIE, not an SA")
        m = scrape()
        check(metric(m, "vpnfleet_ike_cookies_sent_total") >= 2, "cookies counted")
        check(metric(m, "vpnfleet_ike_half_open_sas") == 65, "65 half-open SAs in the gauge")
        wait_for(lambda: not ike.call("ListIkeSas", {}).get("ike_sas"), 10,
                 "the 65 half-open SAs expire")
        check(metric(scrape(), "vpnfleet_ike_half_open_sas") == 0, "and the gauge says so")

        print("case 3: an IKEv1 Main Mode request is refused at once")
        answers = send(x, v.wan_address, "ikev1")
        a = bytes.fromhex(answers[0]) if answers[0] else b""
        check(len(a) == 40 and a[17] == 0x10 and a[18] == 5 and a[39] == 14,
              "ISAKMP Informational NO-PROPOSAL-CHOSEN (%s)" % answers[0])
        m = scrape()
        check(metric(m, "vpnfleet_ike_messages_refused_total",
                     '{reason="IKEV1_NOT_CONFIGURED"}') == 1, "counted as IKEV1_NOT_CONFIGURED")
        check(metric(m, "vpnfleet_ike_negotiations_failed_total",
                     '{reason="IKEV1_NOT_CONFIGURED"}') == 1, "and as a failed negotiation")
        with open(log_path) as f:
            check('"IKEV1_NOT_CONFIGURED"' in f.read(), "and logged")

        print("case 4: major version 3 gets INVALID_MAJOR_VERSION")
        answers = send(x, v.wan_address, "v3")
        a = bytes.fromhex(answers[0]) if answers[0] else b""
        check(len(a) == 36 and a[17] == 0x20 and a[35] == 5, "INVALID_MAJOR_VERSION (%s)" % answers[0])

        print("case 5: datagrams shorter than a header, on 500 and 4500")
        send(x, v.wan_address, "short", 3)
        send(x, v.wan_address, "short4500", 3)
        wait_for(lambda: metric(scrape(), "vpnfleet_ike_messages_refused_total",
                                '{reason="MALFORMED"}') >= 70, 10, "six more MALFORMED")
        check(not ike.call("ListIkeSas", {}).get("ike_sas"), "still no SA")
        ike.close()
        print("PASS")
        return 0
    except Fail as e:
        print("FAIL:", e)
        vpnlab.print_log_tails((v,), ("ike",))
        return 1
    finally:
        lab.down()


if __name__ == "__main__":
    sys.exit(main())
