#!/usr/bin/env python3
"""Rollouts to `ios` devices over SSH, against routers emulated by
tests/lab/ios_ssh_emulator.py (an SSH server that answers like IOS's CLI):
  - the controller pushes each router's crypto policy with `configure
    terminal`, only the lines that differ, after saving a checkpoint to
    flash; routing, addressing and other lists stay as they were; the
    configuration is saved (`write memory`); a second rollout of the same
    policy types nothing;
  - a login below privilege 15 (`R1>`) and a router whose host key is not in
    known_hosts are refused, nothing typed;
  - a change that one router refuses half-way is rolled back on every router
    it reached, with `configure replace` of the checkpoint: their running
    configurations are what they were before the rollout;
  - a rollback that fails (the router aborts `configure replace`) is
    reported as `rollback failed`, naming the router left on the new policy;
    `vpnfleet rollout apply` exits 3.
Everything listens on 127.0.0.1; the controller runs on a Unix socket.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))

from checks import Fail, check, wait_for  # noqa: E402
import fleet  # noqa: E402
import fleet_demo  # noqa: E402

EMULATOR = os.path.join(HERE, "..", "lab", "ios_ssh_emulator.py")

INITIAL = """hostname {name}
!
interface GigabitEthernet0/0
 description WAN
 ip address {wan} 255.255.255.0
!
interface GigabitEthernet0/1
 ip address {lan_ip} 255.255.255.0
 ip access-group MGMT in
!
ip access-list extended MGMT
 permit tcp any any eq 22
!
ip route 0.0.0.0 0.0.0.0 {gw}
!
line vty 0 4
 transport input ssh
!
end
"""

ROUTERS = (("hub", "198.51.100.1", "10.0.0.0/24", "hub"),
           ("spoke1", "198.51.100.11", "10.1.0.0/24", "spoke"),
           ("spoke2", "198.51.100.12", "10.2.0.0/24", "spoke"))


class Router:
    def __init__(self, work, name, wan, lan, client_pub):
        self.name = name
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir)
        self.host_key = os.path.join(self.dir, "host")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.host_key], check=True)
        self.state_file = os.path.join(self.dir, "state.json")
        self.faults_file = os.path.join(self.dir, "faults.json")
        self.faults({})
        initial = os.path.join(self.dir, "initial.cfg")
        net = lan.split("/")[0].rsplit(".", 1)[0]
        with open(initial, "w") as f:
            f.write(INITIAL.format(name=name, wan=wan, lan_ip=net + ".1", gw=wan.rsplit(".", 1)[0] + ".254"))
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", EMULATOR, "--listen", "127.0.0.1:0", "--host-key", self.host_key,
             "--authorized-key", client_pub, "--hostname", name, "--config", initial,
             "--state", self.state_file, "--faults", self.faults_file],
            stdout=subprocess.PIPE, stderr=open(os.path.join(self.dir, "emulator.log"), "w"), text=True)
        line = self.proc.stdout.readline()
        check(line.startswith("listening "), "%s: the emulated router listens (%s)" % (name, line.strip()))
        self.port = int(line.split()[1])

    def known_host(self):
        pub = open(self.host_key + ".pub").read().split()
        return "[127.0.0.1]:%d %s %s\n" % (self.port, pub[0], pub[1])

    def faults(self, f):
        with open(self.faults_file, "w") as out:
            json.dump(f, out)

    def state(self):
        with open(self.state_file) as f:
            return json.load(f)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def non_crypto(text):
    """The lines a push must never touch."""
    keep, skip = [], False
    for line in text.splitlines():
        if line.startswith(("crypto ", "ip access-list extended VPN-")):
            skip = True
            continue
        if not line.startswith(" "):
            skip = False
        if not skip and "crypto map" not in line and line != "!":
            keep.append(line)
    return keep


def main():
    if shutil.which("ssh-keygen") is None:
        print("SKIP: ssh-keygen (openssh-client) is not installed")
        return 77
    work = tempfile.mkdtemp(prefix="vpnfleet-ios-push-")
    routers, ctl_proc = [], None
    try:
        key = os.path.join(work, "controller-ssh")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        for name, wan, lan, _ in ROUTERS:
            routers.append(Router(work, name, wan, lan, key + ".pub"))
        known = os.path.join(work, "known_hosts")
        with open(known, "w") as f:
            f.writelines(r.known_host() for r in routers[:2])  # spoke2's key is not known yet

        data = os.path.join(work, "controller")
        os.makedirs(data)
        sock = os.path.join(data, "controller.sock")
        ctl_log = open(os.path.join(data, "controller.log"), "w")
        ctl_proc = subprocess.Popen([fleet.binary("vpnfleet-controller"), "--data_dir=" + data,
                                     "--grpc_socket=" + sock, "--metrics_listen=127.0.0.1:0",
                                     "--ios_ssh_key=" + key, "--ios_known_hosts=" + known,
                                     "--ios_ssh_user=vpnfleet"], stdout=ctl_log, stderr=subprocess.STDOUT)
        wait_for(lambda: os.path.exists(sock), 30, "the controller's socket")
        op = fleet_demo.Operator({"socket": sock})

        for (name, wan, lan, role), r in zip(ROUTERS, routers):
            op.run(["device", "add", name, "--kind", "ios", "--wan", wan, "--endpoint", "127.0.0.1:%d" % r.port,
                    "--site", name, "--role", role, "--prefix", lan])
        variables = [v for v in fleet_demo.VARIABLES if not v.startswith("wan_interface=")]
        op.run(["template", "add", "hub-and-spoke", "--file", fleet_demo.TEMPLATE, "--topology", "hub-and-spoke",
                "--auth", "psk", "--var", ",".join(variables + ["wan_interface=GigabitEthernet0/0"])])
        for name, _, _, _ in ROUTERS:
            op.run(["data", "set", "%s-vpn" % name, "--template_name", "hub-and-spoke", "--device", name])
        before = {r.name: r.state()["running"] for r in routers}

        print("a login below privilege 15 is refused; nothing is typed")
        routers[0].faults({"user_exec": True})
        r = op.run(["-o", "json", "rollout", "apply", "--canary", "1", "--batch", "3"], check=False)
        out = json.loads(r.stdout) if r.stdout.strip().startswith("{") else {}
        states = {d["device"]: d for d in out.get("devices", [])}
        check("privilege 15" in states.get("hub", {}).get("message", ""),
              "hub: %s" % states.get("hub", {}).get("message", r.stdout[-300:] + r.stderr[-300:]))
        check(routers[0].state()["received"] == [], "the hub received no command")
        routers[0].faults({})

        print("a router whose host key is not known is refused; nothing is typed at it")
        r = op.run(["-o", "json", "rollout", "apply", "--canary", "1", "--batch", "3"], check=False)
        out = json.loads(r.stdout) if r.stdout.strip().startswith("{") else {}
        states = {d["device"]: d for d in out.get("devices", [])}
        check(r.returncode != 0, "the rollout did not succeed (exit %d)" % r.returncode)
        check("known_hosts" in states.get("spoke2", {}).get("message", ""),
              "spoke2: %s" % states.get("spoke2", {}).get("message", r.stdout[-300:] + r.stderr[-300:]))
        check(routers[2].state()["received"] == [], "spoke2 received no command at all")
        check(all(x.state()["running"] == before[x.name] for x in routers),
              "every router runs what it ran before (the others were rolled back)")

        print("with spoke2's key known, the policy is pushed")
        with open(known, "a") as f:
            f.write(routers[2].known_host())
        r = op.run(["-o", "json", "rollout", "apply", "--canary", "1", "--batch", "3"], check=False)
        check(r.returncode == 0, "rollout apply: %s" % (r.stdout[-600:] + r.stderr[-300:]))
        result = json.loads(r.stdout)
        check(result["state"] == "ROLLOUT_STATE_SUCCEEDED", "the rollout succeeded")
        for x in routers:
            st = x.state()
            running = st["running"]
            check("crypto map" in running and "crypto isakmp" in running or "crypto ikev2" in running,
                  "%s runs a crypto policy now" % x.name)
            a, b = non_crypto(before[x.name]), non_crypto(running)
            check(a == b, "%s: routing, addressing, MGMT and lines untouched%s" %
                  (x.name, "" if a == b else " (before %s, after %s)" % (
                      [l for l in a if l not in b][:5], [l for l in b if l not in a][:5])))
            check(st["startup"] == running, "%s: saved with write memory" % x.name)
            check(any(k.startswith("vpnfleet-") for k in st["flash"]), "%s: a checkpoint in flash" % x.name)
            typed = [c for c in st["received"] if c.startswith("crypto isakmp key") or "pre-shared-key" in c]
            check(typed or "crypto ikev2 keyring" in running, "%s: its keys were typed" % x.name)
        hub_running = routers[0].state()["running"]
        check(hub_running.count("crypto map") >= 3, "the hub has an entry per spoke and its interface map")

        print("the same policy again: the plan finds nothing to do, nothing is typed")
        counts = {x.name: len(x.state()["received"]) for x in routers}
        r = op.run(["-o", "json", "rollout", "apply"], check=False)
        check(r.returncode == 0, "rollout apply (nothing to do): %s" % r.stdout[-300:])
        for x in routers:
            new = x.state()["received"][counts[x.name]:]
            check(not any(c.startswith(("configure", "crypto", "no ")) for c in new),
                  "%s: no configuration command (%d lines received)" % (x.name, len(new)))

        print("a change spoke2 refuses half-way is rolled back everywhere it reached")
        applied = {x.name: x.state()["running"] for x in routers}
        routers[2].faults({"fail_on": r"lifetime seconds 1800"})
        shorter = [v for v in variables if not v.startswith("sa_lifetime=")] + ["sa_lifetime=1800"]
        op.run(["template", "add", "hub-and-spoke", "--file", fleet_demo.TEMPLATE, "--topology", "hub-and-spoke",
                "--auth", "psk", "--var", ",".join(shorter + ["wan_interface=GigabitEthernet0/0"])])
        r = op.run(["-o", "json", "rollout", "apply", "--canary", "1", "--batch", "3"], check=False)
        out = json.loads(r.stdout) if r.stdout.strip().startswith("{") else {}
        print("  state:", out.get("state"), "-", "; ".join("%s %s" % (d["device"], d["state"])
                                                           for d in out.get("devices", [])))
        check(out.get("state") in ("ROLLOUT_STATE_ROLLED_BACK", "ROLLOUT_STATE_SUCCEEDED"), "the rollout ended")
        if out.get("state") == "ROLLOUT_STATE_SUCCEEDED":
            raise Fail("spoke2 should have refused the new lifetime")
        for x in routers:
            check(x.state()["running"] == applied[x.name], "%s runs what it ran before the rollout" % x.name)

        print("a rollback that fails is reported as such")
        routers[0].faults({"fail_replace": True})
        r = op.run(["-o", "json", "rollout", "apply", "--canary", "1", "--batch", "3"], check=False)
        out = json.loads(r.stdout) if r.stdout.strip().startswith("{") else {}
        states = {d["device"]: d for d in out.get("devices", [])}
        check(out.get("state") == "ROLLOUT_STATE_ROLLBACK_FAILED", "rollout state %s" % out.get("state"))
        check(states["hub"]["state"] == "DEVICE_ROLLOUT_STATE_ROLLBACK_FAILED",
              "hub: %s" % states["hub"].get("message", "")[-200:])
        check("configure replace" in states["hub"]["message"], "the hub's message names configure replace")
        check(out.get("operator_action"), "what to do: %s" % out.get("operator_action", "")[:200])
        check(r.returncode == 3, "vpnfleet rollout apply exits 3 (a device was left on the new policy)")
        st = op.run(["rollout", "status", out["id"]], check=False)
        check("ROLLBACK" in st.stdout.upper() and "hub" in st.stdout and st.returncode == 3,
              "vpnfleet rollout status %s names the hub as not rolled back, exit 3 (%d)"
              % (out["id"], st.returncode))
        check(routers[0].state()["running"] != applied["hub"], "the hub is indeed left on the new policy")
        check(routers[1].state()["running"] == applied["spoke1"], "spoke1 was rolled back")
        print("PASS")
        return 0
    except Fail as e:
        print("FAIL: %s" % e)
        for x in routers:
            try:
                print("--- %s received (tail):\n%s" % (x.name, "\n".join(x.state()["received"][-25:])))
            except (OSError, ValueError):
                pass
        try:
            print("--- controller.log (tail)\n" + "".join(open(os.path.join(work, "controller", "controller.log"))
                                                    .readlines()[-20:]))
        except OSError:
            pass
        return 1
    finally:
        if ctl_proc is not None and ctl_proc.poll() is None:
            ctl_proc.terminate()
            try:
                ctl_proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                ctl_proc.kill()
        for x in routers:
            x.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
