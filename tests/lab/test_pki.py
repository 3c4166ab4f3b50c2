"""A throw-away certificate authority for lab tests, made with the openssl
command: roots, issuing CAs and end-entity certificates (RSA or ECDSA) with
subjectAltNames, valid for two days from now."""

import os
import subprocess

_KEYS = {
    "rsa": ["-newkey", "rsa:2048"],
    "rsa4096": ["-newkey", "rsa:4096"],
    "p256": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "p384": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
}


def _run(args):
    subprocess.run(["openssl"] + args, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def root(folder, name, kind, subject):
    """Self-signed CA NAME.pem / NAME.key in folder; returns the .pem path."""
    pem, key = os.path.join(folder, name + ".pem"), os.path.join(folder, name + ".key")
    _run(["req", "-x509", "-nodes", "-days", "2", "-subj", subject, "-keyout", key, "-out", pem,
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"] + _KEYS[kind])
    return pem


def issue(folder, name, kind, subject, issuer, san=None, ca=False):
    """NAME.pem / NAME.key signed by ISSUER (a name made here before)."""
    pem, key = os.path.join(folder, name + ".pem"), os.path.join(folder, name + ".key")
    csr, ext = os.path.join(folder, name + ".csr"), os.path.join(folder, name + ".ext")
    _run(["req", "-new", "-nodes", "-subj", subject, "-keyout", key, "-out", csr] + _KEYS[kind])
    with open(ext, "w") as f:
        if ca:
            f.write("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
        else:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n")
        if san:
            f.write("subjectAltName=%s\n" % san)
    _run(["x509", "-req", "-in", csr, "-days", "2", "-CA", os.path.join(folder, issuer + ".pem"),
          "-CAkey", os.path.join(folder, issuer + ".key"), "-CAcreateserial",
          "-extfile", ext, "-out", pem])
    return pem


def read(folder, *names):
    """The PEM text of NAME.pem files, concatenated."""
    out = ""
    for n in names:
        with open(os.path.join(folder, n + ".pem")) as f:
            out += f.read()
    return out


def install_trustpoint(pki_dir, trustpoint, folder, ca, cert=None, chain=()):
    """Lays files out as `vpnfleet pki enroll` does for the IKE daemon's
    --pki_dir: TRUSTPOINT/ca.pem, cert.pem (leaf then CHAIN), key.pem."""
    d = os.path.join(pki_dir, trustpoint)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "ca.pem"), "w") as f:
        f.write(read(folder, ca))
    if cert:
        with open(os.path.join(d, "cert.pem"), "w") as f:
            f.write(read(folder, cert, *chain))
        with open(os.path.join(folder, cert + ".key")) as src:
            key = src.read()
        fd = os.open(os.path.join(d, "key.pem"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key)
