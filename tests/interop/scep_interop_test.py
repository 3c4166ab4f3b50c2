#!/usr/bin/python3
"""SCEP interop with micromdm's implementation (Debian package `scep`), both
ways, and the PKI service end to end on loopback:

- their scepclient enrolls against our vpnfleet-pki; `openssl verify` accepts it;
- our `vpnfleet pki enroll` enrolls against their scepserver; `openssl verify`;
- wrong, reused and expired challenges, garbage bodies: refused, store unchanged;
- manual approval with polling; renewal across a restart of our service;
- revocation appears in the CRL served over HTTP, and openssl's CRL check
  refuses the revoked certificate.

Everything listens on 127.0.0.1; every process started here is stopped by PID.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))
from pki_lab import CLI, OurPki, free_port, run, verify, wait_http  # noqa: E402

if not (shutil.which("scepserver") and shutil.which("scepclient")):
    print("SKIP: micromdm scep (Debian package scep) is not installed")
    sys.exit(77)


class ScepInterop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vpnfleet-scep-")
        cls.pki = OurPki(cls.tmp)
        cls.pki.start()
        # micromdm's server with its own CA and a static challenge.
        cls.depot = os.path.join(cls.tmp, "depot")
        run(["scepserver", "ca", "-init", "-depot", cls.depot])
        cls.their_port = free_port()
        cls.their_log = open(os.path.join(cls.tmp, "scepserver.log"), "w")
        cls.their = subprocess.Popen(
            ["scepserver", "-depot", cls.depot, "-port", str(cls.their_port),
             "-challenge", "s3cret"], stdout=cls.their_log, stderr=subprocess.STDOUT)
        cls.their_url = "http://127.0.0.1:%d/scep" % cls.their_port
        wait_http(cls.their_url + "?operation=GetCACaps")

    @classmethod
    def tearDownClass(cls):
        cls.pki.stop()
        if cls.their.poll() is None:
            cls.their.terminate()
            cls.their.wait(10)
        cls.their_log.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def their_client(self, cn, challenge, name, *extra):
        """scepclient in a directory of its own: it keeps csr.pem and self.pem
        beside the key and reuses them on the next run. Returns (result, cert)."""
        d = os.path.join(self.tmp, name)
        os.makedirs(d)
        key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
        r = run(["scepclient", "-server-url", self.pki.url, "-challenge", challenge, "-cn", cn,
                 "-private-key", key, "-certificate", cert] + list(extra), check=False, cwd=d)
        return r, cert

    def test_1_their_client_enrolls_with_us(self):
        pw = self.pki.challenge("edge-mdm")
        r, cert = self.their_client("edge-mdm", pw, "mdm")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(verify(self.pki.ca_pem, cert).returncode, 0)
        # Pinned by fingerprint. micromdm's -ca-fingerprint picks the
        # certificate its requests are sealed to, which is our RA: GetCACert
        # gives the CA and the RA (RFC 8894 §4.2.1.2).
        fp = run(["openssl", "x509", "-in", os.path.join(self.pki.data, "ra.pem"), "-noout",
                  "-fingerprint", "-sha256"]).stdout.split("=", 1)[1].strip().replace(":", "")
        pw2 = self.pki.challenge("edge-mdm2")
        r, _ = self.their_client("edge-mdm2", pw2, "mdm2", "-ca-fingerprint", fp)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        devices = {c["device"] for c in self.pki.certificates()}
        self.assertTrue({"edge-mdm", "edge-mdm2"} <= devices, devices)

    def test_2_our_client_enrolls_with_them(self):
        key, cert, ca = self.path("ours.key"), self.path("ours.crt"), self.path("their-ca.pem")
        r = run([CLI, "pki", "enroll", "--url", self.their_url, "--challenge", "s3cret",
                 "--subject", "CN=edge-ours,O=vpnfleet", "--key_type", "rsa-2048",
                 "--key_file", key, "--cert_file", cert, "--ca_file", ca, "-o", "json"])
        self.assertEqual(json.loads(r.stdout)["result"], "issued")
        self.assertEqual(verify(os.path.join(self.depot, "ca.pem"), cert).returncode, 0)
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        # Their server refuses a wrong challenge; we report the failInfo.
        r = run([CLI, "pki", "enroll", "--url", self.their_url, "--challenge", "wrong",
                 "--subject", "CN=edge-ours2", "--key_type", "rsa-2048",
                 "--key_file", self.path("o2.key"), "--cert_file", self.path("o2.crt")],
                check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("failInfo", r.stderr)
        self.assertFalse(os.path.exists(self.path("o2.key")))

    def test_3_bad_challenges_and_bodies_change_nothing(self):
        before = len(self.pki.certificates())
        # Wrong password.
        r, cert = self.their_client("bad1", "not-a-challenge", "bad1")
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("badRequest", r.stdout + r.stderr)
        self.assertFalse(os.path.exists(cert))
        # Reused password.
        pw = self.pki.challenge("edge-reuse")
        self.assertEqual(self.their_client("edge-reuse", pw, "reuse1")[0].returncode, 0)
        r, cert = self.their_client("edge-reuse", pw, "reuse2")
        self.assertNotEqual(r.returncode, 0)
        self.assertFalse(os.path.exists(cert))
        # Expired password.
        pw = self.pki.challenge("edge-late", "--valid_seconds", "1")
        time.sleep(2.1)
        r, cert = self.their_client("edge-late", pw, "late")
        self.assertNotEqual(r.returncode, 0)
        self.assertFalse(os.path.exists(cert))
        # Garbage over POST and GET.
        for req in [urllib.request.Request(self.pki.url + "?operation=PKIOperation",
                                           data=b"\x30\x82garbage", method="POST"),
                    urllib.request.Request(self.pki.url + "?operation=PKIOperation&message=AAAA")]:
            with self.assertRaises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(req, timeout=5)
            self.assertEqual(e.exception.code, 400)
        self.assertEqual(len(self.pki.certificates()), before + 1)  # only edge-reuse's first
        metrics = self.pki.cli("status", "pki", check=False)
        self.assertEqual(metrics.returncode, 0, metrics.stdout + metrics.stderr)

    def test_4_approval_renewal_across_restart_and_revocation(self):
        pw = self.pki.challenge("edge-held", "--approval", "--san",
                                "DNS:edge-held.example,IP:192.0.2.77")
        key, cert = self.path("held.key"), self.path("held.crt")
        enroll = subprocess.Popen(
            [CLI, "pki", "enroll", "--url", self.pki.url, "--challenge", pw, "--subject",
             "CN=edge-held", "--san", "DNS:edge-held.example,IP:192.0.2.77", "--key_file", key,
             "--cert_file", cert, "--poll_seconds", "1", "--wait_seconds", "60", "-o", "json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            pending = []
            deadline = time.time() + 20
            while not pending and time.time() < deadline:
                pending = json.loads(self.pki.cli("pki", "pending", "-o", "json").stdout).get(
                    "requests", [])
                time.sleep(0.3)
            self.assertEqual(len(pending), 1)
            self.assertEqual(pending[0]["device"], "edge-held")
            self.pki.cli("pki", "approve", pending[0]["transaction_id"])
            out, err = enroll.communicate(timeout=60)
        finally:
            if enroll.poll() is None:
                enroll.kill()
        self.assertEqual(enroll.returncode, 0, err)
        self.assertEqual(json.loads(out)["result"], "issued")
        self.assertEqual(verify(self.pki.ca_pem, cert).returncode, 0)
        first_serial = json.loads(out)["serial_hex"]

        # Killed (-9) between enrollment and renewal, then started again:
        # nothing lost.
        before = sorted(c["serial_hex"] for c in self.pki.certificates())
        self.pki.stop(signal.SIGKILL)
        self.pki.start()
        self.assertEqual(sorted(c["serial_hex"] for c in self.pki.certificates()), before)
        r = run([CLI, "pki", "renew", "--url", self.pki.url, "--key_file", key, "--cert_file",
                 cert, "--days_before", "400", "-o", "json"])
        renewed = json.loads(r.stdout)
        self.assertEqual(renewed["result"], "renewed")
        self.assertNotEqual(renewed["serial_hex"], first_serial)
        self.assertEqual(verify(self.pki.ca_pem, cert).returncode, 0)
        san = run(["openssl", "x509", "-in", cert, "-noout", "-ext", "subjectAltName"]).stdout
        self.assertIn("192.0.2.77", san)

        # Revoke the renewed certificate; the CRL over HTTP lists it and
        # openssl's CRL check refuses it, while another certificate passes.
        self.pki.cli("pki", "revoke", renewed["serial_hex"], "--reason", "key-compromise")
        crl_der = urllib.request.urlopen(
            "http://127.0.0.1:%d/crl/ca.crl" % self.pki.port, timeout=5).read()
        crl = self.path("ca.crl")
        with open(crl + ".der", "wb") as f:
            f.write(crl_der)
        run(["openssl", "crl", "-inform", "DER", "-in", crl + ".der", "-out", crl])
        text = run(["openssl", "crl", "-in", crl, "-noout", "-text", "-CAfile",
                    self.pki.ca_pem]).stdout
        self.assertIn(renewed["serial_hex"].upper(), text.replace(":", "").upper())
        self.assertIn("Key Compromise", text)
        self.assertNotEqual(verify(self.pki.ca_pem, cert, crl).returncode, 0)
        self.assertEqual(verify(self.pki.ca_pem, os.path.join(self.tmp, "mdm", "cert.pem"), crl).returncode, 0)
        show = self.pki.cli("show", "crypto", "pki", "certificates", "--device", "edge-held").stdout
        self.assertIn("Status: Revoked", show)
        self.assertIn("Certificate Serial Number (hex): " + renewed["serial_hex"].upper(), show)
        self.assertIn("CA Certificate", show)


if __name__ == "__main__":
    unittest.main(verbosity=2)
