#!/usr/bin/python3
"""Dataplane benchmark 2: TCP through two of our forwarders, in the same run
as plain veth and as wireguard-go.

Two lab sites with LAN hosts (tests/lab/manual_tunnel.py, AES-GCM-128).
iperf3 TCP, each configuration in the same run:

  plain            site a -> site b over the veth/bridge WAN, no tunnel
  wireguard-go     site a -> site b through Debian's wireguard-go (a
                   userspace tunnel; the 2022 build has no TUN/UDP offloads)
  tunnel           host a -> host b through both dataplanes, ESP in UDP/4500,
                   TUN and UDP offloads on (the default); -P 1 and -P 4, and
                   the dataplanes' CPU seconds per GB carried
  tunnel_raw_esp   the same with raw ESP (IP protocol 50: no UDP GSO/GRO)
  tunnel_nooffload ESP in UDP with --notun_offload --noudp_offload
  tunnel_2workers  ESP in UDP, offloads on, two workers per dataplane, -P 4

The headline `tunnel_to_veth_ratio` is tunnel (-P 1) over plain (-P 1).
The last line is one JSON object. Usage: tunnel_bench.py BIN_DIR [SECONDS]
[JSON_TO_MERGE]
"""

import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "lab"))

WG_NET = "10.99.0.%d"


def iperf(lab, server_site, server_addr, client_exec, seconds, on_host, parallel=1):
    srv = lab.spawn(server_site, "iperf3-%d" % time.time_ns(),
                    ["iperf3", "-s", "-1", "-B", server_addr], on_host=on_host)
    time.sleep(0.5)
    r = client_exec(["iperf3", "-c", server_addr, "-t", str(seconds), "-P", str(parallel), "-J"],
                    check=False, timeout=seconds + 60)
    lab.stop(srv)
    if r.returncode != 0:
        raise RuntimeError("iperf3 failed: " + r.stdout[-500:] + r.stderr)
    res = json.loads(r.stdout)["end"]
    return (res["sum_received"]["bits_per_second"] / 1e9, res["sum_sent"].get("retransmits", 0),
            res["sum_received"]["bytes"])


def cpu_seconds(pids):
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def close(lab, dp):
    for k, v in dp.items():
        if "/" not in k:
            v.close()
    lab.down()


def wireguard(lab, tmp):
    """wireguard-go in sites a and b, one peer each, over the WAN."""
    keys = {}
    for s in ("a", "b"):
        private = subprocess.run(["wg", "genkey"], capture_output=True, text=True,
                                 check=True).stdout.strip()
        public = subprocess.run(["wg", "pubkey"], input=private, capture_output=True, text=True,
                                check=True).stdout.strip()
        path = os.path.join(tmp, "wg-%s.key" % s)
        with open(path, "w") as f:
            f.write(private + "\n")
        os.chmod(path, 0o600)
        keys[s] = (path, public)
    for i, (s, other) in enumerate((("a", "b"), ("b", "a"))):
        site, peer = lab.site(s), lab.site(other)
        dev = "wg" + s + str(os.getpid() % 10000)  # the UAPI socket path is per name, not per netns
        lab.spawn(site, "wireguard-go", ["wireguard-go", "-f", dev])
        for _ in range(100):
            if os.path.exists("/var/run/wireguard/%s.sock" % dev):
                break
            time.sleep(0.05)
        site.exec(["wg", "set", dev, "private-key", keys[s][0], "listen-port", "51820",
                   "peer", keys[other][1], "allowed-ips", WG_NET % (2 - i) + "/32",
                   "endpoint", "%s:51820" % peer.wan_address])
        site.exec(["ip", "addr", "add", WG_NET % (i + 1) + "/24", "dev", dev])
        site.exec(["ip", "link", "set", dev, "mtu", "1420", "up"])


def main():
    os.environ["VPNFLEET_BIN_DIR"] = sys.argv[1]
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    merged = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    import manual_tunnel  # noqa: E402
    name = "bn%d" % (os.getpid() % 100000)
    out = {}

    lab, dp = manual_tunnel.build(name, udp=True)
    try:
        a, b = lab.site("a"), lab.site("b")
        out["plain"] = iperf(lab, b, b.wan_address, a.exec, seconds, on_host=False)
        out["plain_p4"] = iperf(lab, b, b.wan_address, a.exec, seconds, False, parallel=4)
        pids = [dp["a/rec"]["pid"], dp["b/rec"]["pid"]]
        cpu0 = cpu_seconds(pids)
        out["tunnel"] = iperf(lab, b, b.host_address, a.host_exec, seconds, on_host=True)
        cpu = cpu_seconds(pids) - cpu0
        out["tunnel_p4"] = iperf(lab, b, b.host_address, a.host_exec, seconds, True, parallel=4)
        with tempfile.TemporaryDirectory() as tmp:
            wireguard(lab, tmp)
            out["wireguard_go"] = iperf(lab, b, WG_NET % 2, a.exec, seconds, on_host=False)
    finally:
        close(lab, dp)

    for key, kwargs in (("tunnel_raw_esp", {}),
                        ("tunnel_nooffload", {"udp": True, "dataplane_args":
                                              ["--notun_offload", "--noudp_offload"]}),
                        ("tunnel_2workers", {"udp": True, "dataplane_args": ["--workers=2"]})):
        lab, dp = manual_tunnel.build(name, **kwargs)
        try:
            a, b = lab.site("a"), lab.site("b")
            out[key] = iperf(lab, b, b.host_address, a.host_exec, seconds, True,
                             parallel=4 if key == "tunnel_2workers" else 1)
        finally:
            close(lab, dp)

    gb = out["tunnel"][2] / 1e9
    print("\nTunnel throughput (iperf3 TCP, %d s each, AES-GCM-128, same run)" % seconds)
    rows = (("plain", "plain veth WAN, -P 1"), ("plain_p4", "plain veth WAN, -P 4"),
            ("wireguard_go", "wireguard-go (Debian), -P 1"),
            ("tunnel", "our tunnel, ESP in UDP, offloads, -P 1"),
            ("tunnel_p4", "our tunnel, ESP in UDP, offloads, -P 4"),
            ("tunnel_raw_esp", "our tunnel, raw ESP, TUN offloads, -P 1"),
            ("tunnel_nooffload", "our tunnel, ESP in UDP, offloads off, -P 1"),
            ("tunnel_2workers", "our tunnel, 2 workers each, -P 4"))
    for key, label in rows:
        gbps, rtx, _ = out[key]
        print("  %-44s %7.2f Gbit/s  (retransmits %d)" % (label, gbps, rtx))
    plain = out["plain"][0]
    ratio = out["tunnel"][0] / plain
    print("  tunnel / plain veth                          %7.3f   (issue target >= 0.25)" % ratio)
    print("  tunnel / wireguard-go                        %7.2f" % (out["tunnel"][0] / out["wireguard_go"][0]))
    print("  dataplane CPU (both sites) per GB carried    %7.2f s" % (cpu / gb))
    for key, _ in rows:
        field = {"plain": "plain_veth", "plain_p4": "plain_veth_p4"}.get(key, key)
        merged[field + "_gbps"] = round(out[key][0], 3)
        merged[field + "_retransmits"] = out[key][1]
    merged.update({
        "tunnel_plain_veth_gbps": round(plain, 3),
        "tunnel_esp_gcm128_gbps": round(out["tunnel"][0], 3),
        "tunnel_to_veth_ratio": round(ratio, 4),
        "tunnel_raw_esp_to_veth_ratio": round(out["tunnel_raw_esp"][0] / plain, 4),
        "tunnel_p4_to_veth_p4_ratio": round(out["tunnel_p4"][0] / out["plain_p4"][0], 4),
        "tunnel_to_wireguard_go_ratio": round(out["tunnel"][0] / out["wireguard_go"][0], 3),
        "tunnel_offload_to_nooffload_ratio": round(out["tunnel"][0] / out["tunnel_nooffload"][0], 3),
        "dataplane_cpu_seconds_per_gb": round(cpu / gb, 3),
    })
    print(json.dumps(merged, sort_keys=True))


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("tunnel_bench: needs root (network namespaces)", file=sys.stderr)
        sys.exit(2)
    main()
