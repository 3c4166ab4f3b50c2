#!/usr/bin/env python3
"""The management plane as a stranger would attack it (issue 17).

A core (PKI with its own identity, controller with one from the PKI) and the
demo's three edges (IKE + dataplane, each serving with an edge identity), all
with mutual TLS. Then:
- a pre-shared-key rollout to the edges while tcpdump watches the core's WAN:
  the keys the controller pushes are nowhere in the capture (or in any log);
- a viewer may read and is refused writes and secrets (PERMISSION_DENIED,
  counted, audited); plaintext, a certificate from another CA, an expired or
  a revoked one and TLS 1.2 are refused at the handshake;
- the controller refuses an edge whose certificate names another device;
- a local user outside --socket_allow is refused on a Unix socket;
- an edge's certificate renewed on disk is served without a restart.
"""

import glob
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))
import fleet  # noqa: E402
import fleet_demo  # noqa: E402
import grpcapi  # noqa: E402
import test_pki  # noqa: E402
import vpnlab  # noqa: E402


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)
    print("  ok: " + what, flush=True)


def serial_served(site, address, port, tls):
    """The serial of the certificate the server at address:port presents."""
    r = site.exec(["sh", "-c", "openssl s_client -alpn h2 -connect %s:%d -cert %s -key %s -CAfile %s "
                   "</dev/null 2>/dev/null | openssl x509 -noout -serial" %
                   (address, port, tls["cert"], tls["key"], tls["ca"])], check=False)
    m = re.search(r"serial=([0-9A-F]+)", r.stdout)
    return m.group(1).lower().lstrip("0") if m else ""


def main():
    lab = vpnlab.Lab("sec%d" % (os.getpid() % 10000))
    core, edges = fleet_demo.build(lab)
    hub = edges[0]
    try:
        lab.up()
        pki, ctl = fleet_demo.start_core(lab)
        lans = [s.lan for s in edges]
        edge_ids = {}
        for s in edges:
            # Each edge's API identity, where the IKE daemon's trustpoint lives.
            edge_ids[s.name] = fleet.issue_identity(pki, "edge", s.name,
                                                    os.path.dirname(fleet_demo.edge_tls(s)["cert"]))
            fleet_demo.start_edge(lab, s, lans, is_hub=s is hub)
        op = fleet_demo.Operator(ctl)
        viewer = fleet.issue_identity(pki, "viewer", "vera", os.path.join(core.dir, "viewer"))
        admin = fleet.issue_identity(pki, "admin", "ada", os.path.join(core.dir, "admin"))

        print("pre-shared keys pushed over mTLS, watched on the core's WAN")
        fleet_demo.register(op, core, edges, auth="psk")
        pcap = os.path.join(core.dir, "wan.pcap")
        dump = subprocess.Popen(["ip", "netns", "exec", core.ns, "tcpdump", "-Z", "root", "-i", "wan0", "--immediate-mode", "-U", "-s", "0",
                                 "-w", pcap, "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            time.sleep(1)
            r = op.run(["rollout", "apply", "--canary", "1", "--batch", "2", "--health_timeout", "60", "--watch"],
                       check=False)
            check(r.returncode == 0, "the rollout to three edges over mTLS succeeded (%s)" % r.stderr.strip())
        finally:
            time.sleep(1)
            dump.terminate()
            print("  tcpdump: " + dump.communicate(timeout=10)[1].decode().strip().replace("\n", "; "))
        # The keys themselves: a router's configlet carries them, so the
        # operator (who may see secrets) renders the hub as an IOS device.
        op.run(["device", "add", "hub", "--kind", "ios", "--wan", hub.wan_address,
                "--endpoint", "%s:7403" % hub.wan_address, "--site", "hub", "--role", "hub",
                "--prefix", hub.lan, "--label", "demo=yes"])
        rendered = op.run(["template", "render", "hub-vpn"]).stdout
        op.run(["device", "add", "hub", "--kind", "vpnfleet", "--wan", hub.wan_address,
                "--endpoint", "%s:7403" % hub.wan_address, "--site", "hub", "--role", "hub",
                "--prefix", hub.lan, "--label", "demo=yes"])
        keys = set(re.findall(r"pre-shared-key (?:local |remote )?(\S+)", rendered) +
                   re.findall(r"crypto isakmp key (\S+)", rendered))
        keys = {k for k in keys if len(k) >= 16}
        check(keys, "the rendered hub configlet holds its pre-shared keys (%d)" % len(keys))
        with open(pcap, "rb") as f:
            captured = f.read()
        check(len(captured) > 10000, "the capture saw the rollout (%d bytes)" % len(captured))
        check(not any(k.encode() in captured for k in keys), "no pre-shared key in clear on the WAN")
        logs = "".join(open(p, errors="replace").read() for p in glob.glob(os.path.join(lab.dir, "*", "*.log")))
        check(not any(k in logs for k in keys), "no pre-shared key in any daemon's log")
        fleet_demo.ping(edges[1], edges[2], 3)

        print("who may call what")
        ctl_tcp = "--controller=" + ctl["tcp"]
        r = fleet.cli([ctl_tcp, "device", "list"], site=core, tls=viewer)
        check(r.returncode == 0 and "hub" in r.stdout, "a viewer lists the devices")
        r = fleet.cli([ctl_tcp, "device", "delete", "hub"], site=core, tls=viewer)
        check(r.returncode != 0 and "not allowed" in r.stderr, "a viewer may not delete a device")
        r = fleet.cli([ctl_tcp, "template", "render", "hub-vpn"], site=core, tls=viewer)
        check(r.returncode != 0 and "not allowed" in r.stderr, "a viewer may not render keys")
        r = fleet.cli(["--ike=%s:7403" % hub.wan_address, "clear", "crypto", "sa"], site=core, tls=viewer)
        check(r.returncode != 0 and "not allowed" in r.stderr, "a viewer may not clear an edge's SAs")
        r = fleet.cli(["--pki=" + pki["tcp"], "pki", "revoke", "1"], site=core, tls=op.tls)
        check(r.returncode != 0 and "not allowed" in r.stderr, "an operator may not revoke")
        metrics = lab.scrape(core, core.local_address, fleet.SERVICES["controller"][1])
        check(re.search(r'vpnfleet_grpc_requests_denied_total\{[^}]*role="viewer"[^}]*\} [1-9]', metrics),
              "refusals are counted by method and role")
        with open(ctl["log"]) as f:
            audit = [l for l in f if '"msg":"audit"' in l]
        check(any("spiffe://vpnfleet/viewer/vera" in l and '"outcome":"denied"' in l for l in audit),
              "the refusal is in the audit log with the caller's identity")
        check(any("StartRollout" in l and "spiffe://vpnfleet/operator/demo" in l and '"outcome":"ok"' in l
                  for l in audit), "the rollout is in the audit log with the operator's identity")

        print("every method of every service, called by a viewer")
        # The class each RPC declares (proto/vpnfleet/common/v1/access.proto):
        # a viewer's call to anything but a read must be refused by the
        # handler's own check, before it does anything.
        mods = grpcapi._load()
        access = mods["access"]
        services = {"controller": (mods["controller"].DESCRIPTOR, "ControllerService", ctl["tcp"]),
                    "pki": (mods["pki"].DESCRIPTOR, "PkiService", pki["tcp"]),
                    "ike": (mods["ike"].DESCRIPTOR, "IkeService", "%s:7403" % hub.wan_address),
                    "dataplane": (mods["dataplane"].DESCRIPTOR, "DataplaneService",
                                  "%s:7404" % hub.wan_address)}
        swept, wrong = 0, []
        for flag, (fdesc, svc, target) in services.items():
            for m in fdesc.services_by_name[svc].methods:
                cls = m.GetOptions().Extensions[access.access]
                r = fleet.cli(["--%s=%s" % (flag, target), "--timeout_ms=1500", "-o", "json", "call",
                               m.full_name.rsplit(".", 1)[0] + "/" + m.name, "{}"], site=core, tls=viewer)
                code = re.search(r'"code": "(\w+)"', r.stdout)
                code = code.group(1) if code else ("OK" if r.returncode == 0 else "?")
                if cls == access.ACCESS_READ:
                    # Reached the handler: answered, or refused for its content.
                    ok = code not in ("PERMISSION_DENIED", "UNAUTHENTICATED", "UNAVAILABLE", "?")
                else:
                    ok = code == "PERMISSION_DENIED"
                if not ok:
                    wrong.append("%s (%s): %s %s" % (m.full_name, access.Access.Name(cls), code,
                                                     (r.stdout + r.stderr).strip()[:160]))
                swept += 1
        check(swept >= 50 and not wrong,
              "%d methods: reads answered, every other class PERMISSION_DENIED %s" % (swept, wrong))

        print("refused at the handshake")
        r = fleet.cli([ctl_tcp, "--insecure", "device", "list"], site=core)
        check(r.returncode != 0, "plaintext to a TLS port")
        other = os.path.join(core.dir, "other-ca")
        os.makedirs(other, exist_ok=True)
        test_pki.root(other, "ca", "p256", "/CN=someone else's CA")
        test_pki.issue(other, "mallory", "p256", "/CN=mallory", "ca", san="URI:spiffe://vpnfleet/admin/mallory")
        foreign = {"cert": os.path.join(other, "mallory.pem"), "key": os.path.join(other, "mallory.key"),
                   "ca": viewer["ca"]}
        r = fleet.cli([ctl_tcp, "device", "list"], site=core, tls=foreign)
        check(r.returncode != 0, "a certificate from another CA naming itself admin")
        # An admin certificate from the fleet's own CA that has run out: signed
        # here with the CA's key, valid until the second it was made.
        old = os.path.join(core.dir, "expired")
        os.makedirs(old, exist_ok=True)
        data = os.path.join(core.dir, "pki-data")
        with open(os.path.join(old, "ext"), "w") as f:
            f.write("subjectAltName=URI:spiffe://vpnfleet/admin/expired\n"
                    "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n")
        subprocess.run(["openssl", "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-subj", "/CN=expired", "-keyout",
                        os.path.join(old, "key.pem"), "-out", os.path.join(old, "csr.pem")],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "x509", "-req", "-in", os.path.join(old, "csr.pem"), "-CA",
                        os.path.join(data, "ca.pem"), "-CAkey", os.path.join(data, "ca.key"),
                        "-set_serial", "4242", "-days", "0", "-extfile", os.path.join(old, "ext"),
                        "-out", os.path.join(old, "cert.pem")], check=True, capture_output=True)
        time.sleep(2)
        expired = {"cert": os.path.join(old, "cert.pem"), "key": os.path.join(old, "key.pem"),
                   "ca": viewer["ca"]}
        r = fleet.cli([ctl_tcp, "device", "list"], site=core, tls=expired)
        check(r.returncode != 0 and "expired" in r.stderr,
              "an expired admin certificate from the fleet's CA (the CLI says: expired)")
        gone = fleet.issue_identity(pki, "admin", "gone", os.path.join(core.dir, "gone"))
        r = fleet.cli([ctl_tcp, "device", "list"], site=core, tls=gone)
        check(r.returncode == 0, "a second admin works before revocation")
        serial = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", gone["cert"]],
                                capture_output=True, text=True).stdout.split("=")[1].strip().lower().lstrip("0")
        r = fleet.cli(["--pki=unix:" + pki["socket"], "pki", "revoke", serial, "--reason", "key-compromise"])
        check(r.returncode == 0, "root revokes it on the PKI's Unix socket")
        time.sleep(4)  # the PKI rewrites its CRL file within 2 s; servers read it at each handshake
        r = fleet.cli([ctl_tcp, "device", "list"], site=core, tls=gone)
        check(r.returncode != 0, "the revoked admin is refused by the controller")
        r = fleet.cli(["--pki=" + pki["tcp"], "pki", "ca"], site=core, tls=gone)
        check(r.returncode != 0, "and by the PKI")
        host, port = ctl["tcp"].split(":")
        for version, ok in (("-tls1_2", False), ("-tls1_3", True)):
            r = core.exec(["sh", "-c", "openssl s_client -alpn h2 %s -connect %s -cert %s -key %s -CAfile %s "
                           "</dev/null >/dev/null 2>&1" % (version, ctl["tcp"], admin["cert"], admin["key"],
                                                           admin["ca"])], check=False)
            check((r.returncode == 0) == ok, "%s is %s" % (version, "spoken" if ok else "refused"))

        print("the controller checks whom it pushes to")
        op.run(["device", "add", "imposter", "--kind", "vpnfleet", "--wan", "198.51.100.99",
                "--endpoint", "%s:7403" % hub.wan_address, "--site", "x", "--role", "spoke",
                "--prefix", "10.99.0.0/24"])
        r = op.run(["show", "crypto", "isakmp", "sa", "--device", "imposter"], check=False)
        check(r.returncode != 0, "an edge whose certificate names another device is refused")
        r = op.run(["show", "crypto", "isakmp", "sa", "--device", "hub"], check=False)
        check(r.returncode == 0, "the real hub answers")

        print("local users")
        sock = ctl["socket"]
        for d in (lab.dir, core.dir):
            os.chmod(d, 0o711)
        os.chmod(sock, 0o666)
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            fleet.binary("vpnfleet"), "--controller=unix:" + sock, "--timeout_ms=3000",
                            "device", "list"], capture_output=True, text=True, timeout=30)
        check(r.returncode != 0, "uid 65534 is refused on the controller's socket (SO_PEERCRED)")
        metrics = lab.scrape(core, core.local_address, fleet.SERVICES["controller"][1])
        check(re.search(r'vpnfleet_grpc_connections_refused_total\{reason="unix-peer"\} [1-9]', metrics),
              "and counted")

        print("renewal without restart")
        before = serial_served(core, hub.wan_address, 7403, admin)
        renewed = fleet.issue_identity(pki, "edge", "hub", os.path.dirname(edge_ids["hub"]["cert"]))
        after = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", renewed["cert"]],
                               capture_output=True, text=True).stdout.split("=")[1].strip().lower().lstrip("0")
        deadline = time.time() + 20
        while serial_served(core, hub.wan_address, 7403, admin) != after and time.time() < deadline:
            time.sleep(0.5)
        check(before != after and serial_served(core, hub.wan_address, 7403, admin) == after,
              "the hub serves its renewed certificate (%s -> %s)" % (before[:8], after[:8]))
        print("PASS")
        return 0
    except Fail as e:
        print("FAIL: %s" % e)
        vpnlab.print_log_tails([core] + edges, ["controller", "pki", "ike"])
        return 1
    finally:
        lab.down()


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIP: the lab needs root (network namespaces)")
        sys.exit(77)
    sys.exit(main())
