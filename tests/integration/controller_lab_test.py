#!/usr/bin/env python3
"""The controller end to end, the fleet demo's flow under test:
  - a data set that does not render is refused with a precise error and
    nothing reaches any edge;
  - devices enroll over SCEP through the controller, a rollout brings up
    IKEv2 tunnels with certificates, spoke1's LAN reaches spoke2's through
    the hub;
  - a policy change is rolled out and the controller is killed with SIGKILL
    in the middle of it; restarted on the same data, it finishes the
    rollout, and devices, templates, data sets and rollouts are all still
    there;
  - `show crypto ipsec sa --device` through the controller matches the edge.
Exit 77 (skip) without root.
"""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))

from checks import Fail, check, wait_for  # noqa: E402
import fleet  # noqa: E402
import fleet_demo  # noqa: E402
import vpnlab  # noqa: E402


def edge_config(site):
    import grpcapi
    return grpcapi.Ike("unix:" + os.path.join(site.dir, "ike.sock")).call("GetConfig", {})


def inventory(op):
    return {k: op.json(args) for k, args in (("devices", ["device", "list"]),
                                             ("templates", ["template", "list"]),
                                             ("data", ["data", "list"]))}


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root for network namespaces")
        return 77
    lab = vpnlab.Lab("ctl%d" % (os.getpid() % 1000))
    core, edges = fleet_demo.build(lab)
    hub, spoke1, spoke2 = edges
    lab.up()
    try:
        pki, ctl = fleet_demo.start_core(lab)
        lans = [s.lan for s in edges]
        for s in edges:
            fleet_demo.start_edge(lab, s, lans, is_hub=s is hub)
        op = fleet_demo.Operator(ctl)
        fleet_demo.register(op, core, edges, auth="certificate")

        print("a data set that does not render stops the rollout before anything is pushed")
        op.run(["data", "set", "spoke2-vpn", "--template_name", "hub-and-spoke", "--device", "spoke2",
                "dh_group=7"])
        r = op.run(["rollout", "apply"], check=False)
        check(r.returncode != 0, "rollout refused (exit %d)" % r.returncode)
        check("nothing was pushed" in r.stderr and "unknown DH group '7'" in r.stderr
              and "spoke2" in r.stderr, "the error names the device and the field: %s" % r.stderr.strip())
        v = op.run(["validate"], check=False)
        check(v.returncode == 1 and "% ERROR spoke2: template hub-and-spoke / data set spoke2-vpn" in v.stdout,
              "validate points at spoke2's data set")
        for s in edges:
            check(not edge_config(s).get("crypto_maps"), "%s received nothing" % s.name)
        op.run(["data", "set", "spoke2-vpn", "--template_name", "hub-and-spoke", "--device", "spoke2"])

        print("enrollment through the controller, then the first rollout")
        got = fleet_demo.enroll(op, edges)
        check(all(g["subject"].startswith("CN=") for g in got.values()), "three certificates issued")
        r = op.run(["-o", "json", "rollout", "apply", "--canary", "1", "--batch", "2"])
        first = json.loads(r.stdout)
        check(first["state"] == "ROLLOUT_STATE_SUCCEEDED", "rollout %s succeeded" % first["id"])
        wait_for(lambda: fleet_demo.ping(spoke1, spoke2, 3) == 3, 20, "spoke1 LAN -> spoke2 LAN via the hub")

        print("a policy change, and the controller is killed with SIGKILL in the middle of its rollout")
        op.run(["template", "add", "hub-and-spoke", "--file", fleet_demo.TEMPLATE, "--topology",
                "hub-and-spoke", "--auth", "certificate", "--var", ",".join(
                    [v for v in fleet_demo.VARIABLES if not v.startswith("sa_lifetime")] +
                    ["sa_lifetime=1800", "scep_url=http://%s:18080/scep" % core.wan_address])])
        before = inventory(op)
        plan = op.json(["rollout", "plan"])
        check(all(d["change"] == "DEVICE_CHANGE_UPDATE" for d in plan["devices"]),
              "the plan updates all three devices")
        check(any("lifetime seconds 1800" in c for c in plan["devices"][0]["changes"]),
              "and shows the new lifetime")
        cli = subprocess.Popen(op.argv(["--timeout_ms=20000", "rollout", "apply",
                                        "--canary", "1", "--batch", "2", "--watch"]),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen = []
        for line in cli.stdout:
            seen.append(line.rstrip())
            if "batch 1: applying" in line:
                os.kill(ctl["pid"], 9)
                break
        cli.wait(timeout=30)
        check(not any("succeeded" in l for l in seen), "killed before the rollout finished (%s)" % seen[-1])
        ctl["_popen"].wait(timeout=10)

        ctl = fleet_demo.start_controller(lab, pki)
        op = fleet_demo.Operator(ctl)
        rollout_id = json.loads(op.run(["-o", "json", "rollout", "status"]).stdout)["rollouts"][-1]["id"]

        def finished():
            r = op.json(["rollout", "status", rollout_id])
            return r if r["state"] != "ROLLOUT_STATE_RUNNING" else None
        wait_for(finished, 60, "the restarted controller finishes %s" % rollout_id)
        done = finished()
        check(done["state"] == "ROLLOUT_STATE_SUCCEEDED", "%s succeeded after the restart" % rollout_id)
        check(all(d["state"] == "DEVICE_ROLLOUT_STATE_DONE" for d in done["devices"]), "every device done")
        after = inventory(op)
        check(after == before, "devices, templates and data sets are as they were before the kill")
        check(len(op.json(["rollout", "status"])["rollouts"]) == 2, "both rollouts are on record")
        for s in edges:
            maps = edge_config(s)["crypto_maps"]
            check(maps[0]["entries"][0]["lifetime"]["seconds"] == "1800", "%s runs the new policy" % s.name)
        wait_for(lambda: fleet_demo.ping(spoke1, spoke2, 3) == 3, 30, "spoke1 LAN -> spoke2 LAN again")

        view = op.json(["show", "crypto", "ipsec", "sa", "--device", "hub"])
        check(len(view.get("child_sas", [])) >= 2, "the hub shows a CHILD SA per spoke through the controller")
        print("PASS")
        return 0
    except Fail as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        lab.down()


if __name__ == "__main__":
    sys.exit(main())
