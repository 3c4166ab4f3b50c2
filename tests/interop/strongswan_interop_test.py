#!/usr/bin/env python3
"""IKEv2 against strongSwan on the wire, in a lab of network namespaces.

Site `v` runs our IKE daemon and dataplane (LAN 10.1.0.0/24); site `s` runs
Debian's strongSwan 5.9.8 charon with its userspace ESP (kernel-libipsec,
LAN 10.2.0.0/24). strongSwan's libipsec speaks only ESP in UDP and fakes
NAT detection, so every case also exercises our NAT-T path: IKE moves to
port 4500 (through the dataplane's punt channel) and ESP goes inside UDP.

Each case brings a tunnel up, pings from LAN to LAN through our dataplane
and strongSwan's, and checks what both sides report:
  1. we initiate (triggered by traffic: the dataplane's acquire), PSK,
     AES-GCM-128 / X25519; then strongSwan deletes the IKE SA and our
     dataplane's SAs go away;
  2. strongSwan initiates, PSK, AES-CBC-256 + SHA-256 / MODP-2048 IKE and
     AES-CBC-128 + SHA-256 ESP; then we delete (Terminate) and strongSwan
     reports no SA;
  3. strongSwan initiates with ECP-256 and the CHILD SA is re-keyed by
     strongSwan under traffic (swanctl --rekey): the ping keeps working on
     the new SPIs and the old ones are gone; then strongSwan re-keys the IKE
     SA under traffic, and we re-key it at its soft lifetime (60 s): the
     CHILD SA moves over, no ping is lost;
  4. a wrong PSK fails with AUTHENTICATION_FAILED and installs nothing;
  5. RSA certificates from a test CA (openssl), address identities, we
     initiate; strongSwan sends its certificate because we asked (CERTREQ);
  6. ECDSA certificates: ours P-256 under an issuing CA sent along with it,
     strongSwan's P-384 under the root; DN identities; strongSwan initiates;
  7. DPD (`crypto isakmp keepalive 10 2`, on-demand) declares a SIGKILLed
     charon dead once our LAN sends to it, and removes the CHILD SAs from our
     dataplane.
Exit 77 (skip) without root or strongSwan.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))

from checks import Fail, check, skip, wait_for  # noqa: E402
import fleet  # noqa: E402
import test_pki  # noqa: E402
import manual_tunnel  # noqa: E402
import vpnlab  # noqa: E402

CHARON = "/usr/lib/ipsec/charon"
PSK = "interop-psk-0123456789"

STRONGSWAN_CONF = """charon {
  install_routes = no
  install_virtual_ip = no
  load_modular = no
  retransmit_tries = 3
  load = random nonce aes sha1 sha2 hmac kdf gcm openssl pem pkcs1 pkcs8 x509 revocation constraints pubkey kernel-libipsec kernel-netlink socket-default vici
  filelog { stderr { default = 1  ike = 2 } }
  plugins { vici { socket = unix://%(dir)s/charon.vici } }
  %(options)s
}
"""

# One connection `t`; `auth` holds its local { } and remote { } blocks and any
# secrets section.
SWANCTL_CONF = """connections { t {
  version = 2
  local_addrs = %(local)s
  remote_addrs = %(remote)s
  proposals = %(ike)s
  rekey_time = 0
  %(auth)s
  children { c {
    local_ts = 10.2.0.0/24
    remote_ts = 10.1.0.0/24
    esp_proposals = %(esp)s
    rekey_time = 0
    start_action = none } } } }
%(secrets)s
"""

PSK_AUTH = """local { auth = psk
    id = %(local)s }
  remote { auth = psk
    id = %(remote)s }"""
PSK_SECRETS = """secrets { ike-1 { id-1 = %(local)s
  id-2 = %(remote)s
  secret = "%(psk)s" } }"""
CERT_AUTH = """local { auth = pubkey
    certs = %(cert)s
    %(local_id)s }
  remote { auth = pubkey
    cacerts = %(cacert)s }"""


class Strongswan:
    def __init__(self, lab, site, peer):
        self.lab = lab
        self.site = site
        self.peer = peer
        # Not under the lab's folder in /run: charon gets a /run of its own.
        self.dir = tempfile.mkdtemp(prefix="vpnfleet-strongswan-")
        self.uri = "unix://%s/charon.vici" % self.dir
        self.rec = None
        self.charon_options = ""  # more `charon { }` settings, one per line

    def start(self):
        with open(os.path.join(self.dir, "strongswan.conf"), "w") as f:
            f.write(STRONGSWAN_CONF % {"dir": self.dir, "options": self.charon_options})
        # charon writes /run/charon.pid: give it a /run of its own.
        self.rec = self.lab.spawn(self.site, "charon", [
            "unshare", "-m", "sh", "-c", "mount -t tmpfs tmpfs /run && exec " + CHARON],
            env={"STRONGSWAN_CONF": os.path.join(self.dir, "strongswan.conf")})
        wait_for(lambda: os.path.exists(os.path.join(self.dir, "charon.vici")), 20,
                 "charon's vici socket")
        wait_for(lambda: self.site.exec(["ip", "link", "show", "ipsec0"], check=False).returncode == 0,
                 20, "charon's ipsec0 device")
        self.site.exec(["ip", "link", "set", "ipsec0", "up"])
        self.site.exec(["ip", "route", "replace", "10.1.0.0/24", "dev", "ipsec0",
                        "src", self.site.lan_address])

    def load(self, ike, esp, psk=PSK):
        v = {"local": self.site.wan_address, "remote": self.peer, "psk": psk}
        self._write(ike, esp, PSK_AUTH % v, PSK_SECRETS % v)

    def load_certs(self, ike, esp, cert, key, cacert, local_id=None):
        self.load_conf(SWANCTL_CONF % {
            "local": self.site.wan_address, "remote": self.peer, "ike": ike, "esp": esp,
            "auth": CERT_AUTH % {"cert": cert, "cacert": cacert,
                                 "local_id": ("id = " + local_id) if local_id else ""},
            "secrets": ""}, key)

    def _write(self, ike, esp, auth, secrets):
        self.load_conf(SWANCTL_CONF % {"local": self.site.wan_address, "remote": self.peer,
                                       "ike": ike, "esp": esp, "auth": auth, "secrets": secrets})

    def load_conf(self, conf, key=None):
        """Loads a whole swanctl.conf; `key` (a file) becomes its only private key."""
        if key:
            # swanctl loads private keys only from SWANCTL_DIR/private.
            private = os.path.join(self.dir, "private")
            shutil.rmtree(private, ignore_errors=True)
            os.makedirs(private)
            shutil.copy(key, private)
        path = os.path.join(self.dir, "swanctl.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.swanctl(["--load-all", "--clear", "--file", path])

    def swanctl(self, args, check=True, timeout=30):
        return self.site.exec(["env", "SWANCTL_DIR=" + self.dir, "swanctl"] + args +
                              ["--uri", self.uri], check=check, timeout=timeout)

    def sas(self):
        return self.swanctl(["--list-sas", "--raw"], check=False).stdout

    def stop(self):
        if self.rec:
            self.lab.stop(self.rec)
            self.rec = None
        shutil.rmtree(self.dir, ignore_errors=True)


def our_config(peer, ike, esp_encryption, esp_integrity=None, psk=PSK):
    enc, prf, group = ike
    ts = {"name": "TS", "esp_encryption": esp_encryption}
    if esp_integrity:
        ts["esp_integrity"] = esp_integrity
    return {
        "globals": {"identity": "ISAKMP_IDENTITY_ADDRESS", "nat_keepalive_seconds": 20},
        "isakmp_policies": [{"priority": 10, "encryption": enc, "hash": prf, "group": group,
                             "authentication": "AUTH_METHOD_PRE_SHARE", "lifetime_seconds": 86400}],
        "transform_sets": [ts],
        "access_lists": [{"name": "101", "entries": [{
            "sequence": 10, "action": "ACL_ACTION_PERMIT",
            "match": {"source": {"address": "10.1.0.0", "length": 24},
                      "destination": {"address": "10.2.0.0", "length": 24}}}]}],
        "crypto_maps": [{"name": "VPN", "interfaces": ["wan0"], "entries": [{
            "sequence": 10, "kind": "CRYPTO_MAP_KIND_IPSEC_ISAKMP", "match_address": "101",
            "peers": [peer], "transform_sets": ["TS"],
            "lifetime": {"seconds": 3600, "kilobytes": 4608000}}]}],
        "pre_shared_keys": [{"address": {"address": peer, "length": 32},
                             "key": __import__("base64").b64encode(psk.encode()).decode()}],
    }


def cert_config(peer, ike, esp_encryption, auth, identity, check_crl=False):
    """our_config with signatures from trustpoint LABCA instead of a key."""
    config = our_config(peer, ike, esp_encryption)
    del config["pre_shared_keys"]
    config["isakmp_policies"][0]["authentication"] = auth
    config["globals"]["identity"] = identity
    config["trustpoints"] = [{"name": "LABCA", "revocation_check_crl": check_crl}]
    return config


def ping(site, src, dst, count=3):
    r = site.exec(["ping", "-n", "-c", str(count), "-i", "0.2", "-W", "1", "-I", src, dst],
                  check=False, timeout=30)
    return r.returncode == 0


def established(ike):
    sas = ike.call("ListIkeSas", {}).get("ike_sas", [])
    return [s for s in sas if s.get("state") == "IKE_SA_STATE_ESTABLISHED"]


def children(ike):
    return ike.call("ListChildSas", {}).get("child_sas", [])


def process_gone(pid):
    """True once pid has exited (a zombie counts: it answers nothing)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def dataplane_sas(dp):
    return dp.call("ListSas", {}).get("sas", [])


def dpd_finds_charon_killed(lab, v, s, ss, ike, dp, ikerec, conn_id):
    """Kills charon outright and pings from our LAN until DPD removes IKE SA
    `conn_id` (on-demand DPD, the IOS default, asks only a peer we send to);
    then its pairs must be gone from the dataplane and the failure counted.
    Watches this SA and its pairs, not the whole table: once it is declared
    dead the next ping's acquire starts a fresh SA towards the silent address,
    which stays listed while it retransmits."""
    dead_spis = {c[k] for c in children(ike) if c.get("ike_conn_id") == conn_id
                 for k in ("inbound_spi", "outbound_spi")}
    pid = ss.rec["pid"]
    os.kill(pid, 9)
    wait_for(lambda: process_gone(pid), 10, "charon gone")
    start = time.time()
    pinger = subprocess.Popen(["ip", "netns", "exec", v.ns, "ping", "-n", "-i", "0.5",
                               "-w", "60", "-I", v.lan_address, s.lan_address],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: conn_id not in [x["conn_id"] for x in
                                         ike.call("ListIkeSas", {}).get("ike_sas", [])],
                 60, "our IKE SA removed after DPD")
    finally:
        pinger.kill()
        pinger.wait()
    print("  ok: peer declared dead after %.0f s" % (time.time() - start))
    check(dead_spis, "the dead peer's pairs were listed")
    wait_for(lambda: not dead_spis & {x.get("sa", {}).get("key", {}).get("spi")
                                      for x in dataplane_sas(dp)},
             10, "its pairs removed from the dataplane")
    metrics = lab.scrape(v, *ikerec["metrics"])
    check("vpnfleet_ike_dpd_failures_total 1" in metrics, "DPD failure counted")


def make_lab_pki(v, s):
    """The lab's test CAs and certificates, in v's folder: an RSA CA with
    site-v (IP and DNS names) and site-s (IP name); an EC root with an
    issuing CA, site-v P-256 under the issuing CA, site-s P-384 under the
    root. Returns (the CA folder, the IKE daemon's --pki_dir)."""
    pki = os.path.join(v.dir, "test-ca")
    os.makedirs(pki)
    test_pki.root(pki, "rsa-ca", "rsa", "/O=vpnfleet lab/CN=Lab RSA CA")
    test_pki.issue(pki, "v-rsa", "rsa", "/O=vpnfleet lab/CN=site-v", "rsa-ca",
                   san="IP:%s,DNS:site-v.lab" % v.wan_address)
    test_pki.issue(pki, "s-rsa", "rsa", "/O=vpnfleet lab/CN=site-s", "rsa-ca",
                   san="IP:%s" % s.wan_address)
    test_pki.root(pki, "ec-root", "p256", "/O=vpnfleet lab/CN=Lab EC root")
    test_pki.issue(pki, "ec-sub", "p256", "/O=vpnfleet lab/CN=Lab EC issuing CA", "ec-root",
                   ca=True)
    test_pki.issue(pki, "v-ec", "p256", "/O=vpnfleet lab/CN=site-v", "ec-sub")
    test_pki.issue(pki, "s-ec", "p384", "/O=vpnfleet lab/CN=site-s", "ec-root")
    return pki, os.path.join(v.dir, "ike-pki")


def use_trustpoint(pki_dir, pki, kind):
    """Trustpoint LABCA of the IKE daemon as `kind` ("rsa" or "ec") says."""
    shutil.rmtree(os.path.join(pki_dir, "LABCA"), ignore_errors=True)
    if kind == "rsa":
        test_pki.install_trustpoint(pki_dir, "LABCA", pki, "rsa-ca", "v-rsa")
    else:
        test_pki.install_trustpoint(pki_dir, "LABCA", pki, "ec-root", "v-ec", chain=["ec-sub"])


def start_our_side(lab, v, local, far, dataplane_flags=()):
    """Our dataplane (TUN vf0, IKE punted from its UDP/4500) and IKE daemon in
    site v, LAN `local` and the far LAN routed into the tunnel. Returns the
    two daemons' records and API clients."""
    import grpcapi
    dp_punt = os.path.join(v.dir, "dp-punt.sock")
    dprec = fleet.start(lab, v.name, "dataplane", ["--tun=vf0", "--ike_punt_socket=" + dp_punt] +
                        list(dataplane_flags))
    manual_tunnel.route(v, local, far)
    ikerec = fleet.start(lab, v.name, "ike", [
        "--dataplane=unix:" + dprec["socket"], "--dataplane_punt=" + dp_punt,
        "--punt_socket=" + os.path.join(v.dir, "ike-punt.sock")])
    return (dprec, ikerec, grpcapi.Dataplane("unix:" + dprec["socket"]),
            grpcapi.Ike("unix:" + ikerec["socket"]))


def main():
    if os.geteuid() != 0:
        skip("needs root for network namespaces")
    if not os.access(CHARON, os.X_OK) or shutil.which("swanctl") is None:
        skip("strongSwan is not installed (scripts/install-deps installs it)")
    lab = vpnlab.Lab("ssw%d" % (os.getpid() % 10000))
    v = lab.add_site("v", lan="10.1.0.0/24")
    s = lab.add_site("s", lan="10.2.0.0/24")
    lab.up()
    cleanup = []
    try:
        dprec, ikerec, dp, ike = start_our_side(lab, v, "10.1.0.0/24", "10.2.0.0/24")
        ss = Strongswan(lab, s, v.wan_address)
        cleanup.append(ss.stop)
        ss.start()

        print("case 1: we initiate on traffic (AES-GCM-128, X25519, PSK)")
        ike.call("ReplaceConfig", {"config": our_config(
            s.wan_address, ("ENCRYPTION_AES_GCM_128", "PRF_HMAC_SHA2_256", "DH_GROUP_CURVE25519"),
            "ENCRYPTION_AES_GCM_128")})
        ss.load("aes128gcm16-prfsha256-x25519", "aes128gcm16")
        wait_for(lambda: ping(v, v.lan_address, s.lan_address, 2), 30,
                 "ping 10.1.0.1 -> 10.2.0.1 after the acquire")
        check(ping(v, v.lan_address, s.lan_address, 5), "5 pings through the tunnel")
        sas = established(ike)
        check(len(sas) == 1 and sas[0].get("initiator"), "one established IKE SA, we initiated")
        check(sas[0].get("nat_detected_remote"), "strongSwan's libipsec NAT fake detected")
        check(sas[0]["remote_port"] == 4500 and sas[0]["local_port"] == 4500, "IKE moved to 4500")
        kids = children(ike)
        check(len(kids) == 1 and kids[0].get("udp_encapsulated"), "one UDP-encapsulated CHILD SA")
        c = kids[0].get("counters", {})
        check(int(c.get("pkts_encaps", 0)) >= 5 and int(c.get("pkts_decaps", 0)) >= 5,
              "dataplane counted encaps %s / decaps %s" % (c.get("pkts_encaps"), c.get("pkts_decaps")))
        check("ESTABLISHED" in ss.sas() and "INSTALLED" in ss.sas(), "strongSwan lists the SAs")
        r = fleet.cli(["--ike=unix:" + ikerec["socket"], "show", "crypto", "isakmp", "sa"])
        check(r.returncode == 0 and "READY" in r.stdout and s.wan_address in r.stdout,
              "vpnfleet show crypto isakmp sa:\n" + r.stdout)
        r = fleet.cli(["--ike=unix:" + ikerec["socket"], "show", "crypto", "ipsec", "sa"])
        check(r.returncode == 0 and "#pkts encaps: " in r.stdout and "UDP-Encaps" in r.stdout,
              "vpnfleet show crypto ipsec sa:\n" + r.stdout)
        r = fleet.cli(["--ike=unix:" + ikerec["socket"], "-o", "json", "show", "crypto", "ipsec", "sa"])
        check(json.loads(r.stdout)["child_sas"][0]["crypto_map"] == "VPN", "-o json")
        spi_hex = "%08x" % kids[0]["inbound_spi"]
        check(spi_hex in ss.sas(), "strongSwan's outbound SPI is our inbound %s" % spi_hex)
        ss.swanctl(["--terminate", "--ike", "t"])
        wait_for(lambda: not ike.call("ListIkeSas", {}).get("ike_sas"), 15,
                 "our IKE SA gone after strongSwan's Delete")
        wait_for(lambda: not dataplane_sas(dp), 10, "dataplane SAs removed")
        print("  ok: strongSwan's Delete removed our IKE SA and both dataplane SAs")

        print("case 2: strongSwan initiates (AES-CBC-256/SHA-256/MODP-2048, ESP AES-CBC-128+SHA-256)")
        ike.call("ReplaceConfig", {"config": our_config(
            s.wan_address, ("ENCRYPTION_AES_CBC_256", "PRF_HMAC_SHA2_256", "DH_GROUP_MODP_2048"),
            "ENCRYPTION_AES_CBC_128", "INTEGRITY_HMAC_SHA2_256_128")})
        ss.load("aes256-sha256-modp2048", "aes128-sha256")
        r = ss.swanctl(["--initiate", "--child", "c", "--timeout", "20"], check=False, timeout=40)
        check(r.returncode == 0, "swanctl --initiate succeeded")
        wait_for(lambda: established(ike), 10, "our side established")
        check(not established(ike)[0].get("initiator"), "we are the responder")
        check(ping(s, s.lan_address, v.lan_address, 5), "5 pings strongSwan LAN -> our LAN")
        kids = children(ike)
        check(len(kids) == 1 and kids[0]["integrity"] == "INTEGRITY_HMAC_SHA2_256_128",
              "CHILD SA with HMAC-SHA-256-128")
        t = ike.call("Terminate", {"all": True})
        check(t.get("terminated") == 1, "Terminate all: one IKE SA")
        wait_for(lambda: "ESTABLISHED" not in ss.sas(), 15, "strongSwan drops the SA on our Delete")
        wait_for(lambda: not dataplane_sas(dp), 10, "dataplane SAs removed")
        print("  ok: our Delete reached strongSwan")

        print("case 3: strongSwan initiates (ECP-256), re-keys the CHILD SA under traffic")
        ike.call("ReplaceConfig", {"config": our_config(
            s.wan_address, ("ENCRYPTION_AES_GCM_256", "PRF_HMAC_SHA2_384", "DH_GROUP_ECP_256"),
            "ENCRYPTION_AES_GCM_256")})
        ss.load("aes256gcm16-prfsha384-ecp256", "aes256gcm16")
        r = ss.swanctl(["--initiate", "--child", "c", "--timeout", "20"], check=False, timeout=40)
        check(r.returncode == 0, "swanctl --initiate succeeded")
        wait_for(lambda: children(ike), 10, "CHILD SA up")
        old = children(ike)[0]["inbound_spi"]
        pinger = subprocess.Popen(["ip", "netns", "exec", v.ns, "ping", "-n", "-i", "0.05",
                                   "-c", "100", "-I", v.lan_address, s.lan_address],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(1.5)
        ss.swanctl(["--rekey", "--child", "c"])
        out, _ = pinger.communicate(timeout=40)
        wait_for(lambda: len(children(ike)) == 1 and children(ike)[0]["inbound_spi"] != old, 10,
                 "one CHILD SA with new SPIs")
        received = [line for line in out.splitlines() if "bytes from" in line]
        check(len(received) == 100, "%d of 100 pings answered across the rekey" % len(received))
        check(len(dataplane_sas(dp)) == 2, "only the new pair left in the dataplane")

        print("case 3b: strongSwan re-keys the IKE SA under traffic")
        before = established(ike)[0]
        child_spi = children(ike)[0]["inbound_spi"]
        pinger = subprocess.Popen(["ip", "netns", "exec", v.ns, "ping", "-n", "-i", "0.05",
                                   "-c", "60", "-I", v.lan_address, s.lan_address],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(1)
        ss.swanctl(["--rekey", "--ike", "t"])
        out, _ = pinger.communicate(timeout=40)
        after = wait_for(lambda: [x for x in established(ike)
                                  if x["initiator_spi"] != before["initiator_spi"]], 10,
                         "an IKE SA with new SPIs")[0]
        wait_for(lambda: len(ike.call("ListIkeSas", {}).get("ike_sas", [])) == 1, 10,
                 "the old IKE SA deleted by strongSwan")
        check(not after.get("initiator"), "strongSwan is the new SA's initiator")
        received = [line for line in out.splitlines() if "bytes from" in line]
        check(len(received) == 60, "%d of 60 pings answered across the IKE rekey" % len(received))
        check(children(ike)[0]["inbound_spi"] == child_spi, "the CHILD SA moved over unchanged")

        print("case 3c: we re-key the IKE SA at its soft lifetime (lifetime 60 s)")
        config = our_config(
            s.wan_address, ("ENCRYPTION_AES_GCM_256", "PRF_HMAC_SHA2_384", "DH_GROUP_ECP_256"),
            "ENCRYPTION_AES_GCM_256")
        config["isakmp_policies"][0]["lifetime_seconds"] = 60
        ike.call("ReplaceConfig", {"config": config})
        ike.call("Terminate", {"all": True})
        wait_for(lambda: not ike.call("ListIkeSas", {}).get("ike_sas"), 15, "cleared")
        r = ss.swanctl(["--initiate", "--child", "c", "--timeout", "20"], check=False, timeout=40)
        check(r.returncode == 0, "swanctl --initiate succeeded")
        before = wait_for(lambda: established(ike), 10, "established")[0]
        pinger = subprocess.Popen(["ip", "netns", "exec", v.ns, "ping", "-n", "-i", "0.2",
                                   "-c", "300", "-I", v.lan_address, s.lan_address],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        after = wait_for(lambda: [x for x in established(ike)
                                  if x["initiator_spi"] != before["initiator_spi"]], 70,
                         "our rekey of the IKE SA", interval=1)[0]
        check(after.get("initiator"), "we are the new SA's initiator")
        wait_for(lambda: len(ike.call("ListIkeSas", {}).get("ike_sas", [])) == 1, 10,
                 "the old IKE SA deleted")
        time.sleep(2)
        pinger.send_signal(signal.SIGINT)  # ping prints its totals
        out, _ = pinger.communicate(timeout=10)
        totals = re.search(r"(\d+) packets transmitted, (\d+) received", out)
        check(totals and int(totals.group(1)) - int(totals.group(2)) <= 1,
              "no ping lost across our IKE rekey (%s)" % (totals.group(0) if totals else out[-200:]))
        check("ESTABLISHED" in ss.sas() and ss.sas().count("ESTABLISHED") == 1,
              "strongSwan holds one IKE SA")
        check(ping(v, v.lan_address, s.lan_address, 3), "pings after the rekey")
        metrics = lab.scrape(v, *ikerec["metrics"])
        check("vpnfleet_ike_sa_rekeys_total 2" in metrics, "both IKE rekeys counted")
        ike.call("Terminate", {"all": True})
        wait_for(lambda: not ike.call("ListIkeSas", {}).get("ike_sas"), 15, "cleared")

        print("case 4: wrong PSK")
        ss.load("aes128gcm16-prfsha256-x25519", "aes128gcm16", psk="not-the-right-key")
        ike.call("ReplaceConfig", {"config": our_config(
            s.wan_address, ("ENCRYPTION_AES_GCM_128", "PRF_HMAC_SHA2_256", "DH_GROUP_CURVE25519"),
            "ENCRYPTION_AES_GCM_128")})
        r = ss.swanctl(["--initiate", "--child", "c", "--timeout", "15"], check=False, timeout=30)
        check(r.returncode != 0, "strongSwan's initiation fails")
        check(not established(ike) and not dataplane_sas(dp), "nothing established or installed")
        metrics = lab.scrape(v, *ikerec["metrics"])
        check('vpnfleet_ike_negotiations_failed_total{reason="AUTHENTICATION_FAILED"}' in metrics,
              "AUTHENTICATION_FAILED counted")

        print("case 5: RSA certificates, address identities, we initiate")
        pki, pki_dir = make_lab_pki(v, s)
        use_trustpoint(pki_dir, pki, "rsa")
        ss.load_certs("aes256-sha256-modp2048", "aes256gcm16", os.path.join(pki, "s-rsa.pem"),
                      os.path.join(pki, "s-rsa.key"), os.path.join(pki, "rsa-ca.pem"),
                      local_id=s.wan_address)
        ike.call("ReplaceConfig", {"config": cert_config(
            s.wan_address, ("ENCRYPTION_AES_CBC_256", "PRF_HMAC_SHA2_256", "DH_GROUP_MODP_2048"),
            "ENCRYPTION_AES_GCM_256", "AUTH_METHOD_RSA_SIG", "ISAKMP_IDENTITY_ADDRESS")})
        wait_for(lambda: ping(v, v.lan_address, s.lan_address, 2), 30,
                 "ping 10.1.0.1 -> 10.2.0.1 over a certificate-authenticated tunnel")
        check(ping(v, v.lan_address, s.lan_address, 5), "5 pings through the tunnel")
        sa = established(ike)[0]
        check(sa.get("authentication") == "AUTH_METHOD_RSA_SIG" and
              sa.get("local_authentication") == "AUTH_METHOD_RSA_SIG", "RSA signatures both ways")
        check(sa.get("remote_certificate_subject") == "CN=site-s,O=vpnfleet lab",
              "strongSwan's certificate: " + sa.get("remote_certificate_subject", ""))
        check("ESTABLISHED" in ss.sas(), "strongSwan established with our certificate")
        r = fleet.cli(["--ike=unix:" + ikerec["socket"], "show", "crypto", "isakmp", "sa"])
        check("Auth sign: RSA, Auth verify: RSA" in r.stdout, "show crypto isakmp sa names RSA")
        ike.call("Terminate", {"all": True})
        wait_for(lambda: not ike.call("ListIkeSas", {}).get("ike_sas"), 15, "cleared")
        wait_for(lambda: "ESTABLISHED" not in ss.sas(), 15, "strongSwan cleared")

        print("case 6: ECDSA certificates with an issuing CA, DN identities, strongSwan initiates")
        use_trustpoint(pki_dir, pki, "ec")
        ike.call("ReplaceConfig", {"config": cert_config(
            s.wan_address, ("ENCRYPTION_AES_GCM_256", "PRF_HMAC_SHA2_384", "DH_GROUP_ECP_384"),
            "ENCRYPTION_AES_GCM_256", "AUTH_METHOD_ECDSA_SIG", "ISAKMP_IDENTITY_DN")})
        ss.load_certs("aes256gcm16-prfsha384-ecp384", "aes256gcm16", os.path.join(pki, "s-ec.pem"),
                      os.path.join(pki, "s-ec.key"), os.path.join(pki, "ec-root.pem"))
        r = ss.swanctl(["--initiate", "--child", "c", "--timeout", "20"], check=False, timeout=40)
        check(r.returncode == 0, "swanctl --initiate succeeded")
        check(ping(s, s.lan_address, v.lan_address, 5), "5 pings strongSwan LAN -> our LAN")
        sa = established(ike)[0]
        check(sa.get("authentication") == "AUTH_METHOD_ECDSA_SIG", "strongSwan signed with ECDSA")
        check(sa.get("local_id") == "CN=site-v,O=vpnfleet lab" and
              sa.get("remote_id") == "CN=site-s,O=vpnfleet lab",
              "DN identities: %s / %s" % (sa.get("local_id"), sa.get("remote_id")))
        check("CN=site-v" in ss.sas(), "strongSwan sees our DN")
        ike.call("Terminate", {"all": True})
        wait_for(lambda: not ike.call("ListIkeSas", {}).get("ike_sas"), 15, "cleared")

        print("case 7: DPD finds a strongSwan that was killed")
        config = our_config(
            s.wan_address, ("ENCRYPTION_AES_GCM_128", "PRF_HMAC_SHA2_256", "DH_GROUP_CURVE25519"),
            "ENCRYPTION_AES_GCM_128")
        # `crypto isakmp keepalive 10 2`: dead 10 s after the last answer at most
        # plus five unanswered checks 2 s apart.
        config["globals"].update({"keepalive_seconds": 10, "keepalive_retry_seconds": 2})
        ike.call("ReplaceConfig", {"config": config})
        ss.load("aes128gcm16-prfsha256-x25519", "aes128gcm16")
        r = ss.swanctl(["--initiate", "--child", "c", "--timeout", "20"], check=False, timeout=40)
        check(r.returncode == 0, "swanctl --initiate succeeded")
        check(ping(s, s.lan_address, v.lan_address, 3), "pings through the tunnel")
        time.sleep(12)
        live = established(ike)
        check(live, "still established after a liveness check was answered")
        # Watch this IKE SA and its CHILD SAs, not the whole table: once it is
        # declared dead the next ping's acquire starts a fresh IKE SA towards
        # the silent address, which stays listed while it retransmits.
        dpd_finds_charon_killed(lab, v, s, ss, ike, dp, ikerec, live[0]["conn_id"])
        check(not established(ike), "no IKE SA established with the dead peer")
        ss.stop()
        dp.close()
        ike.close()
        print("PASS")
        return 0
    except Fail as e:
        print("FAIL:", e)
        vpnlab.print_log_tails((v, s), ("ike", "dataplane", "charon"))
        return 1
    finally:
        lab.down()
        for fn in cleanup:
            fn()


if __name__ == "__main__":
    sys.exit(main())
