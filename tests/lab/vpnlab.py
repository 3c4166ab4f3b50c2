"""vpnlab: a virtual WAN of network namespaces for vpnfleet's tests and demo.

A lab is a set of "sites" (network namespaces) joined by a WAN namespace
that holds a bridge. Every site has a WAN address in 198.51.100.0/24
(TEST-NET-2, RFC 5737) and optionally an inner LAN prefix, whose first
address is put on the site's loopback (this kernel has no dummy links; the
dataplane later puts the LAN on a TUN device). A site may sit behind NAT:
it then gets a private address and a NAT namespace masquerades it onto the
WAN.

Everything the lab creates is recorded in a state file under
/run/vpnfleet-lab/NAME/, so `down` can remove it even after a crash:
processes are stopped by PID (checked against their start time, so a
recycled PID is never hit), any other process left in a lab namespace is
killed, and the namespaces are deleted.

Use it as a library (`with Lab("t1") as lab: ...`) or through tests/lab/lab.
No traffic leaves the namespaces the lab creates.
"""

import atexit
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request

STATE_ROOT = "/run/vpnfleet-lab"
WAN_PREFIX = "198.51.100"     # TEST-NET-2: documentation addresses only
WAN_GATEWAY = WAN_PREFIX + ".254"
NS_PREFIX = "vfl-"


class LabError(Exception):
    pass


def _run(args, check=True, capture=False, timeout=30):
    r = subprocess.run(args, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise LabError("%s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr.strip()))
    return r


def _proc_start_time(pid):
    """Start time of a process in clock ticks since boot, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()
    return int(fields[19])  # field 22 of proc(5), counted from field 3


def _netns_inode(ns):
    try:
        return os.stat("/run/netns/" + ns).st_ino
    except OSError:
        return None


class Site:
    def __init__(self, lab, name, index, lan=None, nat=False, lan_host=False):
        self.lab = lab
        # With lan_host, the LAN is a real link: the site routes between it
        # and a host namespace at the LAN's second address.
        self.lan_host = bool(lan and lan_host)
        self.name = name
        self.index = index
        self.lan = lan
        self.nat = nat
        self.ns = "%s%s-%s" % (NS_PREFIX, lab.name, name)
        self.nat_ns = self.ns + "-nat" if nat else None
        # The address the rest of the WAN sees (the NAT's, when behind NAT).
        self.wan_address = "%s.%d" % (WAN_PREFIX, index)
        # The address the site itself has on its WAN interface.
        self.local_address = "192.168.%d.2" % index if nat else self.wan_address
        self.lan_address = None
        if lan:
            net, _, _ = lan.partition("/")
            a, b, c, d = (int(x) for x in net.split("."))
            self.lan_address = "%d.%d.%d.%d" % (a, b, c, d + 1)
        self.host_ns = self.ns + "-h" if self.lan_host else None
        self.host_address = None
        if self.lan_host:
            self.host_address = "%d.%d.%d.%d" % (a, b, c, d + 2)
        self.dir = os.path.join(lab.dir, name)

    def to_json(self):
        return {"name": self.name, "index": self.index, "lan": self.lan, "nat": self.nat,
                "ns": self.ns, "nat_ns": self.nat_ns, "wan_address": self.wan_address,
                "local_address": self.local_address, "lan_address": self.lan_address,
                "lan_host": self.lan_host, "host_ns": self.host_ns,
                "host_address": self.host_address, "dir": self.dir}

    def exec(self, args, check=True, capture=True, timeout=30):
        return _run(["ip", "netns", "exec", self.ns] + list(args), check=check,
                    capture=capture, timeout=timeout)

    def spawn(self, tag, args, env=None):
        return self.lab.spawn(self, tag, args, env=env)

    def host_exec(self, args, check=True, capture=True, timeout=30):
        """Runs a command on the LAN host (sites made with lan_host)."""
        if not self.host_ns:
            raise LabError("site %s has no LAN host" % self.name)
        return _run(["ip", "netns", "exec", self.host_ns] + list(args), check=check,
                    capture=capture, timeout=timeout)


class Lab:
    """A virtual WAN. Create with Lab(name), then add_site() and up()."""

    def __init__(self, name, state_root=STATE_ROOT):
        if not name or len(name) > 8 or not name.isalnum():
            raise LabError("lab name must be 1..8 letters or digits")
        self.name = name
        self.dir = os.path.join(state_root, name)
        self.wan_ns = "%s%s-wan" % (NS_PREFIX, name)
        self.sites = {}
        self.processes = []   # dicts: tag, site, pid, start, log, argv
        self.namespaces = []  # in creation order
        self._up = False

    # ------------------------------------------------------------ topology --

    def add_site(self, name, lan=None, nat=False, lan_host=False):
        if name in self.sites:
            raise LabError("site %s exists" % name)
        if not name.replace("-", "").isalnum() or len(name) > 12:
            raise LabError("site name must be 1..12 letters, digits or '-'")
        site = Site(self, name, len(self.sites) + 1, lan=lan, nat=nat, lan_host=lan_host)
        if site.index > 200:
            raise LabError("at most 200 sites")
        self.sites[name] = site
        return site

    def site(self, name):
        return self.sites[name]

    def _add_ns(self, ns):
        if os.path.exists("/run/netns/" + ns):
            raise LabError("namespace %s already exists; run `lab down %s` first" % (ns, self.name))
        _run(["ip", "netns", "add", ns])
        self.namespaces.append(ns)
        self._save()
        _run(["ip", "-n", ns, "link", "set", "lo", "up"])

    @classmethod
    def load(cls, name, state_root=STATE_ROOT):
        """The lab NAME as its state file records it (to act on a running lab)."""
        path = os.path.join(state_root, name, "state.json")
        if not os.path.exists(path):
            raise LabError("no lab %s (no %s)" % (name, path))
        with open(path) as f:
            state = json.load(f)
        lab = cls(name, state_root)
        for s in state["sites"]:
            lab.add_site(s["name"], lan=s["lan"], nat=s["nat"], lan_host=s.get("lan_host", False))
        lab.namespaces = state["namespaces"]
        lab.processes = state["processes"]
        lab._up = True
        return lab

    def up(self, cleanup_on_exit=True):
        """Creates the namespaces, links and addresses. On failure, undoes all.

        With cleanup_on_exit, the lab is torn down when this process exits or
        gets SIGINT/SIGTERM/SIGHUP, whatever the test was doing."""
        if os.geteuid() != 0:
            raise LabError("the lab needs root (network namespaces)")
        os.makedirs(self.dir, exist_ok=True)
        if cleanup_on_exit:
            self._install_cleanup()
        try:
            self._add_ns(self.wan_ns)
            _run(["ip", "-n", self.wan_ns, "link", "add", "br0", "type", "bridge"])
            _run(["ip", "-n", self.wan_ns, "addr", "add", WAN_GATEWAY + "/24", "dev", "br0"])
            _run(["ip", "-n", self.wan_ns, "link", "set", "br0", "up"])
            for site in self.sites.values():
                self._build_site(site)
            self._up = True
            self._save()
        except BaseException:
            self.down()
            raise
        return self

    def _attach_to_wan(self, ns, ifname, wan_port, address):
        _run(["ip", "-n", self.wan_ns, "link", "add", wan_port, "type", "veth",
              "peer", "name", ifname, "netns", ns])
        _run(["ip", "-n", self.wan_ns, "link", "set", wan_port, "master", "br0", "up"])
        _run(["ip", "-n", ns, "addr", "add", address + "/24", "dev", ifname])
        _run(["ip", "-n", ns, "link", "set", ifname, "up"])

    def _build_site(self, site):
        os.makedirs(site.dir, exist_ok=True)
        self._add_ns(site.ns)
        if site.nat:
            self._add_ns(site.nat_ns)
            self._attach_to_wan(site.nat_ns, "out0", "n%d" % site.index, site.wan_address)
            _run(["ip", "-n", site.nat_ns, "link", "add", "in0", "type", "veth",
                  "peer", "name", "wan0", "netns", site.ns])
            _run(["ip", "-n", site.nat_ns, "addr", "add", "192.168.%d.1/24" % site.index,
                  "dev", "in0"])
            _run(["ip", "-n", site.nat_ns, "link", "set", "in0", "up"])
            _run(["ip", "-n", site.ns, "addr", "add", site.local_address + "/24", "dev", "wan0"])
            _run(["ip", "-n", site.ns, "link", "set", "wan0", "up"])
            _run(["ip", "-n", site.ns, "route", "add", "default", "via",
                  "192.168.%d.1" % site.index])
            _run(["ip", "netns", "exec", site.nat_ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
            nat = ("table ip nat {\n chain post {\n  type nat hook postrouting priority 100;\n"
                   '  oifname "out0" counter masquerade\n }\n}\n')
            r = subprocess.run(["ip", "netns", "exec", site.nat_ns, "nft", "-f", "-"],
                               input=nat, text=True, capture_output=True)
            if r.returncode != 0:
                raise LabError("nftables NAT for %s: %s" % (site.name, r.stderr.strip()))
        else:
            self._attach_to_wan(site.ns, "wan0", "s%d" % site.index, site.wan_address)
        if site.lan_host:
            self._add_ns(site.host_ns)
            length = site.lan.partition("/")[2] or "24"
            _run(["ip", "-n", site.ns, "link", "add", "lan0", "type", "veth",
                  "peer", "name", "eth0", "netns", site.host_ns])
            _run(["ip", "-n", site.ns, "addr", "add", site.lan_address + "/" + length,
                  "dev", "lan0"])
            _run(["ip", "-n", site.ns, "link", "set", "lan0", "up"])
            _run(["ip", "-n", site.host_ns, "addr", "add", site.host_address + "/" + length,
                  "dev", "eth0"])
            _run(["ip", "-n", site.host_ns, "link", "set", "eth0", "up"])
            _run(["ip", "-n", site.host_ns, "link", "set", "lo", "up"])
            _run(["ip", "-n", site.host_ns, "route", "add", "default", "via", site.lan_address])
            _run(["ip", "netns", "exec", site.ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
        elif site.lan_address:
            _run(["ip", "-n", site.ns, "addr", "add", site.lan_address + "/32", "dev", "lo"])

    # ----------------------------------------------------------- processes --

    def spawn(self, site, tag, args, env=None, on_host=False):
        """Starts args in the site's namespace (or its LAN host's, with
        on_host), output to SITE_DIR/TAG.log."""
        if isinstance(site, str):
            site = self.sites[site]
        ns = site.host_ns if on_host else site.ns
        log_path = os.path.join(site.dir, tag + ".log")
        log = open(log_path, "ab")
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        p = subprocess.Popen(["ip", "netns", "exec", ns] + list(args), stdout=log,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=full_env, start_new_session=True)
        log.close()
        rec = {"tag": tag, "site": site.name, "pid": p.pid, "start": None,
               "log": log_path, "argv": list(args)}
        for _ in range(100):
            rec["start"] = _proc_start_time(p.pid)
            if rec["start"] is not None:
                break
            time.sleep(0.01)
        rec["_popen"] = p
        self.processes.append(rec)
        self._save()
        return rec

    def stop(self, rec, timeout=10.0):
        """SIGTERM, then SIGKILL after `timeout`. Returns the exit code or None."""
        return _stop_pid(rec, timeout)

    def wait_file(self, path, timeout=30.0, proc=None):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(path):
                with open(path) as f:
                    text = f.read()
                if text.endswith("\n"):
                    return json.loads(text)
            if proc is not None and proc["_popen"].poll() is not None:
                raise LabError("%s exited with %d before it was ready; log %s:\n%s" % (
                    proc["tag"], proc["_popen"].returncode, proc["log"], _tail(proc["log"])))
            time.sleep(0.05)
        raise LabError("timed out waiting for %s" % path)

    def scrape(self, site, address, port, path="/metrics", timeout=5.0):
        """Fetches http://address:port/path from inside the site's namespace."""
        if isinstance(site, str):
            site = self.sites[site]
        r = site.exec(["curl", "-sS", "--max-time", str(timeout),
                       "http://%s:%d%s" % (address, port, path)], check=True)
        return r.stdout

    # ------------------------------------------------------------ teardown --

    def down(self):
        """Stops every process, then deletes every namespace. Idempotent."""
        for rec in reversed(self.processes):
            _stop_pid(rec, 5.0)
        for ns in reversed(self.namespaces):
            _kill_namespace_pids(ns)
            if os.path.exists("/run/netns/" + ns):
                _run(["ip", "netns", "del", ns], check=False)
        self.processes = []
        self.namespaces = []
        self._up = False
        _remove_lab_dir(self.dir)

    def __enter__(self):
        return self.up() if not self._up else self

    def __exit__(self, *exc):
        self.down()
        return False

    def _install_cleanup(self):
        atexit.register(self.down)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            previous = signal.getsignal(sig)

            def handler(signum, frame, previous=previous):
                self.down()
                if callable(previous):
                    previous(signum, frame)
                raise SystemExit(128 + signum)
            signal.signal(sig, handler)

    def _save(self):
        os.makedirs(self.dir, exist_ok=True)
        state = {"name": self.name, "wan_ns": self.wan_ns, "namespaces": self.namespaces,
                 "sites": [s.to_json() for s in self.sites.values()],
                 "processes": [{k: v for k, v in p.items() if not k.startswith("_")}
                               for p in self.processes]}
        tmp = os.path.join(self.dir, "state.json.tmp")
        with open(tmp, "w") as f:
            json.dump(state, f, indent=1)
        os.replace(tmp, os.path.join(self.dir, "state.json"))

    def to_json(self):
        return {"name": self.name, "wan_gateway": WAN_GATEWAY,
                "sites": [s.to_json() for s in self.sites.values()],
                "processes": [{k: v for k, v in p.items() if not k.startswith("_")}
                              for p in self.processes]}


def _tail(path, lines=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def print_log_tails(sites, names, lines=40):
    """After a failed lab test: the end of each daemon's log (SITE_DIR/NAME.log)."""
    for site in sites:
        for name in names:
            log = os.path.join(site.dir, name + ".log")
            if os.path.exists(log):
                print("--- %s/%s.log (tail)" % (site.name, name))
                print(_tail(log, lines))


def _stop_pid(rec, timeout):
    pid = rec["pid"]
    popen = rec.get("_popen")
    if _proc_start_time(pid) != rec.get("start"):
        return popen.poll() if popen else None  # gone, or a different process now
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return popen.poll() if popen else None
    deadline = time.time() + timeout
    while time.time() < deadline:
        if popen is not None:
            if popen.poll() is not None:
                return popen.returncode
        elif _proc_start_time(pid) != rec.get("start"):
            return None
        time.sleep(0.02)
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if popen is not None:
        popen.wait(timeout=5)
        return popen.returncode
    return None


def _kill_namespace_pids(ns):
    """Kills whatever still runs in a namespace the lab created."""
    if not os.path.exists("/run/netns/" + ns):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        r = _run(["ip", "netns", "pids", ns], check=False, capture=True)
        pids = [int(p) for p in r.stdout.split()] if r.returncode == 0 else []
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        for _ in range(100):
            r = _run(["ip", "netns", "pids", ns], check=False, capture=True)
            if not r.stdout.split():
                return
            time.sleep(0.02)


def down_from_state(name, state_root=STATE_ROOT):
    """Tears down a lab from its state file (after a crash, or from another process)."""
    path = os.path.join(state_root, name, "state.json")
    if not os.path.exists(path):
        # No state: still remove namespaces that carry the lab's prefix.
        namespaces = [ns for ns in list_namespaces() if ns.startswith("%s%s-" % (NS_PREFIX, name))]
        processes = []
    else:
        with open(path) as f:
            state = json.load(f)
        namespaces = state.get("namespaces", [])
        processes = state.get("processes", [])
    for rec in reversed(processes):
        _stop_pid(rec, 5.0)
    for ns in reversed(namespaces):
        _kill_namespace_pids(ns)
        if os.path.exists("/run/netns/" + ns):
            _run(["ip", "netns", "del", ns], check=False)
    _remove_lab_dir(os.path.join(state_root, name))


def _remove_lab_dir(path):
    """Removes a lab's folder (logs, sockets, state) unless asked to keep logs."""
    if not os.path.isdir(path):
        return
    if os.environ.get("VPNFLEET_LAB_KEEP_LOGS") == "1":
        state = os.path.join(path, "state.json")
        if os.path.exists(state):
            os.remove(state)
        return
    shutil.rmtree(path, ignore_errors=True)


def list_namespaces():
    r = _run(["ip", "netns", "list"], check=False, capture=True)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def lab_names(state_root=STATE_ROOT):
    names = set()
    if os.path.isdir(state_root):
        for n in os.listdir(state_root):
            if os.path.exists(os.path.join(state_root, n, "state.json")):
                names.add(n)
    for ns in list_namespaces():
        if ns.startswith(NS_PREFIX):
            names.add(ns[len(NS_PREFIX):].split("-")[0])
    return sorted(names)
