#!/usr/bin/python3
"""Dataplane offloads end to end: TUN TSO/coalescing and UDP GSO/GRO.

Two sites with manually keyed SAs carried in UDP/4500 (tests/lab/
manual_tunnel.py); site b runs two workers, so segments of one flow meet
the hand-over between workers. What is checked is what a user of the
tunnel sees, not our own counters alone:

- TCP and UDP cross the tunnel with offloads on; the receiving hosts'
  kernels count no checksum errors (nstat), so every segment we cut and
  every super-packet we coalesced carried right checksums;
- on a WAN port that cannot segment (GSO off with ethtool), every ESP
  datagram the kernel puts on the wire fits the WAN MTU, and each carries
  the SA's SPI;
- every ESP packet site a encrypted is decrypted at site b or counted as a
  drop somewhere: by b's forwarder (including its socket's receive-buffer
  overflows) or by the kernel's veth/bridge on the way;
- with --notun_offload --noudp_offload the same traffic passes packet by
  packet and no offload counter moves.
"""

import json
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))

WAN_MTU = 1500


def metrics(lab, dp, site_name):
    rec = dp[site_name + "/rec"]
    text = lab.scrape(lab.site(site_name), *rec["metrics"])
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        name, value = line.rsplit(" ", 1)
        out[name] = float(value)
    return out


def offload_counters(m):
    return {k: v for k, v in m.items() if k.startswith("vpnfleet_dataplane_offload_packets_total")}


def drops(m):
    return {k.split('reason="')[1].split('"')[0]: v for k, v in m.items()
            if k.startswith("vpnfleet_dataplane_drops_total{")}


def link_drops(ns, ifname):
    """rx_dropped + tx_dropped of an interface (what veth and bridge lose)."""
    r = subprocess.run(["ip", "-n", ns, "-s", "-j", "link", "show", ifname],
                       capture_output=True, text=True, check=True)
    st = json.loads(r.stdout)[0]["stats64"]
    return st["rx"]["dropped"] + st["tx"]["dropped"]


def nstat(site, counters):
    r = site.host_exec(["nstat", "-az"] + counters, check=False)
    out = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in counters:
            out[parts[0]] = int(parts[1])
    return out


def iperf(lab, a, b, args, seconds):
    srv = lab.spawn(b, "iperf3-%d" % time.time_ns(), ["iperf3", "-s", "-1", "-B", b.host_address],
                    on_host=True)
    time.sleep(0.5)
    length = [] if "-n" in args else ["-t", str(seconds)]
    r = a.host_exec(["iperf3", "-c", b.host_address, "-J"] + length + args,
                    check=False, timeout=seconds + 60)
    lab.stop(srv)
    if r.returncode != 0:
        raise AssertionError("iperf3 failed: " + r.stdout[-800:] + r.stderr)
    return json.loads(r.stdout)["end"]


class OffloadsOn(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import manual_tunnel  # noqa: E402  (needs python3-grpcio)
        cls.lab, cls.dp = manual_tunnel.build("do%d" % (os.getpid() % 100000), udp=True,
                                              site_args={"b": ["--workers=2"]})
        cls.a, cls.b = cls.lab.site("a"), cls.lab.site("b")

    @classmethod
    def tearDownClass(cls):
        for k, v in list(cls.dp.items()):
            if "/" not in k:
                v.close()
        cls.lab.down()

    def sa_counter(self, site, spi, dst, name):
        r = self.dp[site].call("GetSaCounters", {"key": {
            "spi": spi, "destination": dst, "protocol": "IPSEC_PROTOCOL_ESP"}})
        return int(r["entries"][0]["counters"].get(name, 0))

    def tun_drops(self):
        total = 0
        for s in ("a", "b"):
            m = metrics(self.lab, self.dp, s)
            total += sum(v for k, v in m.items()
                         if k.startswith("vpnfleet_dataplane_kernel_drops_total{"))
        return int(total)

    def kernel_path_drops(self):
        return (link_drops(self.a.ns, "wan0") + link_drops(self.b.ns, "wan0") +
                sum(link_drops(self.lab.wan_ns, p) for p in ("s1", "s2")))

    def test_1_tcp_and_udp_cross_with_right_checksums_and_every_packet_is_accounted_for(self):
        B = self.b.wan_address
        before_csum = nstat(self.b, ["TcpInCsumErrors", "UdpInCsumErrors"])
        encaps0 = self.sa_counter("a", 0x1001, B, "pkts_encaps")
        decaps0 = self.sa_counter("b", 0x1001, B, "pkts_decaps")
        drops0 = drops(metrics(self.lab, self.dp, "b"))
        path0 = self.kernel_path_drops()

        tcp = iperf(self.lab, self.a, self.b, [], 3)
        gbps = tcp["sum_received"]["bits_per_second"] / 1e9
        rtx = tcp["sum_sent"].get("retransmits", 0)
        rcvbuf0 = nstat(self.b, ["UdpRcvbufErrors"]).get("UdpRcvbufErrors", 0)
        tun0 = self.tun_drops()
        udp = iperf(self.lab, self.a, self.b, ["-u", "-b", "400M", "-l", "1300"], 2)
        lost = udp["sum"].get("lost_packets", 0)
        # A UDP datagram iperf3 misses was lost by its own socket at host b
        # (a slow reader), or on the way: counted by the TUN devices' kernel
        # side, or by the forwarders (below).
        rcvbuf = nstat(self.b, ["UdpRcvbufErrors"]).get("UdpRcvbufErrors", 0) - rcvbuf0
        tun = self.tun_drops() - tun0
        print("\nTCP %.2f Gbit/s (%d retransmits); UDP at 400 Mbit/s: %d of %d lost, %d by "
              "iperf3's socket at host b, %d on the TUN devices"
              % (gbps, rtx, lost, udp["sum"].get("packets", 0), rcvbuf, tun))
        self.assertGreater(gbps, 0.05)
        self.assertGreater(udp["sum"].get("packets", 0), 10000)
        self.assertLess(lost, udp["sum"]["packets"] * 0.05)

        ma, mb = metrics(self.lab, self.dp, "a"), metrics(self.lab, self.dp, "b")
        oa, ob = offload_counters(ma), offload_counters(mb)
        print("site a:", oa, "\nsite b:", ob)
        self.assertGreater(oa['vpnfleet_dataplane_offload_packets_total{interface="tun",kind="gso_rx"}'], 0,
                           "the TUN handed site a super-packets")
        self.assertGreater(oa['vpnfleet_dataplane_offload_packets_total{interface="udp_encap",kind="gso_tx"}'], 0)
        self.assertGreater(ob['vpnfleet_dataplane_offload_packets_total{interface="udp_encap",kind="gro_rx"}'], 0)
        self.assertGreater(ob['vpnfleet_dataplane_offload_packets_total{interface="tun",kind="gro_tx"}'], 0,
                           "site b wrote coalesced TCP to its TUN")

        after_csum = nstat(self.b, ["TcpInCsumErrors", "UdpInCsumErrors"])
        for k in after_csum:
            self.assertEqual(after_csum[k], before_csum.get(k, 0), k + " at host b")

        # Every packet encrypted at a: decrypted at b, or counted as lost.
        encaps = self.sa_counter("a", 0x1001, B, "pkts_encaps") - encaps0
        decaps = self.sa_counter("b", 0x1001, B, "pkts_decaps") - decaps0
        db = drops(mb)
        counted = sum(db.get(r, 0) - drops0.get(r, 0) for r in
                      ("socket_overflow", "handoff_full", "sa_drop", "unknown_spi", "oversize",
                       "not_esp"))
        path = self.kernel_path_drops() - path0
        print("encapsulated %d, decapsulated %d, counted drops at b %d (%s), veth/bridge drops %d"
              % (encaps, decaps, counted, {r: v - drops0.get(r, 0) for r, v in db.items()
                                           if v != drops0.get(r, 0)}, path))
        self.assertGreater(encaps, 1000)
        self.assertLessEqual(decaps, encaps)
        self.assertGreaterEqual(decaps + counted + path, encaps,
                                "packets lost without a counter saying where")
        self.assertLessEqual(lost, rcvbuf + tun + counted + path,
                             "UDP lost without a counter saying where")

    def test_2_on_a_wan_that_cannot_segment_every_esp_datagram_fits_the_mtu(self):
        self.a.exec(["ethtool", "-K", "wan0", "gso", "off", "tx-udp-segmentation", "off"])
        path = os.path.join(self.lab.dir, "wan-a-gso.pcap")
        try:
            # Headers only, a large capture buffer: no packet is lost to
            # tcpdump itself.
            cap = subprocess.Popen(["ip", "netns", "exec", self.lab.wan_ns, "tcpdump", "-n", "-U",
                                    "-B", "32768", "-s", "96", "-i", "s1", "-w", path,
                                    "src host " + self.a.wan_address],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
            time.sleep(1.0)
            end = iperf(self.lab, self.a, self.b, ["-n", "4M"], 10)
            time.sleep(0.5)
            cap.terminate()
            tcpdump_said = cap.communicate(timeout=10)[1]
        finally:
            self.a.exec(["ethtool", "-K", "wan0", "gso", "on", "tx-udp-segmentation", "on"])
        self.assertGreater(end["sum_received"]["bytes"], 0)
        from scapy.all import IP, UDP, rdpcap  # noqa: E402
        packets = rdpcap(path)
        ip = [p for p in packets if p.haslayer(IP)]
        fragments = [p for p in ip if p[IP].flags.MF or p[IP].frag]
        esp = [p for p in ip if p.haslayer(UDP) and p[UDP].dport == 4500]
        sizes = sorted(p[IP].len for p in esp)
        print("\n%d IP packets from a: %d ESP in UDP, IP sizes %d..%d, %d fragments; %d bytes"
              " of TCP; tcpdump: %s" % (len(ip), len(esp), sizes[0], sizes[-1], len(fragments),
                                       end["sum_received"]["bytes"],
                                       " ".join(tcpdump_said.split())))
        self.assertEqual(fragments, [], "ESP datagrams larger than the WAN MTU were fragmented")
        self.assertGreater(len(esp), 1000, "megabytes of TCP as ESP")
        self.assertLessEqual(sizes[-1], WAN_MTU)
        spis = {bytes(p[UDP].payload)[:4] for p in esp}
        self.assertEqual(spis, {b"\x00\x00\x10\x01"})


class OffloadsOff(unittest.TestCase):
    def test_packet_by_packet_when_forced_off(self):
        import manual_tunnel  # noqa: E402
        lab, dp = manual_tunnel.build("dn%d" % (os.getpid() % 100000), udp=True,
                                      dataplane_args=["--notun_offload", "--noudp_offload"])
        try:
            a, b = lab.site("a"), lab.site("b")
            end = iperf(lab, a, b, [], 2)
            gbps = end["sum_received"]["bits_per_second"] / 1e9
            print("\nTCP with offloads off: %.2f Gbit/s" % gbps)
            self.assertGreater(gbps, 0.05)
            for s in ("a", "b"):
                counters = offload_counters(metrics(lab, dp, s))
                self.assertTrue(counters)
                self.assertEqual(set(counters.values()), {0.0}, s)
        finally:
            for k, v in dp.items():
                if "/" not in k:
                    v.close()
            lab.down()


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
