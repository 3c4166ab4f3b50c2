#!/usr/bin/env python3
"""Our IKE daemon against our IKE daemon across the lab, one site behind NAT.

Site `hub` (LAN 10.1.0.0/24) answers through a dynamic crypto map, as a
head-end does for spokes it does not know in advance; site `spoke`
(LAN 10.2.0.0/24) sits behind a masquerading NAT and initiates through a
static crypto map when its LAN sends to the hub's. Checked:
  - traffic from the spoke's LAN brings the tunnel up (acquire), IKE moves
    to 4500 through the NAT, the CHILD SA is ESP in UDP, pings go both ways;
  - the hub sees the spoke at the NAT's address and port, the spoke knows
    it is behind NAT and sends keepalives;
  - the hub's dataplane is killed with SIGKILL and restarted: the IKE daemon
    puts its policies and SAs back and the same tunnel carries pings again
    without a new negotiation;
  - `clear crypto sa` on the spoke deletes everything on both sides.
Exit 77 (skip) without root.
"""

import base64
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))

from checks import Fail, check, wait_for  # noqa: E402
import fleet  # noqa: E402
import manual_tunnel  # noqa: E402
import vpnlab  # noqa: E402

PSK = base64.b64encode(b"lab-psk-for-the-spokes").decode()


def base_config(local_lan, remote_lan):
    return {
        "globals": {"identity": "ISAKMP_IDENTITY_ADDRESS", "nat_keepalive_seconds": 5},
        "isakmp_policies": [{"priority": 10, "encryption": "ENCRYPTION_AES_GCM_256",
                             "hash": "PRF_HMAC_SHA2_384", "group": "DH_GROUP_CURVE25519",
                             "authentication": "AUTH_METHOD_PRE_SHARE"}],
        "transform_sets": [{"name": "GCM", "esp_encryption": "ENCRYPTION_AES_GCM_128"}],
        "access_lists": [{"name": "VPN-ACL", "entries": [{
            "sequence": 10, "action": "ACL_ACTION_PERMIT",
            "match": {"source": {"address": local_lan, "length": 24},
                      "destination": {"address": remote_lan, "length": 24}}}]}],
    }


def hub_config():
    c = base_config("10.1.0.0", "10.2.0.0")
    # `crypto dynamic-map DYN 10` + `crypto map VPN 10 ipsec-isakmp dynamic DYN`
    c["crypto_maps"] = [
        {"name": "DYN", "dynamic": True, "entries": [{
            "sequence": 10, "match_address": "VPN-ACL", "transform_sets": ["GCM"]}]},
        {"name": "VPN", "interfaces": ["wan0"], "entries": [{
            "sequence": 10, "kind": "CRYPTO_MAP_KIND_DYNAMIC", "dynamic_map": "DYN"}]}]
    c["pre_shared_keys"] = [{"address": {"address": "0.0.0.0", "length": 0}, "key": PSK}]
    return c


def spoke_config(hub_address):
    c = base_config("10.2.0.0", "10.1.0.0")
    c["crypto_maps"] = [{"name": "VPN", "interfaces": ["wan0"], "entries": [{
        "sequence": 10, "kind": "CRYPTO_MAP_KIND_IPSEC_ISAKMP", "match_address": "VPN-ACL",
        "peers": [hub_address], "transform_sets": ["GCM"], "pfs_group": "DH_GROUP_ECP_256"}]}]
    c["pre_shared_keys"] = [{"address": {"address": hub_address, "length": 32}, "key": PSK}]
    c["globals"]["invalid_spi_recovery"] = True  # `crypto isakmp invalid-spi-recovery`
    return c


def ping(site, src, dst, count=3):
    r = site.exec(["ping", "-n", "-c", str(count), "-i", "0.2", "-W", "1", "-I", src, dst],
                  check=False, timeout=30)
    return r.returncode == 0


def start_site(lab, site, local_lan, far_lan, ike_args=()):
    punt = os.path.join(site.dir, "dp-punt.sock")
    dataplane_args = ["--tun=vf0", "--ike_punt_socket=" + punt]
    dp = fleet.start(lab, site.name, "dataplane", dataplane_args)
    manual_tunnel.route(site, local_lan, far_lan)
    ike = fleet.start(lab, site.name, "ike", [
        "--dataplane=unix:" + dp["socket"], "--dataplane_punt=" + punt,
        "--punt_socket=" + os.path.join(site.dir, "ike-punt.sock")] + list(ike_args))
    return dp, ike, dataplane_args


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root for network namespaces")
        return 77
    import grpcapi
    lab = vpnlab.Lab("ikel%d" % (os.getpid() % 1000))
    hub = lab.add_site("hub", lan="10.1.0.0/24")
    spoke = lab.add_site("spoke", lan="10.2.0.0/24", nat=True)
    lab.up()
    try:
        hub_dp, hub_ike, hub_dp_args = start_site(lab, hub, "10.1.0.0/24", "10.2.0.0/24")
        spoke_dp, spoke_ike, spoke_dp_args = start_site(lab, spoke, "10.2.0.0/24", "10.1.0.0/24")
        h = grpcapi.Ike("unix:" + hub_ike["socket"])
        sp = grpcapi.Ike("unix:" + spoke_ike["socket"])
        h.call("ReplaceConfig", {"config": hub_config()})
        sp.call("ReplaceConfig", {"config": spoke_config(hub.wan_address)})

        print("the spoke's LAN traffic brings the tunnel up through the NAT")
        wait_for(lambda: ping(spoke, spoke.lan_address, hub.lan_address, 2), 30,
                 "ping spoke LAN -> hub LAN")
        check(ping(hub, hub.lan_address, spoke.lan_address, 5), "hub LAN -> spoke LAN")
        hs = h.call("ListIkeSas", {})["ike_sas"]
        ss = sp.call("ListIkeSas", {})["ike_sas"]
        check(len(hs) == 1 and len(ss) == 1, "one IKE SA on each side")
        check(hs[0]["remote_address"] == spoke.wan_address and hs[0]["remote_id"] == spoke.local_address,
              "the hub sees the spoke at the NAT's address %s:%d (identity %s)" % (
                  hs[0]["remote_address"], hs[0]["remote_port"], hs[0]["remote_id"]))
        check(ss[0].get("nat_detected_local") and hs[0].get("nat_detected_remote"),
              "both sides detected the NAT")
        check(ss[0]["local_port"] == 4500, "the spoke moved IKE to port 4500")
        hc = h.call("ListChildSas", {})["child_sas"]
        check(len(hc) == 1 and hc[0].get("udp_encapsulated"), "one ESP-in-UDP CHILD SA at the hub")
        check(hc[0]["crypto_map"] == "VPN/DYN", "matched the dynamic map (%s)" % hc[0]["crypto_map"])
        spis = (hc[0]["inbound_spi"], hc[0]["outbound_spi"])
        sc = sp.call("ListChildSas", {})["child_sas"]
        check(sc[0]["outbound_spi"] == spis[0], "the spoke sends on the hub's inbound SPI")

        print("the hub's dataplane dies (SIGKILL) and comes back")
        os.kill(hub_dp["pid"], 9)
        hub_dp["_popen"].wait(timeout=10)
        hub_dp = fleet.start(lab, "hub", "dataplane", hub_dp_args)
        # The kernel dropped the routes through vf0 with the device; the
        # operator's routing (here the lab's) puts them back.
        for cmd in (["sysctl", "-qw", "net.ipv4.conf.vf0.rp_filter=0"],
                    ["ip", "route", "replace", "10.2.0.0/24", "dev", "vf0", "table", "220"],
                    ["ip", "route", "replace", "default", "dev", "vf0", "table", "221"]):
            hub.exec(cmd)
        dp = grpcapi.Dataplane("unix:" + hub_dp["socket"])
        wait_for(lambda: len(dp.call("ListSas", {}).get("sas", [])) == 2, 20,
                 "the IKE daemon re-installed both SAs")
        check(len(dp.call("ListPolicies", {}).get("policies", [])) >= 2, "and the SPD policies")
        wait_for(lambda: ping(hub, hub.lan_address, spoke.lan_address, 2), 20,
                 "hub LAN -> spoke LAN after the restart")
        hc = h.call("ListChildSas", {})["child_sas"]
        check((hc[0]["inbound_spi"], hc[0]["outbound_spi"]) == spis,
              "same CHILD SA, no new negotiation")
        dp.close()

        print("the spoke loses everything (IKE and dataplane SIGKILLed); invalid-SPI recovery")
        for rec in (spoke_ike, spoke_dp):
            os.kill(rec["pid"], 9)
            rec["_popen"].wait(timeout=10)
        sp.close()
        spoke_dp = fleet.start(lab, "spoke", "dataplane", spoke_dp_args)
        for cmd in (["sysctl", "-qw", "net.ipv4.conf.vf0.rp_filter=0"],
                    ["ip", "route", "replace", "10.1.0.0/24", "dev", "vf0", "table", "220"],
                    ["ip", "route", "replace", "default", "dev", "vf0", "table", "221"]):
            spoke.exec(cmd)
        punt = os.path.join(spoke.dir, "dp-punt.sock")
        spoke_ike = fleet.start(lab, "spoke", "ike", [
            "--dataplane=unix:" + spoke_dp["socket"], "--dataplane_punt=" + punt,
            "--punt_socket=" + os.path.join(spoke.dir, "ike-punt.sock")])
        sp = grpcapi.Ike("unix:" + spoke_ike["socket"])
        sp.call("ReplaceConfig", {"config": spoke_config(hub.wan_address)})
        # Only the hub sends: its ESP reaches the spoke on SPIs the spoke no
        # longer knows; the spoke answers by negotiating anew (INITIAL_CONTACT
        # clears the hub's stale SAs).
        wait_for(lambda: ping(hub, hub.lan_address, spoke.lan_address, 2), 40,
                 "hub LAN -> spoke LAN after the spoke's restart")
        metrics = lab.scrape(spoke, *spoke_ike["metrics"])
        check('vpnfleet_ike_invalid_spi_total{action="initiated"}' in metrics,
              "the spoke initiated on the hub's invalid SPI")
        hs = wait_for(lambda: len(h.call("ListIkeSas", {}).get("ike_sas", [])) == 1 and
                      h.call("ListIkeSas", {})["ike_sas"], 15, "the hub holds one IKE SA")
        check(len(h.call("ListChildSas", {})["child_sas"]) == 1, "and one CHILD SA (stale ones gone)")

        print("clear crypto sa on the spoke")
        r = fleet.cli(["--ike=unix:" + spoke_ike["socket"], "clear", "crypto", "sa"])
        check(r.returncode == 0 and r.stdout.startswith("1 "), "clear crypto sa: " + r.stdout.strip())
        wait_for(lambda: not h.call("ListIkeSas", {}).get("ike_sas"), 10, "hub's SA gone")
        metrics = lab.scrape(hub, *hub_ike["metrics"])
        check('vpnfleet_ike_negotiations_succeeded_total{role="responder",version="2"} 2' in metrics,
              "hub counted two responder successes")
        h.close()
        sp.close()
        print("PASS")
        return 0
    except Fail as e:
        print("FAIL:", e)
        vpnlab.print_log_tails((hub, spoke), ("ike", "dataplane"), lines=30)
        return 1
    finally:
        lab.down()


if __name__ == "__main__":
    sys.exit(main())
