#!/usr/bin/env python3
"""Foundation integration test: all four daemons in a lab WAN.

A core site runs the controller and the PKI; two edge sites (the second
behind NAT) run ike + dataplane. The test checks what every later issue
stands on: each daemon is SERVING over gRPC health on TCP and on its Unix
socket, lists its API through server reflection, serves /metrics that
`promtool check metrics` accepts and that count the RPCs just made, stops
cleanly on SIGTERM, and the lab leaves no namespace or process behind.
"""

import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))
import fleet  # noqa: E402
import vpnlab  # noqa: E402

LAB = "it%d" % (os.getpid() % 100000)


class FoundationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = vpnlab.Lab(LAB)
        cls.lab.add_site("core")
        cls.lab.add_site("site1", lan="10.1.0.0/24")
        cls.lab.add_site("site2", lan="10.2.0.0/24", nat=True)
        cls.lab.up()
        cls.procs = {}
        try:
            cls.procs["controller"] = fleet.start(cls.lab, "core", "controller")
            cls.procs["pki"] = fleet.start(cls.lab, "core", "pki")
            for site in ("site1", "site2"):
                cls.procs[site + "/ike"] = fleet.start(cls.lab, site, "ike")
                cls.procs[site + "/dataplane"] = fleet.start(cls.lab, site, "dataplane")
        except BaseException:
            cls.lab.down()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.lab.down()

    def test_1_every_daemon_is_serving_on_its_unix_socket(self):
        for key, p in self.procs.items():
            rc, out = fleet.status({p["service"]: "unix:" + p["socket"]})
            self.assertEqual(rc, 0, "%s: %s" % (key, out))
            svc = out["services"][0]
            self.assertEqual(svc["health"], "SERVING", key)
            # Reflection lists the service's own API and the standard ones.
            # Reflection v1 (which `vpnfleet status` asks) beside v1alpha.
            for api in (p["api"], "grpc.health.v1.Health",
                        "grpc.reflection.v1.ServerReflection",
                        "grpc.reflection.v1alpha.ServerReflection"):
                self.assertIn(api, svc["apis"], key)

    def test_2_every_daemon_is_serving_on_tcp_inside_its_site(self):
        for key, p in self.procs.items():
            site = self.lab.site(key.split("/")[0] if "/" in key else "core")
            rc, out = fleet.status({p["service"]: p["tcp"]}, site=site, insecure=True)
            self.assertEqual(rc, 0, "%s: %s" % (key, out))

    def test_3_sites_reach_each_other_across_the_wan_and_the_nat(self):
        site1, site2 = self.lab.site("site1"), self.lab.site("site2")
        r = site2.exec(["ping", "-c", "2", "-W", "2", site1.wan_address], check=False)
        self.assertEqual(r.returncode, 0, r.stdout)
        nat = subprocess.run(["ip", "netns", "exec", site2.nat_ns, "nft", "list", "ruleset"],
                             capture_output=True, text=True).stdout
        self.assertRegex(nat, r"counter packets [1-9]\d* bytes \d+ masquerade")
        # The core reaches site1's IKE daemon across the WAN.
        core = self.lab.site("core")
        rc, out = fleet.status({"ike": self.procs["site1/ike"]["tcp"]}, site=core, insecure=True)
        self.assertEqual(rc, 0, out)

    def test_4_metrics_pass_promtool_and_count_rpcs(self):
        for key, p in self.procs.items():
            site = self.lab.site(key.split("/")[0] if "/" in key else "core")
            address, port = p["metrics"]
            text = self.lab.scrape(site, address, port)
            r = subprocess.run(["promtool", "check", "metrics"], input=text,
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, "%s: promtool: %s%s" % (key, r.stdout, r.stderr))
            self.assertIn("process_cpu_seconds_total", text, key)
            self.assertIn('vpnfleet_build_info{service="%s"' % p["service"], text, key)
            # The health checks of the tests before were counted.
            self.assertRegex(
                text, r'grpc_server_handled_total\{grpc_code="OK",grpc_method="Check",'
                      r'grpc_service="grpc.health.v1.Health",grpc_type="unary"\} [1-9]', key)

    def test_5_sigterm_stops_each_daemon_cleanly(self):
        for key in list(self.procs):
            p = self.procs.pop(key)
            code = self.lab.stop(p, timeout=10)
            self.assertEqual(code, 0, "%s exited with %s" % (key, code))
            self.assertFalse(os.path.exists(p["socket"]), "%s left its socket" % key)
            self.assertFalse(os.path.exists(p["ready_file"]), "%s left its ready file" % key)


class ConfigFileTest(unittest.TestCase):
    """A daemon configured by --config FILE, command-line flags overriding it."""

    def test_daemon_runs_from_a_config_file_and_rejects_a_bad_one(self):
        lab = vpnlab.Lab("cf%d" % (os.getpid() % 100000))
        site = lab.add_site("a")
        with lab:
            conf = os.path.join(site.dir, "pki.conf")
            ready = os.path.join(site.dir, "pki.ready")
            sock = os.path.join(site.dir, "pki.sock")
            with open(conf, "w") as f:
                f.write("# vpnfleet-pki settings\n"
                        "grpc_listen = %s:7402\n"
                        "grpc_socket = \"%s\"\n"
                        "metrics_listen = none   # no /metrics here\n"
                        "log_format = json\n"
                        "ready_file = %s\n" % (site.local_address, sock, ready))
            # The command line overrides the file's port.
            p = lab.spawn(site, "pki", [fleet.binary("vpnfleet-pki"), "--config=" + conf,
                                        "--grpc_listen=%s:17402" % site.local_address,
                                        "--data_dir=" + os.path.join(site.dir, "pki-data"),
                                        "--scep_listen=%s:18080" % site.local_address])
            info = lab.wait_file(ready, proc=p)
            self.assertEqual(info["grpc_port"], 17402)
            self.assertEqual(info["metrics_port"], 0)
            # TCP is mutual TLS by default: the PKI issued itself an identity,
            # which root (who can read it) may present as a client too.
            tls = os.path.join(site.dir, "pki-data", "tls")
            rc, out = fleet.status({"pki": "%s:17402" % site.local_address}, site=site,
                                   tls={"cert": os.path.join(tls, "cert.pem"),
                                        "key": os.path.join(tls, "key.pem"),
                                        "ca": os.path.join(tls, "ca.pem")})
            self.assertEqual(rc, 0, out)
            rc, out = fleet.status({"pki": "%s:17402" % site.local_address}, site=site)
            self.assertEqual(rc, 2, out)  # no TLS files: refused before dialling
            self.assertEqual(lab.stop(p), 0)
            with open(p["log"]) as f:
                first = f.readline()
            self.assertTrue(first.startswith('{"ts":'), first)  # JSON logs, as configured

            with open(conf, "a") as f:
                f.write("this line is wrong\n")
            r = site.exec([fleet.binary("vpnfleet-pki"), "--config=" + conf], check=False)
            self.assertEqual(r.returncode, 2)
            self.assertIn("line 7", r.stderr)


class TeardownTest(unittest.TestCase):
    def test_down_leaves_nothing_even_for_unrecorded_processes(self):
        name = "td%d" % (os.getpid() % 100000)
        lab = vpnlab.Lab(name)
        site = lab.add_site("a")
        lab.up()
        rec = lab.spawn(site, "sleeper", ["sleep", "600"])
        # Started behind the lab's back: only the namespace knows of it.
        stray = subprocess.Popen(["ip", "netns", "exec", site.ns, "sleep", "600"],
                                 start_new_session=True)
        lab.down()
        self.assertIsNone(vpnlab._proc_start_time(rec["pid"]))
        stray.wait(timeout=10)
        self.assertFalse([ns for ns in vpnlab.list_namespaces() if ns.startswith("vfl-%s-" % name)])

    def test_down_from_state_after_a_crash(self):
        name = "cr%d" % (os.getpid() % 100000)
        lab_dir = os.path.join(vpnlab.STATE_ROOT, name)
        script = (
            "import sys, os, time; sys.path.insert(0, %r); import vpnlab\n"
            "lab = vpnlab.Lab(%r); s = lab.add_site('a'); lab.up(cleanup_on_exit=False)\n"
            "lab.spawn(s, 'sleeper', ['sleep', '600']); os._exit(9)\n"
        ) % (os.path.join(HERE, "..", "lab"), name)
        r = subprocess.run([sys.executable, "-c", script])
        self.assertEqual(r.returncode, 9)  # died without cleaning up
        self.assertTrue(os.path.exists(os.path.join(lab_dir, "state.json")))
        vpnlab.down_from_state(name)
        self.assertFalse([ns for ns in vpnlab.list_namespaces() if ns.startswith("vfl-%s-" % name)])


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIP: the lab needs root (network namespaces)")
        sys.exit(77)
    unittest.main(verbosity=2)
