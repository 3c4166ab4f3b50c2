#!/usr/bin/env python3
"""Edges renew their own certificates (issue #18), in the fleet demo's lab:
  - the PKI issues certificates that live two minutes; the template's
    trustpoint says `auto-enroll 50`; each IKE daemon checks every 2 s;
  - every edge renews over SCEP by itself at half its certificate's life
    (new key, new serial, the same names), counted in its metrics, while
    spoke1's LAN keeps pinging spoke2's through the hub;
  - the renewed certificates are revoked (superseded) 5 s later and the
    edges fetch the CRL that lists them; a new IKE SA between spoke1 and the
    hub then comes up, which the hub allows only with spoke1's new
    certificate;
  - the edges' own gRPC APIs serve the renewed certificates.
Exit 77 (skip) without root.
"""

import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))

from checks import Fail, check, wait_for, metric  # noqa: E402
import fleet  # noqa: E402
import fleet_demo  # noqa: E402
import vpnlab  # noqa: E402

LIFETIME_S = 120
AUTO_ENROLL = 50


def serial(path):
    r = subprocess.run(["openssl", "x509", "-in", path, "-noout", "-serial"], capture_output=True,
                       text=True)
    return r.stdout.strip().split("=", 1)[1].lower().lstrip("0") if r.returncode == 0 else None


def crl_serials(path):
    r = subprocess.run(["openssl", "crl", "-in", path, "-noout", "-text"], capture_output=True,
                       text=True)
    return {l.split(":", 1)[1].strip().lower().lstrip("0") for l in r.stdout.splitlines()
            if "Serial Number:" in l}


class Pinger(threading.Thread):
    """spoke1's LAN pings spoke2's, one a second, until stopped."""

    def __init__(self, src, dst):
        super().__init__(daemon=True)
        self.src, self.dst = src, dst
        self.stop = threading.Event()
        self.sent = self.received = 0

    def run(self):
        while not self.stop.is_set():
            self.sent += 1
            self.received += fleet_demo.ping(self.src, self.dst, 1)
            self.stop.wait(1)


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root for network namespaces")
        return 77
    lab = vpnlab.Lab("ren%d" % (os.getpid() % 1000))
    core, edges = fleet_demo.build(lab)
    hub, spoke1, spoke2 = edges
    lab.up()
    pinger = None
    try:
        pki = fleet.start(lab, "core", "pki", ["--certificate_lifetime=%ds" % LIFETIME_S,
                                               "--supersede_overlap=5s"], tls="self")
        ctl = fleet_demo.start_controller(lab, pki)
        lans = [s.lan for s in edges]
        ikes = {}
        for s in edges:
            _, ikes[s.name] = fleet_demo.start_edge(
                lab, s, lans, is_hub=s is hub,
                ike_args=["--trustpoint_check_interval=2s", "--crl_refresh=3s"])
        op = fleet_demo.Operator(ctl)
        fleet_demo.register(op, core, edges, auth="certificate",
                            variables=["auto_enroll=%d" % AUTO_ENROLL])

        print("enrollment (certificates for %d s), rollout, traffic" % LIFETIME_S)
        enrolled_at = time.time()
        got = fleet_demo.enroll(op, edges)
        first = {name: g["serial_hex"].lower().lstrip("0") for name, g in got.items()}
        r = op.json(["rollout", "apply", "--canary", "1", "--batch", "2"])
        check(r["state"] == "ROLLOUT_STATE_SUCCEEDED", "rollout %s succeeded" % r["id"])
        wait_for(lambda: fleet_demo.ping(spoke1, spoke2, 3) == 3, 30, "spoke1 LAN -> spoke2 LAN via the hub")
        pinger = Pinger(spoke1, spoke2)
        pinger.start()

        print("each edge renews by itself at %d%% of its certificate's life" % AUTO_ENROLL)
        paths = {s.name: fleet_demo.edge_tls(s)["cert"] for s in edges}
        renewed = wait_for(
            lambda: {n: serial(p) for n, p in paths.items()}
            if all(serial(p) not in (None, first[n]) for n, p in paths.items()) else None,
            LIFETIME_S, "every edge's certificate renewed", interval=1)
        took = time.time() - enrolled_at
        # The validity period starts a tenth of the lifetime early (backdated).
        due = LIFETIME_S * 1.1 * AUTO_ENROLL / 100 - LIFETIME_S * 0.1
        check(took >= due - 3, "renewed after %.0f s, when %d%% of the validity period had passed "
              "(%.0f s)" % (took, AUTO_ENROLL, due))
        for s in edges:
            subj = subprocess.run(["openssl", "x509", "-in", paths[s.name], "-noout", "-subject",
                                   "-ext", "subjectAltName"], capture_output=True, text=True).stdout
            check("CN = %s" % s.name in subj and "IP Address:%s" % s.wan_address in subj
                  and "spiffe://vpnfleet/edge/%s" % s.name in subj,
                  "%s: renewed %s -> %s, same names" % (s.name, first[s.name], renewed[s.name]))
            text = lab.scrape(s.name, *ikes[s.name]["metrics"])
            check(metric(text, "vpnfleet_ike_trustpoint_renewals_total",
                         'result="ok",trustpoint="fleet"') >= 1, "%s counts its renewal" % s.name)

        print("the renewed certificates are revoked; the next IKE SA needs the new one")
        hub_crl = fleet_demo.edge_tls(hub)["crl"]
        wait_for(lambda: first["spoke1"] in crl_serials(hub_crl), 30,
                 "the hub's CRL lists spoke1's old certificate")
        def established():
            text = lab.scrape("hub", *ikes["hub"]["metrics"])
            return sum(float(l.split()[-1]) for l in text.splitlines()
                       if l.startswith("vpnfleet_ike_negotiations_succeeded_total"))
        before = established()
        r = spoke1.exec([fleet.binary("vpnfleet"), "--ike=unix:" + ikes["spoke1"]["socket"], "clear",
                         "crypto", "session"], check=False)
        check(r.returncode == 0, "spoke1: clear crypto session (%s)" % (r.stdout + r.stderr).strip())
        wait_for(lambda: fleet_demo.ping(spoke1, spoke2, 2) == 2, 40,
                 "traffic again after spoke1's IKE SA was cleared")
        check(wait_for(lambda: established() > before, 20, "a new IKE SA at the hub"),
              "the hub accepted a new IKE SA from spoke1, whose old certificate it now knows revoked")
        text = lab.scrape("hub", *ikes["hub"]["metrics"])
        check(metric(text, "vpnfleet_ike_trustpoint_crl_fetches_total",
                     'result="ok",trustpoint="fleet"') >= 2, "the hub fetches its CRL on schedule")

        pinger.stop.set()
        pinger.join(10)
        lost = pinger.sent - pinger.received
        print("  pings during the renewals: %d sent, %d answered" % (pinger.sent, pinger.received))
        check(pinger.sent >= 20 and lost <= 3,
              "the tunnels stayed up through the renewals (%d of %d lost, the clear included)"
              % (lost, pinger.sent))

        print("the edges' gRPC APIs serve the renewed certificates")
        for s in edges:
            target = {"ike": "%s:%d" % (s.wan_address, fleet.SERVICES["ike"][0])}
            check(fleet.status(target, site=s, tls=op.tls)[0] == 0, "%s's IKE API answers over mTLS"
                  % s.name)
        return 0
    except Fail as e:
        print("FAIL:", e)
        for s in edges:
            log = os.path.join(s.dir, "ike.log")
            if os.path.exists(log):
                print("--- %s/ike.log (tail)" % s.name)
                print("".join(open(log).readlines()[-15:]))
        return 1
    finally:
        if pinger is not None:
            pinger.stop.set()
        lab.down()


if __name__ == "__main__":
    sys.exit(main())
