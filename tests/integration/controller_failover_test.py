#!/usr/bin/env python3
"""A rollout survives its leader (issue 23), as the issue's lab asks:
  - 3 etcd members and 3 controller replicas on loopback; 12 simulated edges
    (tests/lab/sim_edges.py: one gRPC server on a Unix socket, each apply
    taking 0.3 s, tunnels up once both ends name each other);
  - a hub-and-spoke rollout starts on the leader; the leader is SIGKILLed
    mid-batch; a new leader is elected and resumes the rollout from the
    store: every device ends on the target revision, the rollout record is
    complete (12 of 12 done), no device was given two different
    configurations, and nothing acknowledged before the kill is lost;
  - a follower answers GetRollout with the same record;
  - then one etcd member is killed as well: a second change rolls out with
    2 of 3 members.
Nothing leaves loopback; every process is stopped by PID at the end.
"""

import os
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))
sys.path.insert(0, HERE)

import grpc  # noqa: E402

from checks import Fail, check, wait_for  # noqa: E402
from controller_ha_test import ETCD, LEASE, Etcd, leaders, print_logs, shared_key, start_replicas  # noqa: E402
from controller_robustness_test import SERVICE  # noqa: E402
from sim_edges import SimEdges  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
DEVICES = 12


def template(body, sa_lifetime):
    variables = {"trustpoint": "fleet", "scep_url": "http://192.0.2.1/scep", "ike_encryption": "aes-gcm-256",
                 "ike_hash": "sha384", "dh_group": "19", "signature": "ecdsa-sig", "ike_lifetime": "86400",
                 "dpd_seconds": "10", "esp_transform": "esp-gcm 256", "sa_lifetime": str(sa_lifetime),
                 "wan_interface": "wan0", "auto_enroll": "70"}
    return {"template": {
        "name": "hub-and-spoke", "output": "TEMPLATE_OUTPUT_POLICY", "body": body,
        "topology": {"kind": "TOPOLOGY_KIND_HUB_AND_SPOKE", "auth": "PEER_AUTH_PRE_SHARED_KEY",
                     "summary_prefixes": [{"address": "10.0.0.0", "length": 8}]},
        "variables": [{"name": k, "default_value": v} for k, v in variables.items()]}}


def start_rollout(replica):
    pb = replica.pb
    fn = replica.channel.unary_stream(SERVICE + "StartRollout", request_serializer=lambda m: m.SerializeToString(),
                                      response_deserializer=pb.RolloutProgress.FromString)
    req = pb.StartRolloutRequest(strategy=pb.RolloutStrategy(canary_devices=1, batch_size=4, max_unavailable=2,
                                                             health_timeout_seconds=30, auto_rollback=True))
    return fn(req, timeout=300)


def main():
    if not os.path.exists(ETCD):
        print("SKIP: etcd is not installed (apt install etcd-server)")
        return 77
    root = tempfile.mkdtemp(prefix="vpnfleet-failover-")
    etcd = Etcd(root)
    edges = SimEdges(os.path.join(root, "edges.sock"), apply_delay=0.3)
    replicas = []
    try:
        edges.start()
        key = shared_key(root)
        store = "etcd:" + ",".join(etcd.clients)
        start_replicas(replicas, root, store, key)
        wait_for(lambda: len(leaders(replicas)) == 1, 30, "one leader among three replicas")
        leader = leaders(replicas)[0]
        with open(os.path.join(ROOT, "deploy", "templates", "hub-and-spoke.mustache")) as f:
            body = f.read()
        leader.call("PutTemplate", template(body, 3600), "Template")
        names = ["hub"] + ["spoke%d" % i for i in range(1, DEVICES)]
        for i, name in enumerate(names):
            wan = "10.100.0.%d" % (i + 1)
            edges.add_device(name, wan)
            leader.call("PutDevice", {"device": {
                "name": name, "kind": "DEVICE_KIND_VPNFLEET", "wan_address": wan, "role": "hub" if i == 0 else "spoke",
                "management_endpoint": "unix:" + edges.socket,
                "inner_prefixes": [{"address": "10.0.%d.0" % (i + 1), "length": 24}]}}, "Device")
            leader.call("PutDataSet", {"data_set": {"name": name + "-vpn", "template": "hub-and-spoke",
                                                    "device": name}}, "DataSet")

        # The rollout, on the leader, killed mid-batch.
        progress, ended = [], []

        def follow(stream):
            try:
                for p in stream:
                    progress.append(p.message)
                ended.append("finished")
            except grpc.RpcError as e:
                ended.append(e.code().name)
        stream = start_rollout(leader)
        reader = threading.Thread(target=follow, args=(stream,), daemon=True)
        reader.start()
        wait_for(lambda: len(edges.applies) >= 4, 60, "the first batch under way (4 applies)")
        before = len(edges.applies)
        killed = time.time()
        leader.kill()
        reader.join(timeout=30)
        print("leader %s killed after %d applies; its stream ended: %s; last progress: %s"
              % (leader.name, before, ended, progress[-1:] if progress else "none"))
        check(before < DEVICES, "the leader died mid-rollout (%d of %d applied)" % (before, DEVICES))
        rest = [r for r in replicas if r is not leader]
        wait_for(lambda: len(leaders(rest)) == 1, 30, "a new leader")
        new = leaders(rest)[0]
        elected = time.time() - killed
        follower = [r for r in rest if r is not new][0]

        def state():
            return new.call("GetRollout", {"id": "rollout-1"}, "Rollout").get("state")
        wait_for(lambda: state() not in (None, "ROLLOUT_STATE_RUNNING", "ROLLOUT_STATE_PENDING"), 120,
                 "the new leader finishes the rollout")
        after = [started for _, _, started, _ in edges.applies if started > killed]
        resumed = (min(after) - killed) if after else float("nan")
        print("new leader %s after %.1f s; its first apply %.1f s after the kill (lease %d s)"
              % (new.name, elected, resumed, LEASE))
        check(resumed < 2 * LEASE + 6, "the new leader resumes about a lease after the kill (%.1f s)" % resumed)

        r = new.call("GetRollout", {"id": "rollout-1"}, "Rollout")
        check(r.get("state") == "ROLLOUT_STATE_SUCCEEDED", "the rollout succeeded: %s %s"
              % (r.get("state"), r.get("operator_action", "")))
        check(r.get("devices_total") == DEVICES and r.get("devices_done") == DEVICES,
              "the record is complete: %s of %s devices done" % (r.get("devices_done"), r.get("devices_total")))
        target = int(r.get("desired_revision", 0))
        statuses = r.get("devices", [])
        check(len(statuses) == DEVICES and all(
            d.get("state") == "DEVICE_ROLLOUT_STATE_DONE" and int(d.get("running_revision", 0)) == target
            for d in statuses), "every device runs the target revision %d" % target)
        pushed = edges.pushed()
        twice = {d: len(c) for d, c in pushed.items() if len(c) != 1}
        check(sorted(pushed) == sorted(names) and not twice,
              "every device was given one configuration, none two different ones %s" % twice)
        applies = len(edges.applies)
        print("%d applies for %d devices (a device whose apply the kill cut off may be given the same "
              "configuration again)" % (applies, DEVICES))
        check(applies <= DEVICES + 2, "at most the interrupted applies were repeated (%d)" % applies)
        check(len(new.call("ListRollouts", {}).get("rollouts", [])) == 1, "one rollout, not a second one")
        for name in names:
            check(new.call("GetDevice", {"name": name}, "Device").get("name") == name, "device %s is there" % name)
        fr = follower.call("GetRollout", {"id": "rollout-1"}, "Rollout")
        check(fr.get("state") == "ROLLOUT_STATE_SUCCEEDED" and fr.get("devices_done") == DEVICES,
              "a follower answers GetRollout with the same record")

        # One etcd member down too: a second change still rolls out.
        etcd.kill(0)
        new.call("PutTemplate", template(body, 1800), "Template")
        second = list(start_rollout(new))
        r2 = new.call("GetRollout", {"id": "rollout-2"}, "Rollout")
        check(r2.get("state") == "ROLLOUT_STATE_SUCCEEDED" and r2.get("devices_done") == DEVICES,
              "with 2 of 3 etcd members a second change rolls out (%s, %d progress messages)"
              % (r2.get("state"), len(second)))
        check(all(len(c) == 2 for c in edges.pushed().values()), "every device now has its second configuration")
        print("PASS")
        return 0
    except Fail as e:
        print("FAIL:", e)
        print_logs(replicas, 4000)
        return 1
    finally:
        for r in replicas:
            r.stop()
        edges.stop()
        etcd.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
