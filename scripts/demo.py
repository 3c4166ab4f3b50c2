#!/usr/bin/env python3
"""The vpnfleet fleet demo, run by scripts/demo after install and build.

Builds a lab WAN (a core site and two edge sites, the second behind NAT),
starts the controller and the PKI on the core and ike + dataplane on each
edge, shows their health and APIs the way an operator sees them, checks
reachability across the WAN and the NAT, scrapes every /metrics endpoint,
enrolls each edge with the core's CA over SCEP, and tears it all down.
IPsec tunnels join this demo as the IKE and controller issues land.
"""

import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lab"))
import fleet  # noqa: E402
import vpnlab  # noqa: E402

STEPS = 7


def step(n, text):
    print("\n[%d/%d] %s" % (n, STEPS, text), flush=True)


def main():
    if os.geteuid() != 0:
        print("demo: needs root (network namespaces)", file=sys.stderr)
        return 1
    started = time.time()
    print("vpnfleet fleet demo")
    lab = vpnlab.Lab("demo")
    vpnlab.down_from_state("demo")  # a demo interrupted earlier
    core = lab.add_site("core")
    site1 = lab.add_site("site1", lan="10.1.0.0/24")
    site2 = lab.add_site("site2", lan="10.2.0.0/24", nat=True)
    with lab:
        step(1, "lab WAN 198.51.100.0/24 (TEST-NET-2) built")
        for s in (core, site1, site2):
            print("  %-6s namespace %-18s WAN %-14s LAN %-12s %s" % (
                s.name, s.ns, s.wan_address, s.lan or "-",
                "(behind NAT, local %s)" % s.local_address if s.nat else ""))

        step(2, "starting the services")
        procs = []
        for site, service in (("core", "controller"), ("core", "pki"),
                              ("site1", "ike"), ("site1", "dataplane"),
                              ("site2", "ike"), ("site2", "dataplane")):
            p = fleet.start(lab, site, service)
            procs.append((site, p))
            print("  %-6s vpnfleet-%-11s pid %-7d gRPC %s + %s, metrics :%d" % (
                site, service, p["pid"], p["tcp"], os.path.basename(p["socket"]),
                p["metrics"][1]))

        step(3, "vpnfleet status, per site (the operator's view)")
        ok = True
        for site_name in ("core", "site1", "site2"):
            targets = {p["service"]: "unix:" + p["socket"] for s, p in procs if s == site_name}
            args = ["--%s=%s" % kv for kv in targets.items()] + ["status"] + list(targets)
            r = fleet.cli(args)
            print("  -- %s" % site_name)
            for line in r.stdout.splitlines():
                print("  " + line)
            ok = ok and r.returncode == 0
        if not ok:
            print("demo: a service is not SERVING", file=sys.stderr)
            return 1

        step(4, "reachability across the WAN and through site2's NAT")
        for src, dst in ((site1, site2), (site2, site1), (core, site1)):
            r = src.exec(["ping", "-c", "1", "-W", "2", dst.wan_address], check=False)
            rtt = re.search(r"time=([\d.]+ ms)", r.stdout)
            where = "%s's NAT" % dst.name if dst.nat else dst.name
            print("  %s -> %s (%s): %s" % (src.name, where, dst.wan_address,
                                           rtt.group(1) if rtt else "FAILED"))
            ok = ok and r.returncode == 0
        nat = subprocess.run(["ip", "netns", "exec", site2.nat_ns, "nft", "list", "ruleset"],
                             capture_output=True, text=True).stdout
        m = re.search(r"counter packets (\d+)", nat)
        print("  site2 NAT translated %s packet(s)" % (m.group(1) if m else "?"))

        step(5, "certificates: each edge enrolls with the core's CA over SCEP "
                "(crypto pki authenticate + enroll)")
        pki = next(p for s, p in procs if p["service"] == "pki")
        pki_api = "--pki=unix:" + pki["socket"]
        ca = json.loads(fleet.cli([pki_api, "pki", "ca"], check=True).stdout)
        fingerprint = ca["chain"][0]["fingerprint_sha256"]
        scep_url = "http://%s:18080/scep" % core.wan_address
        print("  CA %s, SHA-256 %s..., SCEP %s" % (ca["chain"][0]["subject"], fingerprint[:16],
                                                   scep_url))
        for edge in (site1, site2):
            challenge = json.loads(fleet.cli([pki_api, "-o", "json", "pki", "challenge",
                                              "--device", edge.name], check=True).stdout)
            files = {k: os.path.join(edge.dir, "%s.%s" % (edge.name, k))
                     for k in ("key", "crt", "ca")}
            r = fleet.cli(["-o", "json", "pki", "enroll", "--url", scep_url,
                           "--fingerprint", fingerprint, "--challenge", challenge["password"],
                           "--subject", "CN=%s,O=vpnfleet demo" % edge.name,
                           "--san", "DNS:%s.vpnfleet.example,IP:%s" % (edge.name, edge.wan_address),
                           "--key_file", files["key"], "--cert_file", files["crt"],
                           "--ca_file", files["ca"]], site=edge)
            if r.returncode != 0:
                print("  %s: enrollment FAILED: %s" % (edge.name, r.stderr.strip()))
                ok = False
                continue
            got = json.loads(r.stdout)
            verify = subprocess.run(["openssl", "verify", "-CAfile", files["ca"], files["crt"]],
                                    capture_output=True, text=True)
            print("  %-6s enrolled%s: serial %s, valid until %s, openssl verify %s" % (
                edge.name, " through its NAT" if edge.nat else "", got["serial_hex"][:12] + "...",
                time.strftime("%Y-%m-%d", time.gmtime(got["not_after"])),
                "OK" if verify.returncode == 0 else "FAILED"))
            ok = ok and verify.returncode == 0
        show = fleet.cli([pki_api, "show", "crypto", "pki", "certificates", "--device", site1.name])
        print("  -- show crypto pki certificates --device site1 (on the core)")
        for line in show.stdout.splitlines()[:14]:
            print("  " + line)

        step(6, "metrics: every /metrics endpoint scraped and checked by promtool")
        for site, p in procs:
            address, port = p["metrics"]
            text = lab.scrape(site, address, port)
            check = subprocess.run(["promtool", "check", "metrics"], input=text,
                                   capture_output=True, text=True)
            rss = re.search(r"^process_resident_memory_bytes (\S+)", text, re.M)
            handled = sum(float(v) for v in re.findall(
                r"^grpc_server_handled_total\{[^}]*\} (\S+)", text, re.M))
            print("  %-6s %-10s %5d series  promtool %-4s  rss %5.1f MiB  RPCs handled %d" % (
                site, p["service"], sum(1 for l in text.splitlines() if l and l[0] != "#"),
                "ok" if check.returncode == 0 else "FAIL",
                float(rss.group(1)) / 2**20 if rss else 0, handled))
            ok = ok and check.returncode == 0

        step(7, "stopping the services (SIGTERM) and tearing the lab down")
        for site, p in reversed(procs):
            code = lab.stop(p)
            ok = ok and code == 0
            print("  %-6s vpnfleet-%-11s exited %s" % (site, p["service"], code))
    left = [ns for ns in vpnlab.list_namespaces() if ns.startswith("vfl-demo-")]
    print("\nlab removed: %s" % ("yes" if not left else "NO, left: %s" % left))
    print("demo %s in %.1f s" % ("finished" if ok and not left else "FAILED",
                                 time.time() - started))
    print("Not yet in this demo: templates and rollout, IKE tunnels and ESP between the "
          "site LANs (they arrive with the controller and IKE work).")
    return 0 if ok and not left else 1


if __name__ == "__main__":
    sys.exit(main())
