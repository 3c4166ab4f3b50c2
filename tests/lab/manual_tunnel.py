"""Two lab sites joined by our dataplanes with manually keyed SAs.

The same set-up as the seed's `crypto map NAME 10 ipsec-manual` on two
routers: SAs and SPD policies installed directly (here through the
dataplane API on its Unix socket), no IKE. Used by the dataplane
integration test and the tunnel benchmark.

Routing in each site (what an operator, or later the IKE daemon, sets up;
strongSwan does the same with its table 220): the far LAN is routed into
the TUN device vf0; what the forwarder writes back into vf0 and what it
sends (fwmark 0x5646) use the main table; cleartext arriving on the WAN for
the local LAN goes through vf0 too, so the forwarder's inbound policy check
sees it.
"""

import fleet
import vpnlab

MARK = "0x5646"
# 16-byte AES key + 4-byte salt ("0123456789abcdefSALT"), base64 as the
# proto3 JSON mapping writes bytes.
GCM128_KEY = "MDEyMzQ1Njc4OWFiY2RlZlNBTFQ="


def sa(spi, direction, src, dst, sel_src, sel_dst, **extra):
    d = {"key": {"spi": spi, "destination": dst, "protocol": "IPSEC_PROTOCOL_ESP"},
         "direction": direction, "mode": "IPSEC_MODE_TUNNEL",
         "tunnel_source": src, "tunnel_destination": dst,
         "encryption": "ENCRYPTION_AES_GCM_128", "encryption_key": GCM128_KEY,
         "reqid": 1, "copy_dscp": True, "crypto_map": "VPN", "crypto_map_sequence": 10,
         "selectors": [{"source": {"address": sel_src, "length": 24},
                        "destination": {"address": sel_dst, "length": 24}}]}
    d.update(extra)
    return d


def policy(direction, src, dst, tsrc, tdst, reqid=1, action="POLICY_ACTION_PROTECT"):
    return {"direction": direction, "priority": 10, "action": action, "reqid": reqid,
            "tunnel_source": tsrc, "tunnel_destination": tdst,
            "selector": {"source": {"address": src, "length": 24},
                         "destination": {"address": dst, "length": 24}}}


def route(site, local, far):
    for cmd in (["sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0"],
                ["sysctl", "-qw", "net.ipv4.conf.wan0.rp_filter=0"],
                ["sysctl", "-qw", "net.ipv4.conf.vf0.rp_filter=0"],
                ["ip", "route", "add", far, "dev", "vf0", "table", "220"],
                ["ip", "route", "add", "10.3.0.0/24", "dev", "vf0", "table", "220"],
                ["ip", "route", "add", "default", "dev", "vf0", "table", "221"],
                ["ip", "rule", "add", "pref", "99", "iif", "wan0", "to", local, "lookup", "221"],
                ["ip", "rule", "add", "pref", "100", "iif", "vf0", "lookup", "main"],
                ["ip", "rule", "add", "pref", "101", "fwmark", MARK, "lookup", "main"],
                ["ip", "rule", "add", "pref", "102", "lookup", "220"]):
        site.exec(cmd)


def build(lab_name, dataplane_args=(), site_args=None, udp=False):
    """Brings up sites a (10.1.0.0/24) and b (10.2.0.0/24) with LAN hosts,
    a dataplane in each and one SA pair (reqid 1, AES-GCM-128, raw ESP, or
    ESP in UDP/4500 with `udp`). `site_args` adds flags for one site
    ({"b": ["--workers=2"]}).
    Returns (lab, {"a": Dataplane, "b": Dataplane, "a/rec": ..., "b/rec": ...})."""
    import grpcapi  # python3-grpcio; imported here so callers can SKIP without it
    lab = vpnlab.Lab(lab_name)
    a = lab.add_site("a", lan="10.1.0.0/24", lan_host=True)
    b = lab.add_site("b", lan="10.2.0.0/24", lan_host=True)
    lab.up()
    dp = {}
    try:
        for site, local, far in ((a, "10.1.0.0/24", "10.2.0.0/24"),
                                 (b, "10.2.0.0/24", "10.1.0.0/24")):
            extra = list(dataplane_args) + list((site_args or {}).get(site.name, ()))
            rec = fleet.start(lab, site.name, "dataplane", ["--tun=vf0"] + extra)
            route(site, local, far)
            dp[site.name] = grpcapi.Dataplane("unix:" + rec["socket"])
            dp[site.name + "/rec"] = rec
        A, B = a.wan_address, b.wan_address
        da, db = dp["a"], dp["b"]
        x = {"udp_encapsulation": {"source_port": 4500, "destination_port": 4500}} if udp else {}
        da.call("AddSa", {"sa": sa(0x1001, "DIRECTION_OUTBOUND", A, B, "10.1.0.0", "10.2.0.0", **x)})
        da.call("AddSa", {"sa": sa(0x2001, "DIRECTION_INBOUND", B, A, "10.2.0.0", "10.1.0.0", **x)})
        db.call("AddSa", {"sa": sa(0x2001, "DIRECTION_OUTBOUND", B, A, "10.2.0.0", "10.1.0.0", **x)})
        db.call("AddSa", {"sa": sa(0x1001, "DIRECTION_INBOUND", A, B, "10.1.0.0", "10.2.0.0", **x)})
        da.call("AddPolicy", {"policy": policy("DIRECTION_OUTBOUND", "10.1.0.0", "10.2.0.0", A, B)})
        da.call("AddPolicy", {"policy": policy("DIRECTION_INBOUND", "10.2.0.0", "10.1.0.0", B, A)})
        db.call("AddPolicy", {"policy": policy("DIRECTION_OUTBOUND", "10.2.0.0", "10.1.0.0", B, A)})
        db.call("AddPolicy", {"policy": policy("DIRECTION_INBOUND", "10.1.0.0", "10.2.0.0", A, B)})
    except BaseException:
        for k, v in dp.items():
            if "/" not in k:
                v.close()
        lab.down()
        raise
    return lab, dp
