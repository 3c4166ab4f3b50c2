"""What the PKI interop tests share: our vpnfleet-pki on loopback in a
temporary directory, and small helpers around subprocesses and HTTP."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

BIN = os.environ.get("VPNFLEET_BIN_DIR", "build/bin")
PKI = os.path.join(BIN, "vpnfleet-pki")
CLI = os.path.join(BIN, "vpnfleet")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("nothing answers at " + url)


def run(args, check=True, **kw):
    r = subprocess.run(args, capture_output=True, text=True, timeout=120, **kw)
    if check and r.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (" ".join(args), r.returncode, r.stdout,
                                                          r.stderr))
    return r


def verify(ca_pem, cert_pem, crl=None):
    args = ["openssl", "verify", "-CAfile", ca_pem]
    if crl:
        args += ["-crl_check", "-CRLfile", crl]
    return run(args + [cert_pem], check=False)


class OurPki:
    """vpnfleet-pki in a temporary data directory."""

    def __init__(self, workdir, extra_args=()):
        self.dir = workdir
        self.data = os.path.join(workdir, "data")
        self.sock = os.path.join(workdir, "pki.sock")
        self.port = free_port()
        self.metrics_port = free_port()
        self.extra_args = list(extra_args)
        self.url = "http://127.0.0.1:%d/scep" % self.port
        self.proc = None

    def start(self):
        if getattr(self, "log", None):
            self.log.close()
        self.log = open(os.path.join(self.dir, "pki.log"), "a")
        self.proc = subprocess.Popen(
            [PKI, "--data_dir", self.data, "--scep_listen", "127.0.0.1:%d" % self.port,
             "--grpc_listen", "127.0.0.1:0", "--grpc_socket", self.sock,
             "--metrics_listen", "127.0.0.1:%d" % self.metrics_port, "--ca_key", "rsa-2048",
             "--scep_threads", "4"] + self.extra_args,
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_http("http://127.0.0.1:%d/scep?operation=GetCACaps" % self.port)
        deadline = time.time() + 10
        while not os.path.exists(self.sock) and time.time() < deadline:
            time.sleep(0.05)

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()
            self.log = None

    def cli(self, *args, check=True):
        return run([CLI, "--pki", "unix:" + self.sock] + list(args), check=check)

    def challenge(self, device, *extra):
        out = self.cli("pki", "challenge", "--device", device, "-o", "json", *extra).stdout
        return json.loads(out)["password"]

    def certificates(self):
        out = self.cli("show", "crypto", "pki", "certificates", "-o", "json").stdout
        return json.loads(out).get("certificates", [])

    @property
    def ca_pem(self):
        return os.path.join(self.data, "ca.pem")

    def metric(self, name, labels=""):
        """One sample of the PKI's /metrics, e.g. metric("x_total", 'outcome="timeout"')."""
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.metrics_port,
                                      timeout=5).read().decode()
        want = name + ("{%s}" % labels if labels else "")
        for line in text.splitlines():
            if line.startswith(want + " "):
                return float(line.split()[-1])
        return None
