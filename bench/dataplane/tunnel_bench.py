#!/usr/bin/python3
"""Dataplane benchmark 2: TCP through two of our forwarders vs plain veth.

Two lab sites with LAN hosts (tests/lab/manual_tunnel.py, AES-GCM-128, raw
ESP). In the same run: iperf3 between the sites' WAN addresses over the
veth/bridge WAN (plain), then between the LAN hosts through both
dataplanes (tunnel). Prints both and their ratio; the last line is one
JSON object. Usage: tunnel_bench.py BIN_DIR [SECONDS] [JSON_TO_MERGE]
"""

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "lab"))


def iperf(lab, server_site, server_addr, client_exec, seconds, on_host):
    srv = lab.spawn(server_site, "iperf3-%d" % time.time_ns(),
                    ["iperf3", "-s", "-1", "-B", server_addr], on_host=on_host)
    time.sleep(0.5)
    r = client_exec(["iperf3", "-c", server_addr, "-t", str(seconds), "-J"], check=False,
                    timeout=seconds + 60)
    lab.stop(srv)
    if r.returncode != 0:
        raise RuntimeError("iperf3 failed: " + r.stdout[-500:] + r.stderr)
    res = json.loads(r.stdout)["end"]
    return res["sum_received"]["bits_per_second"] / 1e9, res["sum_sent"].get("retransmits", 0)


def main():
    os.environ["VPNFLEET_BIN_DIR"] = sys.argv[1]
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    merged = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    import manual_tunnel  # noqa: E402
    lab, dp = manual_tunnel.build("bn%d" % (os.getpid() % 100000))
    try:
        a, b = lab.site("a"), lab.site("b")
        plain, plain_rtx = iperf(lab, b, b.wan_address, a.exec, seconds, on_host=False)
        tunnel, tunnel_rtx = iperf(lab, b, b.host_address, a.host_exec, seconds, on_host=True)
        counters = dp["a"].call("GetSaCounters", {"key": {
            "spi": 0x1001, "destination": b.wan_address, "protocol": "IPSEC_PROTOCOL_ESP"}})
        encaps = int(counters["entries"][0]["counters"].get("pkts_encaps", 0))
    finally:
        for k, v in dp.items():
            if "/" not in k:
                v.close()
        lab.down()
    print("\nTunnel throughput (iperf3 TCP, %d s, 1 worker per dataplane, AES-GCM-128)" % seconds)
    print("  plain veth WAN        %8.2f Gbit/s  (retransmits %d)" % (plain, plain_rtx))
    print("  through our tunnel    %8.2f Gbit/s  (retransmits %d, %d ESP packets out of site a)"
          % (tunnel, tunnel_rtx, encaps))
    print("  ratio                 %8.3f   (issue target >= 0.25)" % (tunnel / plain))
    merged.update({"tunnel_plain_veth_gbps": round(plain, 3),
                   "tunnel_esp_gcm128_gbps": round(tunnel, 3),
                   "tunnel_to_veth_ratio": round(tunnel / plain, 4)})
    print(json.dumps(merged, sort_keys=True))


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("tunnel_bench: needs root (network namespaces)", file=sys.stderr)
        sys.exit(2)
    main()
