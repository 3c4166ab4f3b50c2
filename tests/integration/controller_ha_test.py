#!/usr/bin/env python3
"""Controller replicas on etcd (issue 23), as an operator would run them:
  - a 3-member etcd on loopback (Debian's etcd) and 3 controller replicas
    sharing one --secret_key, each on its own Unix socket;
  - exactly one leads; the other two answer reads from their copy of the
    fleet (kept current through etcd's watch) and refuse writes with
    UNAVAILABLE naming the leader; gRPC health names the leader;
  - WatchFleet on a follower streams the leader's changes;
  - what the leader acknowledged (a device, a template) is there after the
    leader is SIGKILLed, at a new leader elected within the lease time;
  - with one etcd member killed as well, the new leader still writes;
  - a leader paused past its lease (SIGSTOP) is replaced, and when it runs
    again it refuses writes and exits;
  - a replica without the shared key file refuses to start.
Nothing leaves loopback; every process is stopped by PID at the end.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))
sys.path.insert(0, HERE)

import grpc  # noqa: E402

from checks import Fail, check, wait_for  # noqa: E402
import fleet  # noqa: E402
from controller_robustness_test import SERVICE, Controller, device  # noqa: E402

ETCD = "/usr/bin/etcd"
LEASE = 3


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Etcd:
    def __init__(self, root, members=3):
        self.procs = []
        self.clients = []
        names = ["m%d" % i for i in range(members)]
        peers = [free_port() for _ in names]
        self.clients = ["127.0.0.1:%d" % free_port() for _ in names]
        cluster = ",".join("%s=http://127.0.0.1:%d" % (n, p) for n, p in zip(names, peers))
        for n, peer, client in zip(names, peers, self.clients):
            log = open(os.path.join(root, n + ".log"), "w")
            self.procs.append(subprocess.Popen([
                ETCD, "--name=" + n, "--data-dir=" + os.path.join(root, n),
                "--listen-client-urls=http://" + client, "--advertise-client-urls=http://" + client,
                "--listen-peer-urls=http://127.0.0.1:%d" % peer,
                "--initial-advertise-peer-urls=http://127.0.0.1:%d" % peer,
                "--initial-cluster=" + cluster, "--initial-cluster-state=new",
                "--max-txn-ops=1000000", "--max-request-bytes=268435456",
                "--heartbeat-interval=50", "--election-timeout=500"], stdout=log, stderr=subprocess.STDOUT))

    def kill(self, i):
        if self.procs[i].poll() is None:
            self.procs[i].send_signal(signal.SIGKILL)
            self.procs[i].wait()

    def stop(self):
        for i in range(len(self.procs)):
            self.kill(i)


class Replica(Controller):
    def __init__(self, data_dir, name, store, key):
        super().__init__(data_dir)
        self.name = name
        self.extra = ["--store=" + store, "--secret_key=" + key, "--replica_name=" + name,
                      "--leader_lease_seconds=%d" % LEASE]

    def start(self):
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        self.log = open(os.path.join(self.data_dir, "controller.log"), "a")
        self.proc = subprocess.Popen([fleet.binary("vpnfleet-controller"), "--data_dir=" + self.data_dir,
                                      "--grpc_socket=" + self.socket, "--metrics_listen=127.0.0.1:0"] + self.extra,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: os.path.exists(self.socket) or self.proc.poll() is not None, 60, self.name + "'s socket")
        check(self.proc.poll() is None, "%s is running" % self.name)
        self.channel = grpc.insecure_channel("unix:" + self.socket)

    def role(self):
        """'leader', or the leader a follower names ('' while none)."""
        try:
            self.call("Validate", {}, timeout=5)  # only the leader answers it
            return "leader"
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.UNAVAILABLE:
                raise
            msg = e.details() or ""
            return msg.split("the leader is ", 1)[1] if "the leader is " in msg else ""


    def health(self, service):
        """grpc.health.v1 Check of `service`, by hand (no grpc_health module in Debian)."""
        name = service.encode()
        fn = self.channel.unary_unary("/grpc.health.v1.Health/Check", request_serializer=lambda b: b,
                                      response_deserializer=lambda b: b)
        resp = fn(b"\x0a" + bytes([len(name)]) + name, timeout=5)
        return {b"": "UNKNOWN", b"\x08\x01": "SERVING", b"\x08\x02": "NOT_SERVING"}.get(resp, resp.hex())

    def watch(self, send_initial=True):
        fn = self.channel.unary_stream(SERVICE + "WatchFleet", request_serializer=lambda m: m.SerializeToString(),
                                       response_deserializer=self.pb.FleetEvent.FromString)
        return fn(self.pb.WatchFleetRequest(send_initial=send_initial), timeout=120)


def next_put(stream, name):
    """Reads a watch until a PUT of `name` (the events before it, returned too)."""
    seen = []
    for e in stream:
        seen.append(e)
        if e.type == e.TYPE_PUT and e.name == name:
            return seen
    raise Fail("the watch ended before %s came (%d events)" % (name, len(seen)))


def shared_key(root):
    """The sealing key every replica of a set is given."""
    key = os.path.join(root, "secret.key")
    with open(key, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(key, 0o600)
    return key


def start_replicas(replicas, root, store, key, n=3):
    """Starts n replicas on `store`, appending each to `replicas` as it starts
    (so that a caller's cleanup stops those that did)."""
    for i in range(n):
        d = os.path.join(root, "replica-%d" % i)
        os.makedirs(d)
        r = Replica(d, "replica-%d" % i, store, key)
        r.start()
        replicas.append(r)


def print_logs(replicas, tail=3000):
    for r in replicas:
        print("--- %s log" % r.name)
        with open(os.path.join(r.data_dir, "controller.log")) as f:
            print(f.read()[-tail:])


def leaders(replicas):
    return [r for r in replicas if r.proc.poll() is None and r.role() == "leader"]


def main():
    if not os.path.exists(ETCD):
        print("SKIP: etcd is not installed (apt install etcd-server)")
        return 77
    root = tempfile.mkdtemp(prefix="vpnfleet-ha-")
    etcd = Etcd(root)
    replicas = []
    try:
        key = shared_key(root)
        store = "etcd:" + ",".join(etcd.clients)
        start_replicas(replicas, root, store, key)
        wait_for(lambda: len(leaders(replicas)) == 1, 30, "one leader among three replicas")
        leader = leaders(replicas)[0]
        followers = [r for r in replicas if r is not leader]
        for f in followers:
            check(f.role() == leader.name, "%s refuses with UNAVAILABLE naming %s" % (f.name, leader.name))
        pb = leader.pb
        watch = followers[1].watch()
        first = next(watch)
        check(first.type == first.TYPE_SYNCED, "a follower's WatchFleet starts (the fleet is empty: SYNCED first)")
        leader.raw("PutDevice", pb.PutDeviceRequest(device=device(pb, "edge-a", "203.0.113.10")), pb.Device)
        leader.call("PutTemplate", {"template": {"name": "hub", "body": "crypto isakmp policy 10\n",
                                                 "output": "TEMPLATE_OUTPUT_IOS_CONFIGLET"}}, "Template")
        try:
            followers[0].raw("PutDevice", pb.PutDeviceRequest(device=device(pb, "edge-x", "203.0.113.99")), pb.Device)
            raise Fail("a follower accepted a write")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.UNAVAILABLE and leader.name in (e.details() or ""),
                  "a follower refuses a write, naming the leader")
        ev = next_put(watch, "edge-a")[-1]
        check(ev.kind == pb.FLEET_OBJECT_KIND_DEVICE and ev.device.wan_address == "203.0.113.10",
              "the follower's watch streams the leader's new device")

        def follower_has(f, name):
            try:
                return f.call("GetDevice", {"name": name}, "Device", timeout=5).get("name") == name
            except grpc.RpcError:
                return False
        def follower_has_template(f):
            try:
                return f.call("GetTemplate", {"name": "hub"}, "Template", timeout=5).get("name") == "hub"
            except grpc.RpcError:
                return False
        for f in followers:
            wait_for(lambda: follower_has(f, "edge-a"), 10, "%s answers a read of the leader's write" % f.name)
            wait_for(lambda: follower_has_template(f), 10, "%s has the leader's template" % f.name)
        # The CLI's watch on a follower: the fleet, then the leader's change.
        cli = subprocess.Popen([fleet.binary("vpnfleet"), "--controller=unix:" + followers[0].socket, "watch",
                                "device"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        watchdog = threading.Timer(20, cli.kill)
        watchdog.start()
        try:
            lines = [cli.stdout.readline().strip() for _ in range(2)]
            leader.raw("PutDevice", pb.PutDeviceRequest(device=device(pb, "edge-w", "203.0.113.30")), pb.Device)
            lines.append(cli.stdout.readline().strip())
        finally:
            watchdog.cancel()
            cli.kill()
            cli.wait()
        check(lines[0].startswith("device edge-a: revision") and lines[1].startswith("% 1 object(s)") and
              lines[2].startswith("device edge-w changed: revision") and "203.0.113.30" in lines[2],
              "vpnfleet watch on a follower: the fleet, then the leader's change %s" % lines)
        health = {r.name: (r.health(SERVICE.strip("/")), r.health(SERVICE.strip("/") + "/leader")) for r in replicas}
        check(health[leader.name] == ("SERVING", "SERVING") and
              all(health[f.name] == ("SERVING", "NOT_SERVING") for f in followers),
              "gRPC health: every replica serves, only the leader under .../leader %s" % health)

        killed = time.time()
        leader.kill()
        wait_for(lambda: len(leaders(followers)) == 1, 30, "a new leader")
        took = time.time() - killed
        new = leaders(followers)[0]
        print("new leader %s after %.1f s (lease %d s)" % (new.name, took, LEASE))
        # The lease, a follower's 1 s poll and a loaded 2-core machine's slack.
        check(took < 2 * LEASE + 4, "the new leader acts about a lease after the kill (%.1f s)" % took)
        got = new.call("GetDevice", {"name": "edge-a"}, "Device")
        check(got.get("wan_address") == "203.0.113.10", "the device acknowledged before the kill is there")
        check(new.call("GetTemplate", {"name": "hub"}, "Template").get("name") == "hub",
              "the template acknowledged before the kill is there")
        other = [f for f in followers if f is not new][0]
        wait_for(lambda: other.role() == new.name, 10, "the last follower names the new leader")

        etcd.kill(0)
        new.raw("PutDevice", pb.PutDeviceRequest(device=device(pb, "edge-b", "203.0.113.11")), pb.Device)
        check(new.call("GetDevice", {"name": "edge-b"}, "Device").get("name") == "edge-b",
              "with 2 of 3 etcd members the leader still writes")
        # The follower's watch of member 0 broke with it: it reads the fleet
        # again from another member and keeps following.
        wait_for(lambda: follower_has(other, "edge-b"), 15, "the follower follows on with 2 of 3 etcd members")
        watch.cancel()

        # A leader paused past its lease (SIGSTOP: a frozen VM, a partition)
        # is replaced; when it runs again it neither answers a write nor gets
        # one into the store (fenced), and ends itself.
        os.kill(new.proc.pid, signal.SIGSTOP)
        paused = time.time()
        try:
            wait_for(lambda: other.role() == "leader", 30, "the last follower leads while the leader is paused")
            print("%s leads %.1f s after %s was paused" % (other.name, time.time() - paused, new.name))
            other.raw("PutDevice", pb.PutDeviceRequest(device=device(pb, "edge-c", "203.0.113.12")), pb.Device)
        finally:
            os.kill(new.proc.pid, signal.SIGCONT)
        try:
            new.raw("PutDevice", pb.PutDeviceRequest(device=device(pb, "edge-c", "203.0.113.66")), pb.Device,
                    timeout=10)
            raise Fail("the deposed leader accepted a write after its pause")
        except grpc.RpcError as e:
            print("the deposed leader's answer to a write: %s %s" % (e.code().name, (e.details() or "")[:120]))
            check(new.name + " " not in (e.details() or "") + " ", "the deposed leader does not name itself leader")
        try:
            code = new.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            raise Fail("the deposed leader kept running")
        check(code == 3, "the deposed leader ended itself (exit %d)" % code)
        got = other.call("GetDevice", {"name": "edge-c"}, "Device")
        check(got.get("wan_address") == "203.0.113.12", "the new leader's write stands (%s)" % got.get("wan_address"))

        lone = os.path.join(root, "keyless")
        os.makedirs(lone)
        out = subprocess.run([fleet.binary("vpnfleet-controller"), "--data_dir=" + lone,
                              "--grpc_socket=" + os.path.join(lone, "s"), "--metrics_listen=127.0.0.1:0",
                              "--store=" + store, "--secret_key=" + os.path.join(lone, "none.key")],
                             capture_output=True, text=True, timeout=60)
        check(out.returncode != 0 and "--secret_key" in out.stdout + out.stderr,
              "a replica without the shared key file refuses to start")
        print("PASS")
        return 0
    except Fail as e:
        print("FAIL:", e)
        print_logs(replicas)
        return 1
    finally:
        for r in replicas:
            r.stop()
        etcd.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
