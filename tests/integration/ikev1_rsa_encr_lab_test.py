#!/usr/bin/env python3
"""IKEv1 `authentication rsa-encr` (RFC 2409 §5.2) between two of our daemons.

strongSwan has no encrypted-nonce authentication, so IOS's method is shown
between two vpnfleet edges, each with an RSA key pair that no CA certified
(key.pem alone in a trustpoint, as `crypto key generate rsa` leaves one) and
the other's public key in `crypto key pubkey-chain rsa`, configured the way
an operator would: read with `vpnfleet show crypto key mypubkey rsa` on one
edge, put as an `addressed-key` on the other. Checked:
  - the spoke, at --log_level=debug, logs states and packets as IOS's
    `debug crypto isakmp` does, and counts IKEv1 setups apart;
  - the public key the daemon shows is the key file's (as OpenSSL reads it);
  - traffic from either LAN brings the tunnel up, so each daemon is once the
    Main Mode initiator and once the responder; both report rsa-encr;
  - a stale key for the hub on the spoke (the hub's key was replaced) makes
    the negotiation fail as an authentication failure on both sides, and
    no tunnel comes up.
Exit 77 (skip) without root.
"""

import base64
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))

from checks import Fail, check, wait_for  # noqa: E402
import fleet  # noqa: E402
import ike_lab_test  # noqa: E402
import vpnlab  # noqa: E402

ping = ike_lab_test.ping


def config(local_lan, remote_lan, peer):
    """`crypto isakmp policy 10` with rsa-encr, a static crypto map to `peer`
    with PFS; the trustpoint EDGE holds our key pair."""
    return {
        "globals": {"identity": "ISAKMP_IDENTITY_ADDRESS"},
        "isakmp_policies": [{"priority": 10, "version": "IKE_VERSION_1",
                             "encryption": "ENCRYPTION_AES_CBC_256", "hash": "PRF_HMAC_SHA2_256",
                             "group": "DH_GROUP_MODP_2048",
                             "authentication": "AUTH_METHOD_RSA_ENCR"}],
        "transform_sets": [{"name": "TS", "esp_encryption": "ENCRYPTION_AES_CBC_256",
                            "esp_integrity": "INTEGRITY_HMAC_SHA2_256_128"}],
        "access_lists": [{"name": "VPN-ACL", "entries": [{
            "sequence": 10, "action": "ACL_ACTION_PERMIT",
            "match": {"source": {"address": local_lan, "length": 24},
                      "destination": {"address": remote_lan, "length": 24}}}]}],
        "crypto_maps": [{"name": "VPN", "interfaces": ["wan0"], "entries": [{
            "sequence": 10, "kind": "CRYPTO_MAP_KIND_IPSEC_ISAKMP", "match_address": "VPN-ACL",
            "peers": [peer], "transform_sets": ["TS"], "pfs_group": "DH_GROUP_MODP_2048",
            "ike_version": "IKE_VERSION_1"}]}],
        "trustpoints": [{"name": "EDGE"}],
    }


def make_key(site, name="EDGE"):
    """An RSA key pair in the daemon's trustpoint folder; returns its public
    key as DER, as OpenSSL reads it from the file."""
    folder = os.path.join(site.dir, "ike-pki", name)
    os.makedirs(folder, exist_ok=True)
    key = os.path.join(folder, "key.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", key], check=True, capture_output=True)
    os.chmod(key, 0o600)
    return subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                          check=True, capture_output=True).stdout


def shown_key(ike):
    """`show crypto key mypubkey rsa`, JSON and IOS text; returns the DER."""
    r = fleet.cli(["--ike=unix:" + ike["socket"], "-o", "json", "show", "crypto", "key",
                   "mypubkey", "rsa"])
    if r.returncode != 0:
        raise Fail("show crypto key mypubkey rsa -o json: " + r.stderr)
    import json
    keys = json.loads(r.stdout).get("keys", [])
    check(len(keys) == 1 and keys[0]["usage"] == "rsa-encr" and keys[0]["bits"] == 2048,
          "one 2048-bit key for rsa-encr")
    der = base64.b64decode(keys[0]["key"])
    text = fleet.cli(["--ike=unix:" + ike["socket"], "show", "crypto", "key", "mypubkey", "rsa"])
    first_line = " ".join("%02X%02X%02X%02X" % tuple(der[i:i + 4]) for i in range(0, 32, 4))
    if text.returncode != 0 or "Key name: EDGE" not in text.stdout or first_line not in text.stdout:
        raise Fail("IOS text does not show the key data:\n" + text.stdout + text.stderr)
    return der


def put_peer_key(api, address, der):
    api.call("EditConfig", {"edits": [{"put_rsa_public_key": {
        "address": address, "key": base64.b64encode(der).decode()}}]})


def isakmp_sa(api):
    sas = api.call("ListIkeSas", {}).get("ike_sas", [])
    return sas[0] if len(sas) == 1 and sas[0].get("state") == "IKE_SA_STATE_QM_IDLE" else None


def failures(lab, site, ike):
    text = lab.scrape(site, *ike["metrics"])
    for line in text.splitlines():
        if line.startswith('vpnfleet_ike_negotiations_failed_total{reason="AUTHENTICATION_FAILED"}'):
            return float(line.split()[-1])
    return 0.0


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root for network namespaces")
        return 77
    import grpcapi
    lab = vpnlab.Lab("rsae%d" % (os.getpid() % 1000))
    hub = lab.add_site("hub", lan="10.1.0.0/24")
    spoke = lab.add_site("spoke", lan="10.2.0.0/24")
    lab.up()
    try:
        hub_der = make_key(hub)
        spoke_der = make_key(spoke)
        _, hub_ike, _ = ike_lab_test.start_site(lab, hub, "10.1.0.0/24", "10.2.0.0/24")
        _, spoke_ike, _ = ike_lab_test.start_site(lab, spoke, "10.2.0.0/24", "10.1.0.0/24",
                                                  ike_args=["--log_level=debug"])
        h = grpcapi.Ike("unix:" + hub_ike["socket"])
        sp = grpcapi.Ike("unix:" + spoke_ike["socket"])
        r = h.call("ReplaceConfig", {"config": config("10.1.0.0", "10.2.0.0", spoke.wan_address)})
        check(any("pubkey-chain" in w for w in r.get("warnings", [])),
              "without the peer's key the configuration warns: %s" % r.get("warnings"))
        sp.call("ReplaceConfig", {"config": config("10.2.0.0", "10.1.0.0", hub.wan_address)})

        print("each edge shows its public key; each puts the other's in its pubkey-chain")
        check(shown_key(hub_ike) == hub_der, "the hub shows its key file's public key")
        check(shown_key(spoke_ike) == spoke_der, "the spoke shows its key file's public key")
        put_peer_key(h, spoke.wan_address, shown_key(spoke_ike))
        put_peer_key(sp, hub.wan_address, shown_key(hub_ike))

        print("the spoke's LAN traffic brings the tunnel up (spoke initiates)")
        wait_for(lambda: ping(spoke, spoke.lan_address, hub.lan_address, 2), 30,
                 "ping spoke LAN -> hub LAN")
        check(ping(hub, hub.lan_address, spoke.lan_address, 5), "hub LAN -> spoke LAN")
        hs, ss = isakmp_sa(h), isakmp_sa(sp)
        check(hs is not None and ss is not None, "one ISAKMP SA in QM_IDLE on each side")
        check(ss.get("initiator") and not hs.get("initiator"), "the spoke initiated")
        for side, sa in (("hub", hs), ("spoke", ss)):
            check(sa.get("version") == "IKE_VERSION_1" and
                  sa.get("authentication") == "AUTH_METHOD_RSA_ENCR" and
                  sa.get("local_authentication") == "AUTH_METHOD_RSA_ENCR",
                  "%s: IKEv1 with rsa-encr both ways (%s)" % (side, sa.get("authentication")))
        check(hs["remote_id"] == spoke.wan_address, "the hub knows the spoke by its address")
        m = lab.scrape(spoke, *spoke_ike["metrics"])
        check('vpnfleet_ike_negotiations_succeeded_total{role="initiator",version="1"} 1' in m,
              "the spoke counted one IKEv1 initiator success")
        with open(os.path.join(spoke.dir, "ike.log")) as f:
            log = f.read()
        check("Old State = MM_KEY_AUTH  New State = QM_IDLE" in log and
              "sending packet to %s my_port 500 peer_port 500 (I)" % hub.wan_address in log,
              "debug level logs the exchange as debug crypto isakmp does")

        print("cleared; the hub's LAN traffic brings it up again (hub initiates)")
        r = fleet.cli(["--ike=unix:" + spoke_ike["socket"], "clear", "crypto", "sa"])
        check(r.returncode == 0, "clear crypto sa: " + r.stderr)
        wait_for(lambda: not h.call("ListIkeSas", {}).get("ike_sas"), 10, "hub's SA gone")
        wait_for(lambda: ping(hub, hub.lan_address, spoke.lan_address, 2), 30,
                 "ping hub LAN -> spoke LAN")
        hs = wait_for(lambda: isakmp_sa(h), 10, "the hub's ISAKMP SA")
        check(hs.get("initiator") and hs.get("authentication") == "AUTH_METHOD_RSA_ENCR",
              "the hub initiated, rsa-encr")

        print("the spoke holds a stale key for the hub: authentication fails")
        stale = make_key(spoke, "OLD-HUB-KEY")
        put_peer_key(sp, hub.wan_address, stale)
        before = failures(lab, spoke, spoke_ike) + failures(lab, hub, hub_ike)
        r = fleet.cli(["--ike=unix:" + spoke_ike["socket"], "clear", "crypto", "sa"])
        check(r.returncode == 0, "clear crypto sa: " + r.stderr)
        wait_for(lambda: not h.call("ListIkeSas", {}).get("ike_sas"), 10, "hub's SA gone")
        deadline, answered = time.time() + 8, 0
        while time.time() < deadline:
            answered += ping(spoke, spoke.lan_address, hub.lan_address, 1)
        check(answered == 0, "no tunnel with a wrong key (8 s of pings unanswered)")
        wait_for(lambda: failures(lab, spoke, spoke_ike) + failures(lab, hub, hub_ike) > before,
                 10, "an AUTHENTICATION_FAILED negotiation counted")
        check(isakmp_sa(h) is None and isakmp_sa(sp) is None, "no ISAKMP SA came up")
        h.close()
        sp.close()
        print("PASS")
        return 0
    except Fail as e:
        print("FAIL:", e)
        vpnlab.print_log_tails((hub, spoke), ("ike",), lines=30)
        return 1
    finally:
        lab.down()


if __name__ == "__main__":
    sys.exit(main())
