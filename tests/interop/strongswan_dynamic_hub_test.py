#!/usr/bin/env python3
"""A strongSwan spoke joins a hub that the controller rendered from
deploy/templates/hub-and-spoke-dynamic.mustache, with a certificate that
strongSwan's own SCEP client enrolled from our CA.

Sites: `core` (controller and PKI), `hub` (our IKE daemon and dataplane,
LAN 10.1.0.0/24), `sw` (Debian's strongSwan 5.9.8 charon with libipsec,
LAN 10.2.0.0/24). The operator registers the hub (kind vpnfleet) and the
strongSwan spoke (kind ios: the controller renders its configlet and nobody
pushes it), the template with certificates and the summary 10.0.0.0/8, one
data set each; then:
  1. the hub enrolls over SCEP with `vpnfleet device enroll` (RSA-2048);
     strongSwan enrolls with `pki --scepca` and `pki --scep`, using the
     ticket the controller's EnrollDevice gives for device `sw`;
  2. a rollout to the hub: its policy answers through the dynamic map and
     names no spoke;
  3. the spoke's swanctl.conf is translated from the configlet the
     controller rendered for it (proposals, peer, PFS group, lifetime, the
     crypto ACL as traffic selectors), not written by hand for the test;
  4. strongSwan initiates: pings both ways; the hub lists the CHILD SA under
     its dynamic map with the spoke's certificate; strongSwan saw the hub's;
  5. a spoke whose certificate another CA signed is refused, counted as
     CERTIFICATE_UNTRUSTED, and the hub keeps no SA for it.
Exit 77 (skip) without root or strongSwan.
"""

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))
sys.path.insert(0, HERE)

from checks import Fail, check, skip, wait_for  # noqa: E402
import fleet  # noqa: E402
import fleet_demo  # noqa: E402
import grpcapi  # noqa: E402
import test_pki  # noqa: E402
import vpnlab  # noqa: E402
from strongswan_interop_test import CHARON, Strongswan, children, established, ping  # noqa: E402

TEMPLATE = os.path.join(HERE, "..", "..", "deploy", "templates", "hub-and-spoke-dynamic.mustache")
VARIABLES = ["trustpoint=fleet", "ike_encryption=aes-gcm-256", "ike_hash=sha384", "dh_group=19",
             "signature=rsa-sig", "ike_lifetime=86400", "dpd_seconds=10", "esp_transform=esp-gcm 256",
             "sa_lifetime=3600", "wan_interface=wan0", "auto_enroll=70"]

# IOS words (as the configlet says them) in strongSwan's proposal keywords.
IKE_ENCRYPTION = {"aes-gcm-256": "aes256gcm16", "aes-gcm-128": "aes128gcm16"}
PRF = {"sha256": "prfsha256", "sha384": "prfsha384", "sha512": "prfsha512"}
GROUP = {"14": "modp2048", "19": "ecp256", "20": "ecp384", "21": "ecp521", "31": "curve25519"}
ESP = {"esp-gcm 256": "aes256gcm16", "esp-gcm 128": "aes128gcm16"}


class Controller(grpcapi._Unary):
    SERVICE = "/vpnfleet.controller.v1.ControllerService/"
    MODULE = "controller"
    RESPONSES = {"EnrollDevice": "EnrollmentTicket"}


def one(pattern, text, what):
    m = re.findall(pattern, text, re.M)
    if len(m) != 1:
        raise Fail("the spoke's configlet: %d lines for %s (%s)\n%s" % (len(m), what, pattern, text))
    return m[0]


def prefix(address, wildcard):
    mask = int(ipaddress.IPv4Address(wildcard)) ^ 0xFFFFFFFF
    return str(ipaddress.IPv4Network("%s/%s" % (address, ipaddress.IPv4Address(mask))))


def swanctl_conf(configlet, local, cert, cacert):
    """strongSwan's connection from the IOS configlet rendered for the spoke."""
    enc = one(r"^ encryption (\S+)$", configlet, "ikev2 proposal encryption")
    prf = one(r"^ prf (\S+)$", configlet, "ikev2 proposal prf")
    group = one(r"^ group (\d+)$", configlet, "ikev2 proposal group")
    esp = one(r"^crypto ipsec transform-set FLEET (.+)$", configlet, "transform set")
    pfs = one(r"^ set pfs group(\d+)$", configlet, "set pfs")
    life = one(r"^ set security-association lifetime seconds (\d+)$", configlet, "lifetime")
    peer = one(r"^ set peer (\S+)$", configlet, "set peer")
    one(r"^ identity local (address) ", configlet, "identity local address")
    auth = one(r"^ authentication remote (\S+)$", configlet, "authentication remote")
    check(auth == "rsa-sig", "the spoke authenticates with RSA signatures (%s)" % auth)
    acl = one(r"^ match address (\S+)$", configlet, "match address")
    body = configlet.split("ip access-list extended %s\n" % acl, 1)[1].split("!", 1)[0]
    rules = re.findall(r"^ permit ip (\S+) (\S+) (\S+) (\S+)$", body, re.M)
    check(rules, "the spoke's crypto ACL %s has permit lines" % acl)
    local_ts = sorted({prefix(r[0], r[1]) for r in rules})
    remote_ts = sorted({prefix(r[2], r[3]) for r in rules})
    return """connections { fleet {
  version = 2
  local_addrs = %(local)s
  remote_addrs = %(peer)s
  proposals = %(ike)s
  rekey_time = 0
  local { auth = pubkey
    certs = %(cert)s
    id = %(local)s }
  remote { auth = pubkey
    id = %(peer)s
    cacerts = %(cacert)s }
  children { c {
    local_ts = %(local_ts)s
    remote_ts = %(remote_ts)s
    esp_proposals = %(esp)s
    life_time = %(life)ss
    rekey_time = 0
    start_action = none } } } }
""" % {"local": local, "peer": peer, "ike": "%s-%s-%s" % (IKE_ENCRYPTION[enc], PRF[prf], GROUP[group]),
       "cert": cert, "cacert": cacert, "local_ts": ",".join(local_ts), "remote_ts": ",".join(remote_ts),
       "esp": "%s-%s" % (ESP[esp], GROUP[pfs]), "life": life}, local_ts, remote_ts


def strongswan_enroll(sw, ticket, folder):
    """strongSwan's SCEP client, from the spoke's namespace: the CA (and RA)
    certificates, then an RSA key and the certificate the ticket allows."""
    os.makedirs(folder, exist_ok=True)
    url = ticket["scep_url"]

    def pki(args):
        r = sw.exec(["pki"] + args, check=False, timeout=60)
        check(r.returncode == 0, "pki %s: %s" % (args[0], r.stderr[-2000:]))
        return r

    pki(["--scepca", "--url", url, "--caout", os.path.join(folder, "ca.pem"),
         "--raout", os.path.join(folder, "ra.pem"), "--outform", "pem", "--force"])
    ra = os.path.join(folder, "ra.pem")
    if not os.path.exists(ra):  # the CA signs SCEP itself: no RA
        ra = os.path.join(folder, "ca.pem")
    key = os.path.join(folder, "key.der")
    r = sw.exec(["sh", "-c", "pki --gen --type rsa --size 2048 > " + key], check=False, timeout=60)
    check(r.returncode == 0, "pki --gen: " + r.stderr[-500:])
    sans = [s.split(":", 1)[1] for s in ticket.get("subject_alt_names", [])]
    args = ["--scep", "--url", url, "--in", key, "--dn", ticket["subject"], "--password",
            ticket["challenge"], "--cacert-enc", ra, "--cacert-sig", ra,
            "--cacert", os.path.join(folder, "ca.pem"), "--outform", "pem", "--maxpolltime", "30",
            "--interval", "2"]
    for san in sans:
        args += ["--san", san]
    r = sw.exec(["sh", "-c", " ".join("'%s'" % a for a in ["pki"] + args) + " > " +
                 os.path.join(folder, "cert.pem")], check=False, timeout=90)
    check(r.returncode == 0, "pki --scep: " + r.stderr[-2000:])
    cert = subprocess.run(["openssl", "x509", "-in", os.path.join(folder, "cert.pem"), "-noout",
                           "-subject", "-ext", "subjectAltName"], capture_output=True, text=True)
    check(cert.returncode == 0 and "CN = sw" in cert.stdout and sans[0] in cert.stdout,
          "strongSwan's certificate from our CA:\n" + cert.stdout)
    return key, os.path.join(folder, "cert.pem"), os.path.join(folder, "ca.pem")


def main():
    if os.geteuid() != 0:
        skip("needs root for network namespaces")
    if not os.access(CHARON, os.X_OK) or shutil.which("swanctl") is None or shutil.which("pki") is None:
        skip("strongSwan is not installed (scripts/install-deps installs it)")
    lab = vpnlab.Lab("sdh%d" % (os.getpid() % 10000))
    core = lab.add_site("core")
    hub = lab.add_site("hub", lan="10.1.0.0/24")
    sw = lab.add_site("sw", lan="10.2.0.0/24")
    lab.up()
    cleanup = []
    ss = None
    try:
        pki, ctl = fleet_demo.start_core(lab, secure=False)
        op = fleet_demo.Operator(ctl)
        op.run(["device", "add", "hub", "--kind", "vpnfleet", "--wan", hub.wan_address,
                "--endpoint", "unix:" + os.path.join(hub.dir, "ike.sock"), "--site", "hub",
                "--role", "hub", "--prefix", "10.1.0.0/24"])
        op.run(["device", "add", "sw", "--kind", "ios", "--wan", sw.wan_address, "--site", "sw",
                "--role", "spoke", "--prefix", "10.2.0.0/24"])
        op.run(["template", "add", "dyn", "--file", TEMPLATE, "--topology", "hub-and-spoke", "--auth",
                "certificate", "--summary", "10.0.0.0/8", "--var",
                ",".join(VARIABLES + ["scep_url=http://%s:18080/scep" % core.wan_address])])
        for name in ("hub", "sw"):
            op.run(["data", "set", name + "-vpn", "--template_name", "dyn", "--device", name])

        print("case 1: SCEP enrollment of the hub (vpnfleet) and of strongSwan (pki --scep)")
        r = op.run(["-o", "json", "device", "enroll", "hub", "--key_type", "rsa-2048",
                    "--pki_dir", os.path.join(hub.dir, "ike-pki")], site=hub)
        check(json.loads(r.stdout), "the hub enrolled")
        controller = Controller("unix:" + ctl["socket"])
        ticket = controller.call("EnrollDevice", {"device": "sw"})
        check(ticket["subject"] == "CN=sw" and ticket["subject_alt_names"] == ["IP:" + sw.wan_address],
              "the ticket for sw names CN=sw and its WAN address: %s %s" % (
                  ticket["subject"], ticket["subject_alt_names"]))
        key, cert, cacert = strongswan_enroll(sw, ticket, os.path.join(sw.dir, "swan-pki"))
        print("  ok: both enrolled from our CA")

        print("case 2: the hub's rollout (a dynamic map, no spoke named)")
        dp, ike = fleet_demo.start_edge(lab, hub, ["10.1.0.0/24", "10.2.0.0/24"], True, secure=False)
        r = op.run(["rollout", "apply", "hub", "--health_timeout", "20"], check=False)
        check(r.returncode == 0, "rollout apply hub:\n" + r.stdout + r.stderr)
        ike_api = grpcapi.Ike("unix:" + ike["socket"])
        config = ike_api.call("GetConfig", {})
        maps = {m["name"]: m for m in config.get("crypto_maps", [])}
        fleet_map, spokes = maps.get("FLEET", {}), maps.get("FLEET-SPOKES", {})
        check([e.get("dynamic_map") for e in fleet_map.get("entries", [])] == ["FLEET-SPOKES"] and
              spokes.get("dynamic") and not any(e.get("peers") for e in spokes.get("entries", [])) and
              sw.wan_address not in json.dumps(config),
              "the hub's crypto map FLEET is one entry of dynamic map FLEET-SPOKES and names no spoke: %s" %
              json.dumps(list(maps.values()))[:600])

        print("case 3: strongSwan's configuration from the spoke's rendered configlet")
        r = op.run(["template", "render", "sw-vpn"])
        configlet = r.stdout
        conf, local_ts, remote_ts = swanctl_conf(configlet, sw.wan_address, cert, cacert)
        check(local_ts == ["10.2.0.0/24"] and remote_ts == ["10.0.0.0/8"],
              "the spoke's ACL: its LAN to the summary (%s -> %s)" % (local_ts, remote_ts))
        ss = Strongswan(lab, sw, hub.wan_address)
        cleanup.append(ss.stop)
        ss.start()
        ss.load_conf(conf, key)

        print("case 4: strongSwan initiates to the dynamic hub")
        r = ss.swanctl(["--initiate", "--child", "c", "--timeout", "20"], check=False, timeout=40)
        check(r.returncode == 0, "swanctl --initiate:\n" + r.stdout[-3000:])
        wait_for(lambda: established(ike_api), 10, "the hub established")
        sa = established(ike_api)[0]
        check(not sa.get("initiator"), "the hub answered")
        check("CN=sw" in sa.get("remote_certificate_subject", ""),
              "the hub authenticated strongSwan's certificate: %s" % sa.get("remote_certificate_subject"))
        check(ping(sw, sw.lan_address, hub.lan_address, 5), "5 pings strongSwan LAN -> hub LAN")
        check(ping(hub, hub.lan_address, sw.lan_address, 5), "5 pings hub LAN -> strongSwan LAN")
        kids = children(ike_api)
        check(len(kids) == 1 and kids[0].get("crypto_map") == "FLEET/FLEET-SPOKES" and
              kids[0].get("remote_endpoint") == sw.wan_address,
              "one CHILD SA under FLEET/FLEET-SPOKES (the dynamic entry) to the spoke: %s" % json.dumps(kids)[:800])
        c = kids[0].get("counters", {})
        check(int(c.get("pkts_encaps", 0)) >= 5 and int(c.get("pkts_decaps", 0)) >= 5,
              "the hub's dataplane counted encaps %s / decaps %s" % (c.get("pkts_encaps"), c.get("pkts_decaps")))
        r = ss.swanctl(["--list-sas"], check=False)
        check("ESTABLISHED" in r.stdout and "INSTALLED" in r.stdout and "10.0.0.0/8" in r.stdout,
              "strongSwan's view:\n" + r.stdout)
        print("  ok: tunnel up through the dynamic map; pings both ways")
        ss.swanctl(["--terminate", "--ike", "fleet"], check=False)
        wait_for(lambda: not ike_api.call("ListIkeSas", {}).get("ike_sas"), 15, "the hub's SA gone")

        print("case 5: a spoke certified by another CA is refused")
        other = os.path.join(sw.dir, "other-ca")
        os.makedirs(other)
        test_pki.root(other, "ca", "rsa", "/O=elsewhere/CN=Other CA")
        test_pki.issue(other, "sw", "rsa", "/CN=sw", "ca", san="IP:%s" % sw.wan_address)
        stranger_conf = conf.replace(cert, os.path.join(other, "sw.pem"))
        ss.load_conf(stranger_conf, os.path.join(other, "sw.key"))
        r = ss.swanctl(["--initiate", "--child", "c", "--timeout", "15"], check=False, timeout=30)
        check(r.returncode != 0, "strongSwan's initiation with a foreign certificate failed")
        check(not established(ike_api) and not children(ike_api), "the hub keeps no SA for it")
        metrics = lab.scrape(hub, *ike["metrics"])
        failed = [l for l in metrics.splitlines() if l.startswith("vpnfleet_ike_negotiations_failed_total")]
        check(re.search(r'reason="CERTIFICATE_UNTRUSTED"\} [1-9]', "\n".join(failed)) is not None,
              "the hub counted an untrusted certificate:\n" + "\n".join(failed))
        print("  ok: refused, counted, nothing installed")
        print("PASS")
    except Fail as e:
        print("FAIL: %s" % e)
        vpnlab.print_log_tails([hub, core], ["ike", "dataplane", "controller", "pki"])
        if ss is not None:
            vpnlab.print_log_tails([sw], ["charon"])
        return 1
    finally:
        for fn in reversed(cleanup):
            fn()
        lab.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
