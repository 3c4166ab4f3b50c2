"""The fleet demo's flow, shared by scripts/demo.py and the integration test:
a core site (controller + PKI) and three edges (a hub and two spokes, each
ike + dataplane) in a lab of namespaces, provisioned through the controller
the way an operator would with the `vpnfleet` CLI."""

import json
import os
import re
import time
import types

import fleet
import manual_tunnel

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = os.path.join(HERE, "..", "..", "deploy", "templates", "hub-and-spoke.mustache")
# The same fleet over IKEv1 (crypto isakmp), and the variables that differ.
TEMPLATE_IKEV1 = os.path.join(HERE, "..", "..", "deploy", "templates", "hub-and-spoke-ikev1.mustache")
VARIABLES_IKEV1 = ["ike_encryption=aes 256", "ike_hash=sha256"]

EDGES = (("hub", "10.0.0.0/24", "hub"), ("spoke1", "10.1.0.0/24", "spoke"),
         ("spoke2", "10.2.0.0/24", "spoke"))

# The template's variables and their defaults (`template add --var`).
VARIABLES = ["trustpoint=fleet", "ike_encryption=aes-gcm-256", "ike_hash=sha384", "dh_group=19",
             "signature=ecdsa-sig", "ike_lifetime=86400", "dpd_seconds=10", "esp_transform=esp-gcm 256",
             "sa_lifetime=3600", "wan_interface=wan0", "auto_enroll=70"]


def build(lab):
    core = lab.add_site("core")
    edges = [lab.add_site(name, lan=lan) for name, lan, _ in EDGES]
    return core, edges


def route_edge(site, all_lans, is_hub):
    """TUN routing of an edge: every other site's LAN through the dataplane;
    a hub also forwards what arrives from one spoke's tunnel to another's."""
    others = [l for l in all_lans if l != site.lan]
    manual_tunnel.route(site, site.lan, others[0])
    for lan in others[1:]:
        site.exec(["ip", "route", "replace", lan, "dev", "vf0", "table", "220"])
    if is_hub:
        site.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        for lan in others:
            site.exec(["ip", "route", "replace", lan, "dev", "vf0"])


def start_core(lab, controller_args=(), secure=True):
    """The PKI (with its own identity) and the controller. secure=False: TCP in
    plaintext, for tests about something else."""
    pki = fleet.start(lab, "core", "pki", tls="self" if secure else None)
    ctl = start_controller(lab, pki, controller_args, secure=secure)
    return pki, ctl


def start_controller(lab, pki, extra=(), secure=True):
    """The controller with an identity from the PKI (spiffe://vpnfleet/controller/core),
    calling the PKI and the edges with mutual TLS."""
    core = lab.site("core")
    tls = None
    pki_target = "unix:" + pki["socket"]
    if secure:
        tls = fleet.issue_identity(pki, "controller", "core", os.path.join(core.dir, "controller-tls"))
        pki_target = pki["tcp"]
    ctl = fleet.start(lab, "core", "controller", [
        "--data_dir=" + os.path.join(core.dir, "controller-data"),
        "--pki=" + pki_target] + list(extra), tls=tls)
    ctl["pki"] = {k: pki[k] for k in ("socket", "tcp", "crl")}
    ctl["core_ns"] = core.ns
    ctl["secure"] = secure
    return ctl


def edge_tls(site):
    """An edge's API identity: the certificate it enrolls over SCEP (trustpoint
    "fleet"), spiffe://vpnfleet/edge/NAME; served once the files exist."""
    d = os.path.join(site.dir, "ike-pki", "fleet")
    return {k: os.path.join(d, k + ".pem") for k in ("cert", "key", "ca", "crl")}


def start_edge(lab, site, all_lans, is_hub, secure=True, ike_args=()):
    tls = edge_tls(site) if secure else None
    punt = os.path.join(site.dir, "dp-punt.sock")
    dp = fleet.start(lab, site.name, "dataplane", ["--tun=vf0", "--ike_punt_socket=" + punt], tls=tls)
    route_edge(site, all_lans, is_hub)
    ike = fleet.start(lab, site.name, "ike", [
        "--dataplane=unix:" + dp["socket"], "--dataplane_punt=" + punt,
        "--punt_socket=" + os.path.join(site.dir, "ike-punt.sock")] + list(ike_args), tls=tls)
    return dp, ike


class Operator:
    """Runs `vpnfleet` against the controller, as an operator would: over TCP
    with an operator identity when the core is secure, else its Unix socket."""

    def __init__(self, ctl, role="operator", name="demo"):
        self.tls = None
        self.home = None
        self.target = "--controller=unix:" + ctl["socket"]
        if ctl.get("secure"):
            # Over TCP the operator works from the core site's namespace.
            self.home = types.SimpleNamespace(ns=ctl["core_ns"])
            core_dir = os.path.dirname(ctl["socket"])
            self.tls = fleet.issue_identity(ctl["pki"], role, name,
                                            os.path.join(core_dir, "%s-%s-tls" % (role, name)))
            self.target = "--controller=" + ctl["tcp"]

    def argv(self, args):
        """The full command line of `vpnfleet ARGS` as this operator (for Popen)."""
        argv = [fleet.binary("vpnfleet"), self.target]
        if self.tls is not None:
            argv += ["--tls_cert=" + self.tls["cert"], "--tls_key=" + self.tls["key"],
                     "--tls_ca=" + self.tls["ca"]]
        if self.home is not None:
            argv = ["ip", "netns", "exec", self.home.ns] + argv
        return argv + list(args)

    def run(self, args, site=None, check=True):
        r = fleet.cli([self.target, "--timeout_ms=20000"] + list(args), site=site or self.home,
                      tls=self.tls)
        if check and r.returncode != 0:
            raise RuntimeError("vpnfleet %s failed (%d):\n%s%s" % (" ".join(args), r.returncode,
                                                                    r.stdout, r.stderr))
        return r

    def json(self, args, site=None):
        return json.loads(self.run(["-o", "json"] + list(args), site=site).stdout)


def register(op, core, edges, auth="certificate", variables=(), template=TEMPLATE):
    """Devices, the hub-and-spoke template (from the file `template`) and one
    data set per edge. variables: NAME=VALUE pairs that replace the defaults
    (VARIABLES)."""
    given = {v.split("=", 1)[0] for v in variables}
    chosen = [v for v in VARIABLES if v.split("=", 1)[0] not in given] + list(variables)
    for (name, lan, role), site in zip(EDGES, edges):
        op.run(["device", "add", name, "--kind", "vpnfleet", "--wan", site.wan_address,
                "--endpoint", "%s:%d" % (site.wan_address, fleet.SERVICES["ike"][0]),
                "--site", name, "--role", role, "--prefix", lan, "--label", "demo=yes"])
    op.run(["template", "add", "hub-and-spoke", "--file", template, "--topology", "hub-and-spoke",
            "--auth", auth, "--var", ",".join(chosen + [
                "scep_url=http://%s:18080/scep" % core.wan_address])])
    for name, _, _ in EDGES:
        op.run(["data", "set", "%s-vpn" % name, "--template_name", "hub-and-spoke", "--device", name])


def enroll(op, edges):
    """Each edge gets a one-time challenge through the controller and
    enrolls over SCEP from its own namespace into the IKE daemon's trustpoint
    folder. Returns {edge: enroll JSON}."""
    out = {}
    for site in edges:
        r = op.run(["-o", "json", "device", "enroll", site.name,
                    "--pki_dir", os.path.join(site.dir, "ike-pki")], site=site)
        out[site.name] = json.loads(r.stdout)
    if op.tls is not None:
        # The edges' APIs serve their new certificates once their daemons
        # notice the files (within seconds): wait for that before a rollout.
        for site in edges:
            target = {"ike": "%s:%d" % (site.wan_address, fleet.SERVICES["ike"][0])}
            deadline = time.time() + 30
            while fleet.status(target, site=site, tls=op.tls)[0] != 0:
                if time.time() > deadline:
                    raise RuntimeError("%s: the IKE API does not serve its certificate" % site.name)
                time.sleep(0.5)
    return out


def ping(src, dst, count=3):
    r = src.exec(["ping", "-n", "-c", str(count), "-i", "0.2", "-W", "1", "-I", src.lan_address,
                  dst.lan_address], check=False, timeout=30)
    m = re.search(r"(\d+) received", r.stdout)
    return int(m.group(1)) if m else 0
