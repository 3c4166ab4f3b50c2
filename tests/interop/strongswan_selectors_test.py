#!/usr/bin/env python3
"""Crypto ACLs with several lines, large IKE messages and requests we refuse,
against Debian's strongSwan 5.9.8 on the wire.

The lab of strongswan_interop_test.py (site `v`: our IKE daemon and
dataplane; site `s`: charon with kernel-libipsec, so IKE floats to 4500
through our dataplane's punt channel and ESP is in UDP). More LAN subnets
live as /32 addresses on `lo` on both sides. Cases:
  1. a two-line ACL (10.1.0.0/24 <-> 10.2.0.0/24 and 10.1.1.0/24 <->
     10.3.0.0/24): strongSwan brings up both CHILD SAs under one IKE SA and
     both carry pings; each has its own reqid in our dataplane; a third
     child for 10.3.0.0/24 <-> 10.1.0.0/24, which no line permits, is
     refused with TS_UNACCEPTABLE; the SPD holds one policy per line and
     direction, no cross pair; a deny line in front of the first permit
     keeps its traffic out of the tunnel;
  2. we initiate both lines on traffic: two acquires, one IKE SA, two
     CHILD SAs; with `set security-association level per-host`, one CHILD SA
     per host pair, each asked for with its /32 selectors;
  3. ten selector pairs under one crypto map entry, brought up by one
     Initiate: ten CHILD SAs, every pair carries pings both ways; then five
     of them as five IKE SAs that strongSwan starts at the same moment,
     INITIAL_CONTACT in each whose IKE_AUTH leaves before another is up:
     we keep all five, as strongSwan does;
  4. both sides authenticate with five-level RSA-4096 chains (three
     issuing CAs sent along): with strongSwan's fragmentation off, each
     IKE_AUTH
     is over 5 KB, crosses the lab in IP fragments and reaches our daemon
     through the dataplane whole; with it on, both use IKEv2 fragmentation
     (RFC 7383) and no datagram exceeds 1,280 octets;
  5. strongSwan asks for a virtual IP (CP CFG_REQUEST): we answer
     INTERNAL_ADDRESS_FAILURE, strongSwan reports it, we count and log it;
  6. strongSwan speaks IKEv1: it is told NO-PROPOSAL-CHOSEN at once instead
     of retransmitting into silence, and we count and log it.
Exit 77 (skip) without root or strongSwan.
"""

import os
import re
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))
sys.path.insert(0, HERE)

from checks import Fail, check, skip, wait_for  # noqa: E402
import strongswan_interop_test as ssw  # noqa: E402
import test_pki  # noqa: E402
import vpnlab  # noqa: E402

IKE = ("ENCRYPTION_AES_GCM_128", "PRF_HMAC_SHA2_256", "DH_GROUP_CURVE25519")

# connections { t { ... children { ... } } }: several children, our own.
SWANCTL = """connections { t {
  version = %(version)s
  local_addrs = %(local)s
  remote_addrs = %(remote)s
  proposals = %(ike)s
  rekey_time = 0
  %(extra)s
  %(auth)s
  children { %(children)s } } }
%(secrets)s
"""
CHILD = """%(name)s { local_ts = %(local_ts)s
    remote_ts = %(remote_ts)s
    esp_proposals = aes128gcm16
    rekey_time = 0
    start_action = none }
"""


def write_swanctl(ss, children, version=2, extra="", auth=None, secrets=None):
    v = {"local": ss.site.wan_address, "remote": ss.peer, "psk": ssw.PSK}
    path = os.path.join(ss.dir, "swanctl.conf")
    with open(path, "w") as f:
        f.write(SWANCTL % {
            "version": version, "local": ss.site.wan_address, "remote": ss.peer,
            "ike": "aes128gcm16-prfsha256-x25519", "extra": extra,
            "auth": auth if auth is not None else ssw.PSK_AUTH % v,
            "secrets": secrets if secrets is not None else ssw.PSK_SECRETS % v,
            "children": "".join(CHILD % {"name": n, "local_ts": l, "remote_ts": r}
                                for n, l, r in children)})
    ss.swanctl(["--load-all", "--clear", "--file", path])


def write_many_connections(ss, pairs):
    """One connection (IKE SA) per (local_ts, remote_ts) pair, t0, t1, ...,
    all started by charon the moment they are loaded."""
    v = {"local": ss.site.wan_address, "remote": ss.peer, "psk": ssw.PSK}
    conns = ""
    for i, (l, r) in enumerate(pairs):
        conns += """t%d {
  version = 2
  local_addrs = %s
  remote_addrs = %s
  proposals = aes128gcm16-prfsha256-x25519
  rekey_time = 0
  # Connections that differ in nothing share one IKE SA in charon; a
  # different DPD interval keeps each on its own.
  dpd_delay = %ds
  %s
  children { c%d { local_ts = %s
    remote_ts = %s
    esp_proposals = aes128gcm16
    rekey_time = 0
    start_action = start } } }
""" % (i, ss.site.wan_address, ss.peer, 30 + i, ssw.PSK_AUTH % v, i, l, r)
    path = os.path.join(ss.dir, "swanctl.conf")
    with open(path, "w") as f:
        f.write("connections { %s }\n%s\n" % (conns, ssw.PSK_SECRETS % v))
    ss.swanctl(["--load-all", "--clear", "--file", path])


def acl_line(seq, src, dst, action="ACL_ACTION_PERMIT", slen=24, dlen=24):
    return {"sequence": seq, "action": action,
            "match": {"source": {"address": src, "length": slen},
                      "destination": {"address": dst, "length": dlen}}}


def config(peer, lines):
    c = ssw.our_config(peer, IKE, "ENCRYPTION_AES_GCM_128")
    c["access_lists"][0]["entries"] = lines
    return c


def add_lo(site, *addresses):
    for a in addresses:
        site.exec(["ip", "addr", "add", a + "/32", "dev", "lo"])


def ping(site, src, dst, count=2):
    return ssw.ping(site, src, dst, count)


def charon_log(site):
    path = os.path.join(site.dir, "charon.log")
    with open(path, errors="replace") as f:
        return f.read()


def metric(text, name, labels):
    m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return float(m.group(1)) if m else 0.0


def clear(ike, ss):
    ike.call("Terminate", {"all": True})
    wait_for(lambda: not ike.call("ListIkeSas", {}).get("ike_sas"), 15, "our SAs cleared")
    wait_for(lambda: "ESTABLISHED" not in ss.sas(), 15, "strongSwan's SAs cleared")


def main():
    if os.geteuid() != 0:
        skip("needs root for network namespaces")
    if not os.access(ssw.CHARON, os.X_OK) or shutil.which("swanctl") is None:
        skip("strongSwan is not installed (scripts/install-deps installs it)")
    lab = vpnlab.Lab("sws%d" % (os.getpid() % 10000))
    v = lab.add_site("v", lan="10.1.0.0/24")
    s = lab.add_site("s", lan="10.2.0.0/24")
    lab.up()
    cleanup = []
    try:
        dprec, ikerec, dp, ike = ssw.start_our_side(lab, v, "10.1.0.0/16", "10.2.0.0/16")
        ss = ssw.Strongswan(lab, s, v.wan_address)
        cleanup.append(ss.stop)
        ss.start()
        s.exec(["ip", "route", "replace", "10.1.0.0/16", "dev", "ipsec0"])
        add_lo(v, "10.1.0.2", "10.1.1.1", "10.1.9.1", *["10.1.%d.1" % (20 + i) for i in range(10)])
        add_lo(s, "10.3.0.1", *["10.2.%d.1" % (20 + i) for i in range(10)])
        scrape = lambda: lab.scrape(v, *ikerec["metrics"])  # noqa: E731

        print("case 1: a two-line ACL; strongSwan brings up both lines and a third, unpermitted pair")
        ike.call("ReplaceConfig", {"config": config(s.wan_address, [
            acl_line(5, "10.1.9.0", "10.2.0.0", "ACL_ACTION_DENY"),
            acl_line(10, "10.1.0.0", "10.2.0.0"),
            acl_line(20, "10.1.1.0", "10.3.0.0")])})
        policies = dp.call("ListPolicies", {}).get("policies", [])
        protect = [p for p in policies if p.get("action") == "POLICY_ACTION_PROTECT"]
        check(len(protect) == 4, "4 PROTECT policies: one per permit line and direction (got %d)"
              % len(protect))
        check(len({p["reqid"] for p in protect}) == 2, "two reqids, one per line")
        pairs = {(p["selector"]["source"]["address"], p["selector"]["destination"]["address"])
                 for p in protect}
        check(("10.1.0.0", "10.3.0.0") not in pairs and ("10.3.0.0", "10.1.0.0") not in pairs,
              "no cross pair in the SPD: %s" % sorted(pairs))
        check(len([p for p in policies if p.get("action") == "POLICY_ACTION_SKIP_ENTRY"]) == 2,
              "the deny line is a skip-entry policy each way")
        write_swanctl(ss, [("c1", "10.2.0.0/24", "10.1.0.0/24"),
                           ("c2", "10.3.0.0/24", "10.1.1.0/24"),
                           ("c3", "10.3.0.0/24", "10.1.0.0/24")])
        for child in ("c1", "c2"):
            r = ss.swanctl(["--initiate", "--child", child, "--timeout", "20"], check=False,
                           timeout=40)
            check(r.returncode == 0, "swanctl --initiate --child %s" % child)
        check(ping(s, "10.2.0.1", "10.1.0.1", 3), "line 10 carries 10.2.0.1 -> 10.1.0.1")
        check(ping(s, "10.3.0.1", "10.1.1.1", 3), "line 20 carries 10.3.0.1 -> 10.1.1.1")
        check(ping(v, "10.1.0.1", "10.2.0.1", 3) and ping(v, "10.1.1.1", "10.3.0.1", 3),
              "and both back from our LAN")
        check(len(ssw.established(ike)) == 1, "one IKE SA")
        kids = ssw.children(ike)
        check(len(kids) == 2, "two CHILD SAs")
        out_sas = [x["sa"] for x in dp.call("ListSas", {}).get("sas", [])
                   if x["sa"]["direction"] == "DIRECTION_OUTBOUND"]
        check(len({x["reqid"] for x in out_sas}) == 2, "each outbound SA has its own reqid")
        for x in out_sas:
            counters = [k for k in kids if k["outbound_spi"] == x["key"]["spi"]]
            check(counters and int(counters[0].get("counters", {}).get("pkts_encaps", 0)) >= 3,
                  "SPI %08x carried traffic" % x["key"]["spi"])
        r = ss.swanctl(["--initiate", "--child", "c3", "--timeout", "20"], check=False, timeout=40)
        check(r.returncode != 0, "the unpermitted pair failed at strongSwan")
        check("received TS_UNACCEPTABLE notify" in charon_log(s),
              "strongSwan was told TS_UNACCEPTABLE")
        check(metric(scrape(), "vpnfleet_ike_negotiations_failed_total",
                     '{reason="CHILD_SA TS_UNACCEPTABLE"}') == 1, "we counted TS_UNACCEPTABLE")
        check(len(ssw.children(ike)) == 2, "still two CHILD SAs")
        # 10.1.9.1 -> 10.2.0.1 is denied by line 5: it leaves in clear, not
        # through an SA, and strongSwan (which would want ESP) never sees it
        # on a CHILD SA.
        before = sum(int(k.get("counters", {}).get("pkts_encaps", 0)) for k in ssw.children(ike))
        ping(v, "10.1.9.1", "10.2.0.1", 2)
        after = sum(int(k.get("counters", {}).get("pkts_encaps", 0)) for k in ssw.children(ike))
        check(after == before, "the denied host pair was not encapsulated (%d -> %d)" % (before, after))
        clear(ike, ss)

        print("case 2: we initiate both lines on traffic")
        write_swanctl(ss, [("c1", "10.2.0.0/24", "10.1.0.0/24"),
                           ("c2", "10.3.0.0/24", "10.1.1.0/24")])
        wait_for(lambda: ping(v, "10.1.1.1", "10.3.0.1", 2), 30, "line 20 up on its acquire")
        wait_for(lambda: ping(v, "10.1.0.1", "10.2.0.1", 2), 30, "line 10 up on its acquire")
        check(len(ssw.established(ike)) == 1 and len(ssw.children(ike)) == 2,
              "one IKE SA, two CHILD SAs")
        check(ss.sas().count("INSTALLED") == 2, "strongSwan installed both")
        clear(ike, ss)

        print("case 2b: `set security-association level per-host`: one CHILD SA per host pair")
        c = config(s.wan_address, [acl_line(10, "10.1.0.0", "10.2.0.0")])
        c["crypto_maps"][0]["entries"][0]["per_host"] = True
        ike.call("ReplaceConfig", {"config": c})
        write_swanctl(ss, [("c1", "10.2.0.0/24", "10.1.0.0/24")])
        wait_for(lambda: ping(v, "10.1.0.1", "10.2.0.1", 2), 30, "10.1.0.1 -> 10.2.0.1")
        wait_for(lambda: ping(v, "10.1.0.2", "10.2.0.1", 2), 30, "10.1.0.2 -> 10.2.0.1")
        kids = ssw.children(ike)
        pairs = sorted((k["local_ident"]["source"]["address"], k["local_ident"]["source"]["length"],
                        k["remote_ident"]["source"]["address"], k["remote_ident"]["source"]["length"])
                       for k in kids)
        check(pairs == [("10.1.0.1", 32, "10.2.0.1", 32), ("10.1.0.2", 32, "10.2.0.1", 32)],
              "two CHILD SAs, one per host pair: %s" % pairs)
        check(len(ssw.established(ike)) == 1, "under one IKE SA")
        check(ss.sas().count("INSTALLED") == 2, "strongSwan installed both")
        check(ping(v, "10.1.0.1", "10.2.0.1", 3) and ping(v, "10.1.0.2", "10.2.0.1", 3),
              "both host pairs keep working")
        clear(ike, ss)

        print("case 3: ten selector pairs under one crypto map entry")
        ike.call("ReplaceConfig", {"config": config(s.wan_address, [
            acl_line(10 * (i + 1), "10.1.%d.0" % (20 + i), "10.2.%d.0" % (20 + i))
            for i in range(10)])})
        write_swanctl(ss, [("p%d" % i, "10.2.%d.0/24" % (20 + i), "10.1.%d.0/24" % (20 + i))
                           for i in range(10)])
        ike.call("Initiate", {"crypto_map": "VPN", "sequence": 10})
        wait_for(lambda: len(ssw.children(ike)) == 10, 30, "ten CHILD SAs")
        check(len(ssw.established(ike)) == 1, "under one IKE SA")
        wait_for(lambda: ss.sas().count("INSTALLED") == 10, 10, "strongSwan installed ten")
        for i in range(10):
            check(ping(v, "10.1.%d.1" % (20 + i), "10.2.%d.1" % (20 + i), 2) and
                  ping(s, "10.2.%d.1" % (20 + i), "10.1.%d.1" % (20 + i), 2),
                  "pair %d carries pings both ways" % i)
        clear(ike, ss)

        print("case 3b: five IKE SAs started at once (INITIAL_CONTACT in those charon sends it)")
        log_start = len(charon_log(s))
        write_many_connections(ss, [("10.2.%d.0/24" % (20 + i), "10.1.%d.0/24" % (20 + i))
                                    for i in range(5)])
        wait_for(lambda: ss.sas().count("ESTABLISHED") == 5, 30,
                 "strongSwan established all five IKE SAs")
        contacts = charon_log(s)[log_start:].count("N(INIT_CONTACT)")
        print("  strongSwan sent INITIAL_CONTACT in %d of its five IKE_AUTHs" % contacts)
        wait_for(lambda: len(ssw.established(ike)) == 5, 10, "we keep all five IKE SAs")
        check(len(ssw.children(ike)) == 5, "and their five CHILD SAs")
        for i in range(5):
            check(ping(s, "10.2.%d.1" % (20 + i), "10.1.%d.1" % (20 + i), 2),
                  "IKE SA %d carries pings" % i)
        if contacts >= 2:
            with open(os.path.join(v.dir, "ike.log")) as f:
                check('"concurrent_sas_kept"' in f.read(),
                      "INITIAL_CONTACT logged with the SAs it kept")
        clear(ike, ss)

        print("case 4: a five-level RSA-4096 chain makes strongSwan's IKE_AUTH larger than 5 KB")
        pki = os.path.join(v.dir, "big-ca")
        os.makedirs(pki)
        test_pki.root(pki, "root", "rsa4096", "/O=vpnfleet lab/CN=Big root")
        test_pki.issue(pki, "int1", "rsa4096", "/O=vpnfleet lab/CN=Big issuing CA 1", "root", ca=True)
        test_pki.issue(pki, "int2", "rsa4096", "/O=vpnfleet lab/CN=Big issuing CA 2", "int1", ca=True)
        test_pki.issue(pki, "int3", "rsa4096", "/O=vpnfleet lab/CN=Big issuing CA 3", "int2", ca=True)
        test_pki.issue(pki, "s-big", "rsa4096", "/O=vpnfleet lab/CN=site-s", "int3",
                       san="IP:%s" % s.wan_address)
        test_pki.issue(pki, "v-big", "rsa4096", "/O=vpnfleet lab/CN=site-v", "int3",
                       san="IP:%s" % v.wan_address)
        # Our chain is as long: our IKE_AUTH answer is over 5 KB too.
        test_pki.install_trustpoint(os.path.join(v.dir, "ike-pki"), "LABCA", pki, "root", "v-big",
                                    chain=["int3", "int2", "int1"])
        x509ca = os.path.join(ss.dir, "x509ca")
        os.makedirs(x509ca, exist_ok=True)
        for ca in ("int1", "int2", "int3", "root"):
            shutil.copy(os.path.join(pki, ca + ".pem"), x509ca)
        private = os.path.join(ss.dir, "private")
        os.makedirs(private, exist_ok=True)
        shutil.copy(os.path.join(pki, "s-big.key"), private)
        c = ssw.cert_config(s.wan_address, IKE, "ENCRYPTION_AES_GCM_128", "AUTH_METHOD_RSA_SIG",
                            "ISAKMP_IDENTITY_ADDRESS")
        ike.call("ReplaceConfig", {"config": c})
        big_auth = ssw.CERT_AUTH % {
            "cert": os.path.join(pki, "s-big.pem"), "cacert": os.path.join(pki, "root.pem"),
            "local_id": "id = " + s.wan_address}
        outgoing = r"sending packet: from %s\[4500\] to %s\[4500\] \((\d+) bytes\)" % (
            re.escape(s.wan_address), re.escape(v.wan_address))
        incoming = r"received packet: from %s\[4500\] to %s\[4500\] \((\d+) bytes\)" % (
            re.escape(v.wan_address), re.escape(s.wan_address))

        def big_chain_setup(extra=""):
            """strongSwan initiates with the big chain; returns its log of the
            attempt and the sizes of the IKE datagrams each way."""
            log_start = len(charon_log(s))
            write_swanctl(ss, [("c", "10.2.0.0/24", "10.1.0.0/24")], secrets="", auth=big_auth,
                          extra=extra)
            r = ss.swanctl(["--initiate", "--child", "c", "--timeout", "20"], check=False,
                           timeout=40)
            check(r.returncode == 0, "swanctl --initiate with the big chains succeeded")
            log = charon_log(s)[log_start:]
            return (log, [int(n) for n in re.findall(outgoing, log)],
                    [int(n) for n in re.findall(incoming, log)])

        def big_chain_works():
            sa = ssw.established(ike)
            check(sa and sa[0].get("remote_certificate_subject") == "CN=site-s,O=vpnfleet lab",
                  "we verified strongSwan's chain")
            check(ping(s, "10.2.0.1", "10.1.0.1", 3), "pings through the tunnel")
            clear(ike, ss)

        print("case 4a: without IKEv2 fragmentation (strongSwan's fragmentation = no): IP fragments")
        log, sent, got = big_chain_setup("fragmentation = no")
        check(sent and max(sent) > 5000, "strongSwan sent a %d-byte IKE_AUTH" % max(sent or [0]))
        check(got and max(got) > 5000, "and received our %d-byte answer" % max(got or [0]))
        big_chain_works()

        print("case 4b: with IKEv2 fragmentation (RFC 7383) on both sides")
        log, sent, got = big_chain_setup()
        check(re.search(r"splitting IKE message \(\d+ bytes\) into \d+ fragments", log),
              "strongSwan sent its IKE_AUTH in fragments")
        check(re.search(r"reassembled fragmented IKE message \(\d+ bytes\)", log),
              "and reassembled ours")
        check(max(sent + got) <= 1280 - 28,
              "no datagram above 1,280 octets either way (largest %d)" % max(sent + got))
        big_chain_works()

        print("case 5: strongSwan asks for a virtual IP")
        ike.call("ReplaceConfig", {"config": config(s.wan_address, [
            acl_line(10, "10.1.0.0", "10.2.0.0")])})
        write_swanctl(ss, [("c", "dynamic", "10.1.0.0/24")], extra="vips = 0.0.0.0")
        ss.swanctl(["--initiate", "--child", "c", "--timeout", "15"], check=False, timeout=40)
        check("received INTERNAL_ADDRESS_FAILURE notify" in charon_log(s),
              "strongSwan was told INTERNAL_ADDRESS_FAILURE")
        check(metric(scrape(), "vpnfleet_ike_negotiations_failed_total",
                     '{reason="CHILD_SA INTERNAL_ADDRESS_FAILURE"}') == 1, "we counted it")
        with open(os.path.join(v.dir, "ike.log")) as f:
            check("virtual IP" in f.read(), "and logged why")
        check(not ssw.children(ike), "no CHILD SA")
        ike.call("Terminate", {"all": True})
        ss.swanctl(["--terminate", "--ike", "t"], check=False)
        time.sleep(1)

        print("case 6: strongSwan speaks IKEv1")
        write_swanctl(ss, [("c", "10.2.0.0/24", "10.1.0.0/24")], version=1)
        start = time.time()
        r = ss.swanctl(["--initiate", "--child", "c", "--timeout", "30"], check=False, timeout=60)
        took = time.time() - start
        check(r.returncode != 0, "the IKEv1 attempt failed")
        check(took < 10, "at once (%.1f s), not after retransmits" % took)
        check("received NO_PROPOSAL_CHOSEN error notify" in charon_log(s),
              "strongSwan was told NO_PROPOSAL_CHOSEN")
        check(metric(scrape(), "vpnfleet_ike_messages_refused_total",
                     '{reason="IKEV1_NOT_CONFIGURED"}') >= 1, "we counted IKEV1_NOT_CONFIGURED")
        ss.stop()
        dp.close()
        ike.close()
        print("PASS")
        return 0
    except Fail as e:
        print("FAIL:", e)
        vpnlab.print_log_tails((v, s), ("ike", "dataplane", "charon"))
        return 1
    finally:
        lab.down()
        for fn in cleanup:
            fn()


if __name__ == "__main__":
    sys.exit(main())
