#!/usr/bin/env python3
"""OCSP (RFC 6960) between our PKI, our IKE daemon, strongSwan and OpenSSL.

Site `c` runs our PKI (SCEP, CRL and OCSP on its WAN address; answers valid
for a few seconds), site `v` our IKE daemon and dataplane, site `s`
strongSwan's charon with its revocation plugin (OCSP fetched with the curl
plugin) and `revocation = strict`. Both edges enroll over SCEP; their
certificates name the PKI's responder (authorityInfoAccess).

  1. `openssl ocsp` asks our responder about v's certificate: a signed
     "good" that OpenSSL verifies against the CA, with its nonce;
  2. both sides check each other by OCSP only (`revocation-check ocsp`
     here, strict there) and the tunnel comes up: pings pass, our daemon
     counts a good verdict, strongSwan logs the good status, the PKI counts
     both questions;
  3. s's certificate is revoked: `openssl ocsp` says revoked (keyCompromise);
     strongSwan's next IKE SA is refused by us (CERTIFICATE_UNTRUSTED,
     verdict revoked);
  4. s gets a new certificate, v's is revoked: our next IKE SA is refused
     by strongSwan, which logs that our certificate was revoked.
Exit 77 (skip) without root or strongSwan.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))

from checks import Fail, check, skip, wait_for, metric  # noqa: E402
import fleet  # noqa: E402
import strongswan_interop_test as ssw  # noqa: E402
import vpnlab  # noqa: E402

OCSP_VALIDITY_S = 4
IKE = ("ENCRYPTION_AES_GCM_128", "PRF_HMAC_SHA2_256", "DH_GROUP_ECP_256")

STRICT_AUTH = """local { auth = pubkey
    certs = %(cert)s
    id = %(id)s }
  remote { auth = pubkey
    cacerts = %(cacert)s
    revocation = strict }"""


class Pki:
    def __init__(self, lab, site):
        self.lab, self.site = lab, site
        self.rec = fleet.start(lab, site.name, "pki", [
            "--ocsp_validity=%ds" % OCSP_VALIDITY_S, "--ca_key=ecdsa-p256"])
        self.base = "http://%s:18080" % site.local_address

    def cli(self, *args):
        r = fleet.cli(["--pki=unix:" + self.rec["socket"]] + list(args))
        if r.returncode != 0:
            raise Fail("vpnfleet %s: %s" % (" ".join(args), r.stderr.strip()))
        return r.stdout

    def enroll(self, site, name, key, cert, ca):
        """A certificate for `site` (CN=name, IP:its WAN address) over SCEP,
        enrolled from inside the site; returns its serial."""
        san = "IP:" + site.wan_address
        pw = json.loads(self.cli("pki", "challenge", "--device", name, "--san", san, "-o",
                                 "json"))["password"]
        r = site.exec([fleet.binary("vpnfleet"), "-o", "json", "pki", "enroll", "--url",
                       self.base + "/scep", "--challenge", pw, "--subject", "CN=" + name,
                       "--san", san, "--key_type", "ecdsa-p256", "--key_file", key,
                       "--cert_file", cert, "--ca_file", ca], check=False, timeout=60)
        if r.returncode != 0:
            raise Fail("enroll %s: %s" % (name, r.stderr.strip()))
        return json.loads(r.stdout)["serial_hex"]

    def revoke(self, serial):
        self.cli("pki", "revoke", serial, "--reason", "key-compromise")

    def openssl_ocsp(self, site, cert, ca):
        """`openssl ocsp` from inside `site` about `cert`: its text output."""
        r = site.exec(["openssl", "ocsp", "-issuer", ca, "-cert", cert, "-CAfile", ca,
                       "-url", self.base + "/ocsp", "-resp_text"], check=False, timeout=30)
        return r.returncode, r.stdout + r.stderr

    def metrics(self):
        return self.lab.scrape(self.site, *self.rec["metrics"])


def main():
    if os.geteuid() != 0:
        skip("needs root for network namespaces")
    if not os.access(ssw.CHARON, os.X_OK) or shutil.which("swanctl") is None:
        skip("strongSwan is not installed (scripts/install-deps installs it)")
    if not os.path.exists("/usr/lib/ipsec/plugins/libstrongswan-curl.so"):
        skip("strongSwan's curl plugin is not installed (libstrongswan-extra-plugins)")
    lab = vpnlab.Lab("ocsp%d" % (os.getpid() % 10000))
    c = lab.add_site("c")
    v = lab.add_site("v", lan="10.1.0.0/24")
    s = lab.add_site("s", lan="10.2.0.0/24")
    lab.up()
    cleanup = []
    # strongSwan with the curl plugin to fetch OCSP over HTTP.
    ssw.STRONGSWAN_CONF = ssw.STRONGSWAN_CONF.replace(" revocation ", " curl revocation ")
    try:
        pki = Pki(lab, c)
        dprec, ikerec, dp, ike = ssw.start_our_side(lab, v, "10.1.0.0/24", "10.2.0.0/24")
        ss = ssw.Strongswan(lab, s, v.wan_address)
        cleanup.append(ss.stop)
        ss.start()

        tp = os.path.join(v.dir, "ike-pki", "LABCA")
        os.makedirs(tp, exist_ok=True)
        v_cert, v_ca = os.path.join(tp, "cert.pem"), os.path.join(tp, "ca.pem")
        pki.enroll(v, "site-v", os.path.join(tp, "key.pem"), v_cert, v_ca)
        s_files = {n: os.path.join(ss.dir, n + ".pem") for n in ("key", "cert", "ca")}
        s_serial = pki.enroll(s, "site-s", s_files["key"], s_files["cert"], s_files["ca"])

        print("case 1: openssl ocsp asks our responder")
        rc, out = pki.openssl_ocsp(v, v_cert, v_ca)
        check(rc == 0 and "Response verify OK" in out, "OpenSSL verifies the answer's signature")
        check(re.search(r"cert\.pem: good", out) is not None, "v's certificate: good")
        check("OCSP Nonce" in out, "the nonce comes back")

        print("case 2: both sides check each other by OCSP only; the tunnel comes up")
        config = ssw.cert_config(s.wan_address, IKE, "ENCRYPTION_AES_GCM_128",
                                 "AUTH_METHOD_RSA_SIG", "ISAKMP_IDENTITY_ADDRESS")
        config["trustpoints"] = [{"name": "LABCA",
                                  "revocation_check": ["REVOCATION_METHOD_OCSP"]}]
        ike.call("ReplaceConfig", {"config": config})

        def load_strongswan(files):
            private = os.path.join(ss.dir, "private")
            shutil.rmtree(private, ignore_errors=True)
            os.makedirs(private)
            shutil.copy(files["key"], private)
            ss._write("aes128gcm16-prfsha256-ecp256", "aes128gcm16", STRICT_AUTH % {
                "cert": files["cert"], "cacert": files["ca"], "id": s.wan_address}, "")

        load_strongswan(s_files)
        started = time.time()
        r = ss.swanctl(["--initiate", "--child", "c", "--timeout", "20"], check=False, timeout=40)
        took = time.time() - started
        check(r.returncode == 0, "strongSwan initiates and succeeds (%.2f s, OCSP both ways)" % took)
        wait_for(lambda: ssw.ping(v, v.lan_address, s.lan_address, 2), 20, "ping 10.1.0.1 -> 10.2.0.1")
        check(ssw.ping(v, v.lan_address, s.lan_address, 5), "5 pings through the tunnel")
        ours = lab.scrape(v, *ikerec["metrics"])
        check(metric(ours, "vpnfleet_ike_ocsp_checks_total", 'verdict="good"') >= 1,
              "our daemon asked about strongSwan's certificate: good")
        with open(ss.rec["log"], errors="replace") as f:
            charon_log = f.read()
        check("certificate status is good" in charon_log,
              "strongSwan asked about ours: \"certificate status is good\"")
        theirs = pki.metrics()
        check(metric(theirs, "vpnfleet_pki_ocsp_responses_total", 'status="good"') >= 3,
              "the PKI answered good %d times (openssl, us, strongSwan)" %
              metric(theirs, "vpnfleet_pki_ocsp_responses_total", 'status="good"'))

        print("case 3: strongSwan's certificate is revoked; its next IKE SA is refused")
        pki.revoke(s_serial)
        rc, out = pki.openssl_ocsp(s, s_files["cert"], s_files["ca"])
        check("revoked" in out and "keyCompromise" in out.replace(" ", ""),
              "openssl ocsp: s's certificate revoked (keyCompromise)")
        ss.swanctl(["--terminate", "--ike", "t", "--timeout", "10"], check=False, timeout=20)
        time.sleep(OCSP_VALIDITY_S + 1)  # our cached "good" runs out
        failed_before = metric(lab.scrape(v, *ikerec["metrics"]),
                               "vpnfleet_ike_negotiations_failed_total",
                               'reason="CERTIFICATE_UNTRUSTED"')
        r = ss.swanctl(["--initiate", "--child", "c", "--timeout", "15"], check=False, timeout=30)
        check(r.returncode != 0, "strongSwan's initiation fails")
        ours = lab.scrape(v, *ikerec["metrics"])
        check(metric(ours, "vpnfleet_ike_ocsp_checks_total", 'verdict="revoked"') >= 1,
              "our daemon's verdict: revoked")
        check(metric(ours, "vpnfleet_ike_negotiations_failed_total",
                     'reason="CERTIFICATE_UNTRUSTED"') > failed_before,
              "refused as CERTIFICATE_UNTRUSTED")
        check(not ssw.established(ike), "no IKE SA up on our side")

        print("case 4: ours is revoked; strongSwan refuses our next IKE SA")
        for f in s_files.values():
            os.remove(f)
        pki.enroll(s, "site-s", s_files["key"], s_files["cert"], s_files["ca"])
        load_strongswan(s_files)
        v_serial = subprocess.run(["openssl", "x509", "-in", v_cert, "-noout", "-serial"],
                                  capture_output=True, text=True).stdout.strip().split("=")[-1]
        pki.revoke(v_serial.lower().lstrip("0"))
        time.sleep(OCSP_VALIDITY_S + 1)  # strongSwan's cached "good" runs out
        for _ in range(3):
            ssw.ping(v, v.lan_address, s.lan_address, 1)  # the acquire: we initiate
        wait_for(lambda: "was revoked" in open(ss.rec["log"], errors="replace").read(), 30,
                 "strongSwan logs that our certificate was revoked")
        check(not ssw.established(ike), "no IKE SA up on our side")
        check(not ssw.ping(v, v.lan_address, s.lan_address, 2), "no traffic passes")

        ss.stop()
        dp.close()
        ike.close()
        print("PASS")
        return 0
    except Fail as e:
        print("FAIL:", e)
        vpnlab.print_log_tails((c, v, s), ("pki", "ike", "dataplane", "charon"))
        return 1
    finally:
        lab.down()
        for fn in cleanup:
            fn()


if __name__ == "__main__":
    sys.exit(main())
