#!/usr/bin/env python3
"""The controller speaks to etcd over TLS (issue 23), as a production etcd
runs (client certificates required):
  - a CA, etcd's server certificate (IP 127.0.0.1) and the controller's
    client certificate, made here with openssl; a second, unrelated CA;
  - one etcd member serving clients over TLS only, --client-cert-auth;
  - a controller with --etcd_ca/--etcd_cert/--etcd_key leads and stores;
  - refused at start, naming the endpoint: no client certificate, a CA that
    did not sign etcd's certificate, a client certificate from another CA,
    and plaintext to the TLS port.
Nothing leaves loopback; every process is stopped by PID at the end.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))
sys.path.insert(0, HERE)

from checks import Fail, check, wait_for  # noqa: E402
import fleet  # noqa: E402
from controller_ha_test import ETCD, Replica, free_port, print_logs, shared_key  # noqa: E402
from controller_robustness_test import device  # noqa: E402


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=" + name, "-keyout", name + "-key.pem", "-out", name + ".pem", cwd=d)


def issue(d, ca, name, ext):
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write(ext)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=" + name,
            "-keyout", name + "-key.pem", "-out", name + ".csr", cwd=d)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + "-key.pem",
            "-CAcreateserial", "-days", "2", "-extfile", name + ".ext", "-out", name + ".pem", cwd=d)


def main():
    if not os.path.exists(ETCD):
        print("SKIP: etcd is not installed (apt install etcd-server)")
        return 77
    root = tempfile.mkdtemp(prefix="vpnfleet-etcd-tls-")
    procs, replicas = [], []
    try:
        pki = os.path.join(root, "pki")
        os.makedirs(pki)
        make_ca(pki, "ca")
        make_ca(pki, "rogue-ca")
        issue(pki, "ca", "etcd", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n")
        issue(pki, "ca", "controller", "extendedKeyUsage=clientAuth\n")
        issue(pki, "rogue-ca", "intruder", "extendedKeyUsage=clientAuth\n")
        p = lambda n: os.path.join(pki, n)  # noqa: E731
        client, peer = free_port(), free_port()
        endpoint = "127.0.0.1:%d" % client
        log = open(os.path.join(root, "etcd.log"), "w")
        procs.append(subprocess.Popen([
            ETCD, "--name=tls", "--data-dir=" + os.path.join(root, "etcd"),
            "--listen-client-urls=https://" + endpoint, "--advertise-client-urls=https://" + endpoint,
            "--listen-peer-urls=http://127.0.0.1:%d" % peer,
            "--initial-advertise-peer-urls=http://127.0.0.1:%d" % peer,
            "--initial-cluster=tls=http://127.0.0.1:%d" % peer,
            "--cert-file=" + p("etcd.pem"), "--key-file=" + p("etcd-key.pem"),
            "--client-cert-auth", "--trusted-ca-file=" + p("ca.pem")], stdout=log, stderr=subprocess.STDOUT))
        key = shared_key(root)
        store = "etcd:" + endpoint

        d = os.path.join(root, "replica")
        os.makedirs(d)
        r = Replica(d, "tls-replica", store, key)
        r.extra += ["--etcd_ca=" + p("ca.pem"), "--etcd_cert=" + p("controller.pem"),
                    "--etcd_key=" + p("controller-key.pem")]
        def listening():
            try:
                socket.create_connection(("127.0.0.1", client), timeout=1).close()
                return True
            except OSError:
                return False
        wait_for(listening, 20, "etcd's client port listens")
        r.start()
        replicas.append(r)
        wait_for(lambda: r.role() == "leader", 30, "the controller on etcd over TLS leads")
        pb = r.pb
        r.raw("PutDevice", pb.PutDeviceRequest(device=device(pb, "edge-tls", "203.0.113.20")), pb.Device)
        check(r.call("GetDevice", {"name": "edge-tls"}, "Device").get("wan_address") == "203.0.113.20",
              "a controller with etcd's CA and its client certificate leads and stores over TLS")

        def refused(flags, what):
            lone = tempfile.mkdtemp(dir=root)
            out = subprocess.run([fleet.binary("vpnfleet-controller"), "--data_dir=" + lone,
                                  "--grpc_socket=" + os.path.join(lone, "s"), "--metrics_listen=127.0.0.1:0",
                                  "--store=" + store, "--secret_key=" + key] + flags,
                                 capture_output=True, text=True, timeout=60)
            text = out.stdout + out.stderr
            check(out.returncode != 0 and endpoint in text, "%s: refused at start naming %s (%s)" % (
                what, endpoint, [l for l in text.splitlines() if "etcd" in l][-1:]))
        refused(["--etcd_ca=" + p("ca.pem")], "no client certificate")
        refused(["--etcd_ca=" + p("rogue-ca.pem"), "--etcd_cert=" + p("controller.pem"),
                 "--etcd_key=" + p("controller-key.pem")], "etcd's certificate from a CA not trusted")
        refused(["--etcd_ca=" + p("ca.pem"), "--etcd_cert=" + p("intruder.pem"),
                 "--etcd_key=" + p("intruder-key.pem")], "a client certificate from another CA")
        refused([], "plaintext to etcd's TLS port")
        print("PASS")
        return 0
    except Fail as e:
        print("FAIL:", e)
        print_logs(replicas)
        return 1
    finally:
        for r in replicas:
            r.stop()
        for pr in procs:
            pr.kill()
            pr.wait()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
