#!/usr/bin/python3
"""Dataplane end to end: two sites, manually keyed SAs, real packets.

Like the seed's `crypto map ... ipsec-manual` with `set session-key`: the
test installs the SAs and SPD policies of two sites over the dataplane API
(the Unix socket the IKE daemon uses), then sends traffic between the LAN
hosts of the sites through the two forwarders and looks at the WAN:

  host-a (10.1.0.2) -- lan0 [site a: vf0 <-> vpnfleet-dataplane] wan0 --+
                                                                      WAN bridge
  host-b (10.2.0.2) -- lan0 [site b: vf0 <-> vpnfleet-dataplane] wan0 --+

The set-up (sites, routes, SAs, policies) is tests/lab/manual_tunnel.py.
"""

import base64
import json
import os
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))
from manual_tunnel import policy, sa  # noqa: E402

LAB = "dp%d" % (os.getpid() % 100000)


def scapy_in(ns, code):
    """Runs a Scapy snippet in a namespace (Debian's python3-scapy)."""
    return subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c",
                           "from scapy.all import *\nconf.verb=0\n" + code],
                          capture_output=True, text=True, timeout=60)


class Capture:
    """tcpdump on the WAN port of a site, read back with Scapy."""

    def __init__(self, lab, port, path):
        self.path = path
        self.proc = subprocess.Popen(["ip", "netns", "exec", lab.wan_ns, "tcpdump", "-n", "-U",
                                      "--immediate-mode", "-i", port, "-w", path], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(1.0)

    def stop(self):
        time.sleep(0.5)
        self.proc.terminate()
        self.proc.wait(timeout=10)
        from scapy.all import rdpcap  # noqa: E402
        return rdpcap(self.path)


class DataplaneEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import manual_tunnel  # noqa: E402  (needs python3-grpcio)
        # Site b runs two workers, so SAs owned by the other worker are
        # handed over between threads under real traffic.
        cls.lab, cls.dp = manual_tunnel.build(LAB, site_args={"b": ["--workers=2"]})
        cls.a, cls.b = cls.lab.site("a"), cls.lab.site("b")

    @classmethod
    def tearDownClass(cls):
        for k, v in list(cls.dp.items()):
            if "/" not in k:
                v.close()
        cls.lab.down()

    def counters(self, site, spi, dst):
        r = self.dp[site].call("GetSaCounters", {"key": {
            "spi": spi, "destination": dst, "protocol": "IPSEC_PROTOCOL_ESP"}})
        return r["entries"][0]["counters"]

    def ping(self, site, target, count=3, extra=()):
        return site.host_exec(["ping", "-n", "-c", str(count), "-i", "0.2", "-W", "2"] +
                              list(extra) + [target], check=False)

    def drops(self, site_name):
        rec = self.dp[site_name + "/rec"]
        text = self.lab.scrape(self.lab.site(site_name), *rec["metrics"])
        out = {}
        for line in text.splitlines():
            if line.startswith("vpnfleet_dataplane_drops_total{"):
                reason = line.split('reason="')[1].split('"')[0]
                out[reason] = float(line.rsplit(" ", 1)[1])
        return out

    def test_1_ping_and_tcp_cross_the_tunnel_and_the_wan_sees_only_esp(self):
        cap = Capture(self.lab, "s1", os.path.join(self.lab.dir, "wan-a.pcap"))
        r = self.ping(self.a, self.b.host_address, count=5,
                      extra=["-p", "c0ffee00c0ffee00", "-Q", "0xb8"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        server = self.lab.spawn(self.b, "iperf3-server", ["iperf3", "-s", "-1", "-p", "5201"],
                                on_host=True)
        time.sleep(0.5)
        r = self.a.host_exec(["iperf3", "-c", self.b.host_address, "-t", "3", "-J"],
                             check=False, timeout=60)
        self.lab.stop(server)
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr)
        result = json.loads(r.stdout)
        mbps = result["end"]["sum_received"]["bits_per_second"] / 1e6
        print("\niperf3 through the tunnel: %.1f Mbit/s" % mbps)
        self.assertGreater(mbps, 1.0)
        packets = cap.stop()

        from scapy.all import ESP, ICMP, IP, TCP  # noqa: E402
        esp = [p for p in packets if p.haslayer(ESP)]
        self.assertGreater(len(esp), 100)
        for p in packets:
            if not p.haslayer(IP):
                continue
            ip = p[IP]
            # No inner address, no inner payload, no TCP/ICMP between the LANs.
            self.assertFalse(ip.src.startswith("10.") or ip.dst.startswith("10."), p.summary())
            self.assertNotIn(b"\xc0\xff\xee\x00\xc0\xff\xee\x00", bytes(p))
            if p.haslayer(ESP):
                self.assertEqual({ip.src, ip.dst}, {self.a.wan_address, self.b.wan_address})
        # DSCP EF of the pings is copied to the outer header.
        self.assertTrue(any(p[IP].tos == 0xb8 for p in esp))

        out = self.counters("a", 0x1001, self.b.wan_address)
        self.assertGreaterEqual(int(out.get("pkts_encaps", 0)), 5)
        inb = self.counters("b", 0x1001, self.b.wan_address)
        # Every packet A sent is accounted for at B: decapsulated, or dropped
        # and counted when the worker that owns the SA had a full queue (the
        # sender outruns one core at ~1.3 Gbit/s here; VPP drops the same
        # way). B's handoff drops also count its own outbound ACKs, hence a
        # bound rather than a sum.
        decaps, encaps = int(inb.get("pkts_decaps", 0)), int(out.get("pkts_encaps", 0))
        handoff_full = int(self.drops("b").get("handoff_full", 0))
        self.assertLessEqual(decaps, encaps)
        self.assertLessEqual(encaps, decaps + handoff_full,
                             "%d encapsulated, %d decapsulated, %d handoff drops"
                             % (encaps, decaps, handoff_full))
        self.assertEqual(int(inb.get("pkts_verify", 0)), int(inb["pkts_decaps"]))
        ifs = self.dp["a"].call("ListInterfaces", {})["interfaces"]
        self.assertEqual([i["name"] for i in ifs][0], "vf0")
        self.assertGreater(int(ifs[0]["rx_packets"]), 5)

    def test_2_cleartext_for_a_protected_flow_is_dropped(self):
        before = self.drops("a").get("clear_on_protected", 0)
        wan = self.lab.wan_ns
        subprocess.run(["ip", "netns", "exec", wan, "ip", "route", "replace", "10.1.0.0/24",
                        "via", self.a.wan_address], check=True)
        sniff = subprocess.Popen(["ip", "netns", "exec", self.a.host_ns, "timeout", "6",
                                  "tcpdump", "-n", "--immediate-mode", "-c", "1", "-i", "eth0", "udp port 9999"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        time.sleep(1.0)
        r = scapy_in(wan, "send(IP(src='10.2.0.2', dst='10.1.0.2')/UDP(dport=9999)/"
                          "Raw(b'CLEARTEXT'), count=3)")
        self.assertEqual(r.returncode, 0, r.stderr)
        out, _ = sniff.communicate(timeout=15)
        self.assertEqual(out.strip(), "", "cleartext reached the LAN host")
        self.assertGreaterEqual(self.drops("a").get("clear_on_protected", 0) - before, 3)
        # Traffic no crypto ACL covers still passes in clear.
        r = scapy_in(wan, "r = sr1(IP(src='198.51.100.254', dst='10.1.0.2')/ICMP(), timeout=3)\n"
                          "print('reply' if r else 'none')")
        self.assertIn("reply", r.stdout, r.stderr)

    def test_3_unknown_spi_and_acquire_events(self):
        events = []
        stream = self.dp["a"].watch_events(timeout=8)

        def reader():
            try:
                for e in stream:
                    events.append(self.dp["a"].to_dict(e))
            except Exception:  # the deadline ends the stream
                pass
        t = threading.Thread(target=reader)
        t.start()
        time.sleep(0.5)
        r = scapy_in(self.lab.wan_ns, "send(IP(src='198.51.100.2', dst='%s', proto=50)/"
                     "Raw(b'\\x00\\x00\\xbe\\xef' + b'\\x00\\x00\\x00\\x01' + b'x' * 40))"
                     % self.a.wan_address)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.dp["a"].call("AddPolicy", {"policy": policy(
            "DIRECTION_OUTBOUND", "10.1.0.0", "10.3.0.0", self.a.wan_address, "198.51.100.9",
            reqid=9)})
        self.ping(self.a, "10.3.0.5", count=2)
        t.join()
        unknown = [e["unknown_spi"] for e in events if "unknown_spi" in e]
        self.assertTrue(unknown, events)
        self.assertEqual(unknown[0]["spi"], 0xbeef)
        self.assertEqual(unknown[0]["source"], "198.51.100.2")
        acquire = [e["acquire"] for e in events if "acquire" in e]
        self.assertTrue(acquire, events)
        self.assertEqual(acquire[0]["reqid"], 9)
        self.assertEqual(acquire[0]["flow"]["destination"]["address"], "10.3.0.5")

    def test_4_lifetimes_expire_and_traffic_moves_to_the_remaining_sa(self):
        A, B = self.a.wan_address, self.b.wan_address
        a, b = self.dp["a"], self.dp["b"]
        # A newer outbound SA for the same reqid carries the traffic; it
        # soft-expires after 2 s and is gone after 4 s.
        b.call("AddSa", {"sa": sa(0x1002, "DIRECTION_INBOUND", A, B, "10.1.0.0", "10.2.0.0")})
        a.call("AddSa", {"sa": sa(0x1002, "DIRECTION_OUTBOUND", A, B, "10.1.0.0", "10.2.0.0",
                                  soft_lifetime={"seconds": 2}, hard_lifetime={"seconds": 4})})
        events = []
        stream = a.watch_events(timeout=6)
        t = threading.Thread(target=lambda: [events.append(a.to_dict(e)) for e in
                                             _quiet(stream)])
        t.start()
        self.assertEqual(self.ping(self.a, self.b.host_address, count=2).returncode, 0)
        self.assertGreaterEqual(int(self.counters("a", 0x1002, B).get("pkts_encaps", 0)), 2)
        t.join()
        expires = [e["expire"] for e in events if "expire" in e]
        self.assertEqual([x.get("hard", False) for x in expires], [False, True], events)
        self.assertEqual(expires[0]["reason"], "REASON_SECONDS")
        sas = a.call("ListSas", {}).get("sas", [])
        self.assertNotIn(0x1002, [s["sa"]["key"]["spi"] for s in sas])
        before = int(self.counters("a", 0x1001, B).get("pkts_encaps", 0))
        self.assertEqual(self.ping(self.a, self.b.host_address, count=2).returncode, 0)
        self.assertGreater(int(self.counters("a", 0x1001, B).get("pkts_encaps", 0)), before)

        # Kilobytes: a 16 KB hard limit ends the SA after about 16 pings of 1000 bytes.
        b.call("AddSa", {"sa": sa(0x1003, "DIRECTION_INBOUND", A, B, "10.1.0.0", "10.2.0.0")})
        a.call("AddSa", {"sa": sa(0x1003, "DIRECTION_OUTBOUND", A, B, "10.1.0.0", "10.2.0.0",
                                  hard_lifetime={"kilobytes": 16})})
        self.ping(self.a, self.b.host_address, count=25, extra=["-s", "1000"])
        time.sleep(0.5)
        sas = a.call("ListSas", {}).get("sas", [])
        self.assertNotIn(0x1003, [s["sa"]["key"]["spi"] for s in sas])

    def test_5_esp_ah_bundle_on_the_wire(self):
        A, B = self.a.wan_address, self.b.wan_address
        akey = base64.b64encode(b"AH-key-0123456789abcdef-01234567").decode()

        def ah(spi, direction, src, dst, sel_src, sel_dst):
            d = sa(spi, direction, src, dst, sel_src, sel_dst, integrity="INTEGRITY_HMAC_SHA2_256_128",
                   integrity_key=akey)
            d["key"]["protocol"] = "IPSEC_PROTOCOL_AH"
            del d["encryption"], d["encryption_key"]
            return d
        # Receivers first, so no packet arrives wrapped in AH before its SA.
        installed = (("b", 0x1005, "DIRECTION_INBOUND", A, B, "10.1.0.0", "10.2.0.0"),
                     ("a", 0x2005, "DIRECTION_INBOUND", B, A, "10.2.0.0", "10.1.0.0"),
                     ("a", 0x1005, "DIRECTION_OUTBOUND", A, B, "10.1.0.0", "10.2.0.0"),
                     ("b", 0x2005, "DIRECTION_OUTBOUND", B, A, "10.2.0.0", "10.1.0.0"))
        for site, spi, direction, src, dst, ss, sd in installed:
            self.dp[site].call("AddSa", {"sa": ah(spi, direction, src, dst, ss, sd)})
        try:
            cap = Capture(self.lab, "s1", os.path.join(self.lab.dir, "wan-a-ah.pcap"))
            r = self.ping(self.a, self.b.host_address, count=3, extra=["-p", "c0ffee00c0ffee00"])
            packets = cap.stop()
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            from scapy.all import AH, ESP, IP  # noqa: E402
            ahs = [p for p in packets if p.haslayer(AH)]
            self.assertGreaterEqual(len(ahs), 6, [p.summary() for p in packets])
            for p in ahs:
                self.assertEqual(p[AH].nh, 50)  # ESP inside AH: the bundle
                self.assertEqual({p[IP].src, p[IP].dst}, {A, B})
                self.assertNotIn(b"\xc0\xff\xee\x00\xc0\xff\xee\x00", bytes(p))
            self.assertFalse([p for p in packets if p.haslayer(ESP) and not p.haslayer(AH)])
            r = self.dp["b"].call("GetSaCounters", {"key": {
                "spi": 0x1005, "destination": B, "protocol": "IPSEC_PROTOCOL_AH"}})
            c = r["entries"][0]["counters"]
            self.assertGreaterEqual(int(c.get("pkts_verify", 0)), 3)
            self.assertEqual(int(c.get("pkts_decrypt", 0)), 0)  # AH only authenticates
        finally:
            for site, spi, _, _, dst, _, _ in installed:
                self.dp[site].call("DeleteSa", {"key": {
                    "spi": spi, "destination": dst, "protocol": "IPSEC_PROTOCOL_AH"}})
        # Without the AH SAs, plain ESP again.
        self.assertEqual(self.ping(self.a, self.b.host_address, count=2).returncode, 0)

    def test_6_nat_t_udp_encapsulation(self):
        A, B = self.a.wan_address, self.b.wan_address
        encap = {"udp_encapsulation": {"source_port": 4500, "destination_port": 4500}}
        for site, spi, direction, src, dst, ss, sd in (
                ("a", 0x1001, "DIRECTION_OUTBOUND", A, B, "10.1.0.0", "10.2.0.0"),
                ("a", 0x2001, "DIRECTION_INBOUND", B, A, "10.2.0.0", "10.1.0.0"),
                ("b", 0x2001, "DIRECTION_OUTBOUND", B, A, "10.2.0.0", "10.1.0.0"),
                ("b", 0x1001, "DIRECTION_INBOUND", A, B, "10.1.0.0", "10.2.0.0")):
            update = sa(spi, direction, src, dst, ss, sd, **encap)
            del update["encryption_key"]
            self.dp[site].call("UpdateSa", {"sa": update})
        cap = Capture(self.lab, "s1", os.path.join(self.lab.dir, "wan-a-natt.pcap"))
        r = self.ping(self.a, self.b.host_address, count=3)
        packets = cap.stop()
        self.assertEqual(r.returncode, 0, r.stdout)
        from scapy.all import ESP, UDP  # noqa: E402
        udp = [p for p in packets if p.haslayer(UDP) and p[UDP].dport == 4500]
        self.assertGreaterEqual(len(udp), 6, [p.summary() for p in packets])  # 3 requests, 3 replies
        self.assertFalse([p for p in packets if p.haslayer(ESP) and not p.haslayer(UDP)])


def _quiet(stream):
    try:
        for e in stream:
            yield e
    except Exception:
        return


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIP: needs root for network namespaces")
        sys.exit(77)
    try:
        import grpc  # noqa: F401
    except ImportError:
        print("SKIP: python3-grpcio is not installed (scripts/install-deps)")
        sys.exit(77)
    unittest.main(verbosity=2)
