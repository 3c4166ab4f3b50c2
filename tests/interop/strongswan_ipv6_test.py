#!/usr/bin/env python3
"""IKEv2 over IPv6 against strongSwan, in a lab of network namespaces.

Sites `v` (our IKE daemon) and `s` (Debian's strongSwan charon with
kernel-libipsec) get IPv6 addresses on their WAN links (fd00:76::/64 beside
the lab's IPv4); every IKE message between them travels over IPv6, the
CHILD SAs protect the sites' IPv4 LANs. strongSwan's libipsec fakes NAT
detection, so IKE moves to UDP/4500 over IPv6 as well.

  1. strongSwan initiates (PSK, AES-GCM-128 / X25519): both sides list the
     IKE SA with the other's IPv6 address and port 4500, and the CHILD SA;
  2. we initiate (Initiate, ECP-256): the same, the other way round; then
     our Delete reaches strongSwan.

Our dataplane has no IPv6 outer path yet (issue 22), so no ESP is sent:
this is the IKE daemon's half. Exit 77 (skip) without root or strongSwan.
"""

import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))

from checks import Fail, check, skip, wait_for  # noqa: E402
import fleet  # noqa: E402
import strongswan_interop_test as ssw  # noqa: E402
import vpnlab  # noqa: E402

PREFIX = "fd00:76::"


def add_v6(site):
    address = "%s%d" % (PREFIX, site.index)
    site.exec(["ip", "-6", "addr", "add", address + "/64", "dev", "wan0", "nodad"])
    return address


def config(peer, ike, esp):
    c = ssw.our_config(peer, ike, esp)
    c["pre_shared_keys"][0]["address"]["length"] = 128
    return c


class Strongswan6(ssw.Strongswan):
    """strongSwan with its IKE endpoints on IPv6."""

    def __init__(self, lab, site, local6, peer6):
        super().__init__(lab, site, peer6)
        self.local6 = local6

    def load(self, ike, esp, psk=ssw.PSK):
        v = {"local": self.local6, "remote": self.peer, "psk": psk}
        path = os.path.join(self.dir, "swanctl.conf")
        with open(path, "w") as f:
            f.write(ssw.SWANCTL_CONF % {"local": self.local6, "remote": self.peer, "ike": ike,
                                        "esp": esp, "auth": ssw.PSK_AUTH % v,
                                        "secrets": ssw.PSK_SECRETS % v})
        self.swanctl(["--load-all", "--clear", "--file", path])


def main():
    if os.geteuid() != 0:
        skip("needs root for network namespaces")
    if not os.access(ssw.CHARON, os.X_OK) or shutil.which("swanctl") is None:
        skip("strongSwan is not installed (scripts/install-deps installs it)")
    lab = vpnlab.Lab("ss6%d" % (os.getpid() % 10000))
    v = lab.add_site("v", lan="10.1.0.0/24")
    s = lab.add_site("s", lan="10.2.0.0/24")
    lab.up()
    ss = None
    try:
        import grpcapi
        v6, s6 = add_v6(v), add_v6(s)
        check(v.exec(["ping", "-6", "-c", "1", "-W", "2", s6], check=False).returncode == 0,
              "the sites reach each other over IPv6")
        # No dataplane: the daemon owns UDP/500 and UDP/4500, IPv4 and IPv6.
        ikerec = fleet.start(lab, v.name, "ike", [])
        ike = grpcapi.Ike("unix:" + ikerec["socket"])
        ss = Strongswan6(lab, s, s6, v6)
        ss.start()

        print("case 1: strongSwan initiates over IPv6 (AES-GCM-128, X25519, PSK)")
        ike.call("ReplaceConfig", {"config": config(
            s6, ("ENCRYPTION_AES_GCM_128", "PRF_HMAC_SHA2_256", "DH_GROUP_CURVE25519"),
            "ENCRYPTION_AES_GCM_128")})
        ss.load("aes128gcm16-prfsha256-x25519", "aes128gcm16")
        r = ss.swanctl(["--initiate", "--child", "c", "--timeout", "20"], check=False, timeout=40)
        check(r.returncode == 0, "swanctl --initiate succeeded:\n" + r.stdout[-2000:])
        wait_for(lambda: ssw.established(ike), 10, "our side established")
        sa = ssw.established(ike)[0]
        check(sa["remote_address"] == s6 and sa["local_address"] == v6,
              "our IKE SA runs between %s and %s" % (sa["local_address"], sa["remote_address"]))
        check(sa["remote_port"] == 4500 and not sa.get("initiator"),
              "we answered, and IKE moved to 4500 over IPv6")
        kids = ssw.children(ike)
        check(len(kids) == 1 and kids[0]["remote_endpoint"] == s6, "one CHILD SA towards %s" % s6)
        listed = ss.sas()
        check("ESTABLISHED" in listed and "INSTALLED" in listed and v6 in listed,
              "strongSwan lists the SAs with our IPv6 address")
        ss.swanctl(["--terminate", "--ike", "t"])
        wait_for(lambda: not ike.call("ListIkeSas", {}).get("ike_sas"), 15,
                 "our IKE SA gone after strongSwan's Delete")
        print("  ok")

        print("case 2: we initiate over IPv6 (AES-GCM-256, ECP-256)")
        ike.call("ReplaceConfig", {"config": config(
            s6, ("ENCRYPTION_AES_GCM_256", "PRF_HMAC_SHA2_384", "DH_GROUP_ECP_256"),
            "ENCRYPTION_AES_GCM_256")})
        ss.load("aes256gcm16-prfsha384-ecp256", "aes256gcm16")
        ike.call("Initiate", {"crypto_map": "VPN", "sequence": 10})
        wait_for(lambda: ssw.established(ike) and ssw.children(ike), 15, "we established")
        sa = ssw.established(ike)[0]
        check(sa.get("initiator") and sa["remote_address"] == s6, "we initiated to %s" % s6)
        wait_for(lambda: "INSTALLED" in ss.sas(), 10, "strongSwan installed the CHILD SA")
        t = ike.call("Terminate", {"all": True})
        check(t.get("terminated") == 1, "Terminate all: one IKE SA")
        wait_for(lambda: "ESTABLISHED" not in ss.sas(), 15, "strongSwan drops the SA on our Delete")
        print("  ok")
        print("PASS")
        return 0
    except Fail as e:
        print("FAIL:", e)
        vpnlab.print_log_tails((v, s), ("ike", "charon"))
        return 1
    finally:
        if ss:
            ss.stop()
        lab.down()


if __name__ == "__main__":
    sys.exit(main())
