"""Starting vpnfleet's daemons inside a lab, the same way for tests and the demo.

Each daemon listens for gRPC on its site's WAN-side address (TCP) and on a
Unix socket in the site's lab folder, serves /metrics on the same address,
logs JSON to SITE_DIR/SERVICE.log and writes a ready file once serving.
"""

import json
import os
import subprocess

# service: (gRPC port, metrics port, API)
SERVICES = {
    "controller": (7401, 9401, "vpnfleet.controller.v1.ControllerService"),
    "pki": (7402, 9402, "vpnfleet.pki.v1.PkiService"),
    "ike": (7403, 9403, "vpnfleet.ike.v1.IkeService"),
    "dataplane": (7404, 9404, "vpnfleet.dataplane.v1.DataplaneService"),
}


def bin_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get("VPNFLEET_BIN_DIR",
                          os.path.join(here, "..", "..", "build", "bin"))


def binary(name):
    path = os.path.join(bin_dir(), name)
    if not os.access(path, os.X_OK):
        raise FileNotFoundError("%s not built (looked in %s; set VPNFLEET_BIN_DIR)" % (name, path))
    return path


def tls_args(tls):
    """--tls_* flags for a dict of cert/key/ca[/crl] paths; --insecure for None."""
    if tls is None:
        return ["--insecure"]
    args = ["--tls_cert=" + tls["cert"], "--tls_key=" + tls["key"], "--tls_ca=" + tls["ca"]]
    if tls.get("crl"):
        args.append("--tls_crl=" + tls["crl"])
    return args


def start(lab, site_name, service, extra_args=(), tls=None):
    """Starts vpnfleet-SERVICE in the site and waits until it serves.

    tls: the daemon's mTLS files (dict cert/key/ca[/crl]); None serves TCP in
    plaintext (--insecure), for tests about something else. "self" (the PKI
    only): the PKI issues its own."""
    site = lab.site(site_name)
    grpc_port, metrics_port, api = SERVICES[service]
    ready = os.path.join(site.dir, service + ".ready")
    if os.path.exists(ready):
        os.remove(ready)
    socket = os.path.join(site.dir, service + ".sock")
    args = [binary("vpnfleet-" + service),
            "--grpc_listen=%s:%d" % (site.local_address, grpc_port),
            "--grpc_socket=" + socket,
            "--metrics_listen=%s:%d" % (site.local_address, metrics_port),
            "--ready_file=" + ready,
            "--log_format=json"]
    if tls != "self":
        args += tls_args(tls)
    if service == "pki":
        # The CA and its store in the site's lab folder, SCEP on the site's address.
        args += ["--data_dir=" + os.path.join(site.dir, "pki-data"),
                 "--scep_listen=%s:18080" % site.local_address]
    if service == "controller":
        # The store and its master key in the site's lab folder, not /var/lib.
        args += ["--data_dir=" + os.path.join(site.dir, "controller-data")]
    if service == "ike":
        # Trustpoint files in the site's lab folder, not /var/lib.
        args += ["--pki_dir=" + os.path.join(site.dir, "ike-pki")]
    args += list(extra_args)
    rec = lab.spawn(site, service, args)
    info = lab.wait_file(ready, timeout=30, proc=rec)
    rec.update({"service": service, "api": api, "socket": socket, "ready": info,
                "ready_file": ready,
                "tcp": "%s:%d" % (site.local_address, grpc_port),
                "crl": os.path.join(site.dir, "pki-data", "tls", "crl.pem"),
                "metrics": (site.local_address, metrics_port)})
    return rec


def cli(args, site=None, check=False, tls=None):
    """Runs the vpnfleet CLI, in a site's namespace if given. Returns CompletedProcess.
    tls: the caller's identity files for TCP targets (dict cert/key/ca)."""
    argv = [binary("vpnfleet")]
    if tls is not None:
        argv += ["--tls_cert=" + tls["cert"], "--tls_key=" + tls["key"], "--tls_ca=" + tls["ca"]]
    argv += list(args)
    if site is not None:
        argv = ["ip", "netns", "exec", site.ns] + argv
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=check)


def status(targets, site=None, tls=None, insecure=False):
    """`vpnfleet status -o json` for {service: target}; returns (exit code, parsed JSON)."""
    args = ["-o", "json"] + ["--%s=%s" % (svc, t) for svc, t in targets.items()]
    if insecure:
        args.append("--insecure")
    r = cli(args + ["status"] + list(targets), site=site, tls=tls)
    try:
        parsed = json.loads(r.stdout)
    except ValueError:
        parsed = {"error": r.stderr}
    return r.returncode, parsed


def issue_identity(pki, role, name, folder, tls=None, site=None):
    """A fleet mTLS identity (spiffe://vpnfleet/ROLE/NAME) from the PKI, asked
    for over its Unix socket as root (admin there) unless `tls` names an
    admin's files; returns {cert, key, ca, crl} paths in folder."""
    os.makedirs(folder, exist_ok=True)
    files = {k: os.path.join(folder, k + ".pem") for k in ("cert", "key", "ca")}
    target = pki["tcp"] if tls is not None else "unix:" + pki["socket"]
    cli(["--pki=" + target, "pki", "identity", role, name, "--key_file", files["key"],
         "--cert_file", files["cert"], "--ca_file", files["ca"]], site=site, check=True, tls=tls)
    files["crl"] = pki["crl"]
    return files

