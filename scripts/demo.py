#!/usr/bin/env python3
"""The vpnfleet fleet demo, run by scripts/demo after install and build.

In a lab of network namespaces: a core site runs the controller and the PKI,
three edge sites (a hub and two spokes) run ike + dataplane. Through the
controller, as an operator would with the `vpnfleet` CLI: register the
devices, load a hub-and-spoke template with a data set per edge, validate,
enroll every edge over SCEP, plan and roll out (canary, then a batch, with a
health gate), then ping from one spoke's LAN to the other's through the hub
over IKEv2 tunnels authenticated with certificates, print the IOS views and
some metrics, and tear everything down.

`scripts/demo --ikev1`: the same fleet over IKEv1, from the IKEv1 template
(crypto isakmp policy with ECDSA signatures, Main Mode then Quick Mode).
"""

import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lab"))
import fleet  # noqa: E402
import fleet_demo  # noqa: E402
import vpnlab  # noqa: E402

STEPS = 9


def step(n, text):
    print("\n[%d/%d] %s" % (n, STEPS, text), flush=True)


def indent(text, prefix="  "):
    for line in text.rstrip("\n").splitlines():
        print(prefix + line)


def metric(text, name, labels=""):
    total = 0.0
    for m in re.finditer(r"^%s(\{[^}]*\})? (\S+)$" % re.escape(name), text, re.M):
        if labels in (m.group(1) or ""):
            total += float(m.group(2))
    return total


def main():
    if os.geteuid() != 0:
        print("demo: needs root (network namespaces)", file=sys.stderr)
        return 1
    ikev1 = "--ikev1" in sys.argv[1:]
    unknown = [a for a in sys.argv[1:] if a != "--ikev1"]
    if unknown:
        print("usage: scripts/demo [--ikev1]", file=sys.stderr)
        return 2
    version = "IKEv1" if ikev1 else "IKEv2"
    template = fleet_demo.TEMPLATE_IKEV1 if ikev1 else fleet_demo.TEMPLATE
    started = time.time()
    print("vpnfleet fleet demo (%s)" % version)
    vpnlab.down_from_state("demo")  # a demo interrupted earlier
    lab = vpnlab.Lab("demo")
    core, edges = fleet_demo.build(lab)
    hub, spoke1, spoke2 = edges
    ok = True
    with lab:
        step(1, "lab WAN 198.51.100.0/24 (TEST-NET-2): a core site and three edges")
        for s in [core] + edges:
            print("  %-7s namespace %-20s WAN %-14s LAN %s" % (s.name, s.ns, s.wan_address, s.lan or "-"))

        step(2, "starting the services")
        pki, ctl = fleet_demo.start_core(lab)
        procs = [("core", pki), ("core", ctl)]
        lans = [s.lan for s in edges]
        for s in edges:
            dp, ike = fleet_demo.start_edge(lab, s, lans, is_hub=s is hub)
            procs += [(s.name, dp), (s.name, ike)]
        for site, p in procs:
            print("  %-7s vpnfleet-%-11s pid %-7d gRPC %s, metrics :%d" % (
                site, p["service"], p["pid"], p["tcp"], p["metrics"][1]))
        op = fleet_demo.Operator(ctl)

        step(3, "inventory: devices, the hub-and-spoke template, a data set per edge")
        fleet_demo.register(op, core, edges, auth="certificate", template=template,
                            variables=fleet_demo.VARIABLES_IKEV1 if ikev1 else ())
        indent(op.run(["device", "list"]).stdout)
        print("  template hub-and-spoke: deploy/templates/%s "
              "(IOS commands with {{#peers}} sections, certificates, %s)" % (os.path.basename(template), version))

        step(4, "rendered for spoke1 (`vpnfleet template render spoke1-vpn`), then validated")
        indent(op.run(["template", "render", "spoke1-vpn"]).stdout, "    ")
        indent(op.run(["validate"]).stdout)

        step(5, "every edge enrolls with the core's CA over SCEP, with a one-time challenge "
                "the controller fetched from the PKI (`vpnfleet device enroll`)")
        for name, got in fleet_demo.enroll(op, edges).items():
            print("  %-7s certificate %s..., %s, valid until %s" % (
                name, got["serial_hex"][:12], got["subject"],
                time.strftime("%Y-%m-%d", time.gmtime(got["not_after"]))))

        step(6, "rollout: plan, then apply (canary: the hub; then the spokes; health gate: "
                "the changed entries' tunnels must come up)")
        plan = op.run(["rollout", "plan"]).stdout.splitlines()
        for line in plan:
            if not line.startswith("      "):
                print("  " + line)
        r = op.run(["rollout", "apply", "--canary", "1", "--batch", "2", "--health_timeout", "60",
                    "--watch"], check=False)
        indent(r.stdout)
        if r.returncode != 0:
            print("  rollout FAILED: %s" % r.stderr.strip())
            ok = False

        step(7, "traffic: spoke1's LAN pings spoke2's LAN through the hub (%s, ECDSA "
                "certificates, AES-GCM-256 ESP in our userspace dataplane)" % version)
        received = fleet_demo.ping(spoke1, spoke2, 5)
        if received < 5:  # the hub-spoke2 tunnel may still be coming up
            time.sleep(2)
            received = fleet_demo.ping(spoke1, spoke2, 5)
        print("  ping %s -> %s: %d/5 answered" % (spoke1.lan_address, spoke2.lan_address, received))
        back = fleet_demo.ping(spoke2, spoke1, 5)
        print("  ping %s -> %s: %d/5 answered" % (spoke2.lan_address, spoke1.lan_address, back))
        ok = ok and received == 5 and back == 5

        step(8, "what the network engineer sees, through the controller")
        print("  -- vpnfleet show crypto isakmp sa --device hub")
        indent(op.run(["show", "crypto", "isakmp", "sa", "--device", "hub"]).stdout, "    ")
        print("  -- vpnfleet show crypto ipsec sa --device spoke1")
        indent(op.run(["show", "crypto", "ipsec", "sa", "--device", "spoke1"]).stdout, "    ")
        print("  -- vpnfleet rollout status")
        indent(op.run(["rollout", "status"]).stdout, "    ")
        print("  -- metrics")
        for site, p in procs:
            text = lab.scrape(site, *p["metrics"])
            if p["service"] == "controller":
                print("    controller: rollouts succeeded %d, device rollouts done %d, enrollment tickets %d" % (
                    metric(text, "vpnfleet_controller_rollouts_total", 'result="succeeded"'),
                    metric(text, "vpnfleet_controller_device_rollouts_total", 'result="done"'),
                    metric(text, "vpnfleet_controller_enrollment_tickets_total")))
            elif p["service"] == "ike":
                print("    %-7s ike: IKE SAs %d, CHILD SA pairs %d, negotiations succeeded %d" % (
                    site, metric(text, "vpnfleet_ike_sas"), metric(text, "vpnfleet_ike_child_sas"),
                    metric(text, "vpnfleet_ike_negotiations_succeeded_total")))
            elif p["service"] == "dataplane":
                print("    %-7s dataplane: IPsec packets sent %d, received %d, drops %d" % (
                    site, metric(text, "vpnfleet_dataplane_interface_packets_total",
                                 'interface="raw_ipsec",direction="tx"'),
                    metric(text, "vpnfleet_dataplane_interface_packets_total",
                           'interface="raw_ipsec",direction="rx"'),
                    metric(text, "vpnfleet_dataplane_drops_total")))

        step(9, "stopping the services (SIGTERM) and tearing the lab down")
        for site, p in reversed(procs):
            code = lab.stop(p)
            ok = ok and code == 0
            print("  %-7s vpnfleet-%-11s exited %s" % (site, p["service"], code))
    left = [ns for ns in vpnlab.list_namespaces() if ns.startswith("vfl-demo-")]
    print("\nlab removed: %s" % ("yes" if not left else "NO, left: %s" % left))
    print("demo %s in %.1f s" % ("finished" if ok and not left else "FAILED", time.time() - started))
    return 0 if ok and not left else 1


if __name__ == "__main__":
    sys.exit(main())
