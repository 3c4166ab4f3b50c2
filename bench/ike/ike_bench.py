#!/usr/bin/python3
"""scripts/bench ike: IKE_SA + CHILD_SA setups per second with our
vpnfleet-ike as responder and with strongSwan's charon as responder, in the
same run, driven by the same load generator (bench/ike/ike_load.cc: our own
IkeSa as initiator), for three setups: IKEv2 Curve25519 + PSK, IKEv2
Curve25519 + ECDSA P-256 certificates (a test CA made with openssl), and
IKEv1 Main Mode (ECP-256, PSK) + Quick Mode. Then the memory
vpnfleet-ike holds per established IKE+CHILD SA pair at MEMORY_TUNNELS
(default 100,000) tunnels, and whether setups slow down as tunnels add up.

Everything runs on the loopback of a network namespace made for the run;
the responders install nothing into a dataplane (ours runs without one,
charon with its userspace libipsec). Prints the figures, then one JSON line.

Usage: ike_bench.py BIN_DIR [RATE_SETUPS [MEMORY_TUNNELS]]"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lab"))
import grpcapi  # noqa: E402
import test_pki  # noqa: E402

CHARON = "/usr/lib/ipsec/charon"
PSK = "bench-psk-0123456789abcdef"
OUR_PORT, SWAN_PORT = 15000, 16000
CONCURRENCY = 32
# ike_load's arguments per setup (certificates: made during the run).
LOAD_ARGS = {"psk": ["--psk=" + PSK], "ikev1": ["--psk=" + PSK, "--ikev1"]}

STRONGSWAN_CONF = """charon {
  port = %(port)d
  port_nat_t = %(natt)d
  cookie_threshold = 100000
  block_threshold = 100000
  init_limit_half_open = 0
  install_routes = no
  install_virtual_ip = no
  load_modular = no
  load = random nonce aes sha1 sha2 hmac kdf gcm openssl curve25519 pem pkcs1 pkcs8 x509 pubkey kernel-libipsec kernel-netlink socket-default vici
  filelog { stderr { default = %(loglevel)d } }
  syslog { daemon { default = -1 } }
  plugins { vici { socket = unix://%(dir)s/charon.vici } }
}
"""

SWANCTL_PSK = """connections { load { version = 2
  local_addrs = 127.0.0.1
  remote_addrs = %%any
  proposals = aes128gcm16-prfsha256-x25519
  local { auth = psk
    id = 127.0.0.1 }
  remote { auth = psk }
  children { c { local_ts = 10.200.0.0/16
    remote_ts = 10.0.0.0/8
    esp_proposals = aes128gcm16 } } } }
secrets { ike-any { secret = "%s" } }
""" % PSK

SWANCTL_IKEV1 = """connections { load { version = 1
  local_addrs = 127.0.0.1
  remote_addrs = %%any
  proposals = aes128-sha256-ecp256
  local { auth = psk
    id = 127.0.0.1 }
  remote { auth = psk }
  children { c { local_ts = 10.200.0.0/16
    remote_ts = 10.0.0.0/8
    esp_proposals = aes128gcm16 } } } }
secrets { ike-any { secret = "%s" } }
""" % PSK

SWANCTL_CERT = """connections { load { version = 2
  local_addrs = 127.0.0.1
  remote_addrs = %%any
  proposals = aes128gcm16-prfsha256-x25519
  local { auth = pubkey
    certs = %(cert)s }
  remote { auth = pubkey
    cacerts = %(ca)s }
  children { c { local_ts = 10.200.0.0/16
    remote_ts = 10.0.0.0/8
    esp_proposals = aes128gcm16 } } } }
"""


def ns_exec(ns, args, **kw):
    return subprocess.run(["ip", "netns", "exec", ns] + args, **kw)


def spawn(ns, args, log, env=None):
    return subprocess.Popen(["ip", "netns", "exec", ns] + args, stdout=log,
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)


def stop(proc):
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise RuntimeError("timed out: " + what)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    """User + system CPU time of PID (all its threads)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pid(proc, name):
    """The pid of NAME under PROC's session (ip netns exec / unshare wrap it)."""
    r = subprocess.run(["pgrep", "-s", str(proc.pid), "-x", name], capture_output=True, text=True)
    pids = [int(p) for p in r.stdout.split()]
    return pids[0] if pids else None


def load(bin_dir, ns, port, count, extra):
    args = [os.path.join(bin_dir, "ike_load"), "--target=127.0.0.1:%d" % port,
            "--count=%d" % count, "--concurrency=%d" % CONCURRENCY,
            "--seconds=%s" % os.environ.get("LOAD_SECONDS", "600")] + extra
    r = ns_exec(ns, args, capture_output=True, text=True, timeout=int(os.environ.get("LOAD_TIMEOUT", "1800")))
    sys.stderr.write(r.stderr)
    lines = r.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError("ike_load printed nothing: " + r.stderr[-500:])
    return json.loads(lines[-1])


def status_timings(api, tag):
    """Median wall time of the raw ListChildSas and ListIkeSas RPCs (the
    answer's Python conversion left out), and how many CHILD SAs it held."""
    pb = api.pb
    out = {}
    for method, resp in (("ListChildSas", pb.ListChildSasResponse),
                         ("ListIkeSas", pb.ListIkeSasResponse)):
        fn = api.channel.unary_unary(api.SERVICE + method,
                                     request_serializer=lambda m: m.SerializeToString(),
                                     response_deserializer=resp.FromString)
        req = getattr(pb, method + "Request")()
        times, answer = [], None
        for _ in range(5):
            t0 = time.monotonic()
            answer = fn(req, timeout=60)
            times.append((time.monotonic() - t0) * 1000)
        key = "list_child_sas_ms_" if method == "ListChildSas" else "list_ike_sas_ms_"
        out[key + tag] = round(sorted(times)[2], 1)
        if method == "ListChildSas":
            out["status_children_" + tag] = len(answer.child_sas)
    return out


def our_config(auth):
    if auth == "ikev1":
        config = our_config("psk")
        config["isakmp_policies"] = [{"priority": 10, "encryption": "ENCRYPTION_AES_CBC_128",
                                      "hash": "PRF_HMAC_SHA2_256", "group": "DH_GROUP_ECP_256",
                                      "authentication": "AUTH_METHOD_PRE_SHARE",
                                      "version": "IKE_VERSION_1"}]
        return config
    config = {
        "globals": {"identity": "ISAKMP_IDENTITY_DN" if auth == "cert" else "ISAKMP_IDENTITY_ADDRESS"},
        "isakmp_policies": [{"priority": 10, "encryption": "ENCRYPTION_AES_GCM_128",
                             "hash": "PRF_HMAC_SHA2_256", "group": "DH_GROUP_CURVE25519",
                             "authentication": "AUTH_METHOD_ECDSA_SIG" if auth == "cert"
                             else "AUTH_METHOD_PRE_SHARE"}],
        "transform_sets": [{"name": "TS", "esp_encryption": "ENCRYPTION_AES_GCM_128"}],
        "access_lists": [{"name": "LOAD", "entries": [{
            "sequence": 10, "action": "ACL_ACTION_PERMIT",
            "match": {"source": {"address": "10.200.0.0", "length": 16},
                      "destination": {"address": "10.0.0.0", "length": 8}}}]}],
        "crypto_maps": [
            {"name": "DYN", "dynamic": True, "entries": [{
                "sequence": 10, "kind": "CRYPTO_MAP_KIND_IPSEC_ISAKMP", "match_address": "LOAD",
                "transform_sets": ["TS"]}]},
            {"name": "VPN", "interfaces": ["lo"], "entries": [{
                "sequence": 100, "kind": "CRYPTO_MAP_KIND_DYNAMIC", "dynamic_map": "DYN"}]}],
    }
    if auth == "cert":
        config["trustpoints"] = [{"name": "BENCH"}]
    else:
        import base64
        config["pre_shared_keys"] = [{"address": {"address": "0.0.0.0", "length": 0},
                                      "key": base64.b64encode(PSK.encode()).decode()}]
    return config


def main():
    if os.geteuid() != 0:
        print("bench ike: needs root (a network namespace)", file=sys.stderr)
        return 2
    bin_dir = sys.argv[1]
    rate_setups = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    memory_tunnels = int(sys.argv[3]) if len(sys.argv) > 3 else 100000
    have_swan = os.access(CHARON, os.X_OK) and shutil.which("swanctl")
    ns = "vfikebench%d" % os.getpid()
    work = tempfile.mkdtemp(prefix="vpnfleet-ike-bench-")
    procs = []
    figures = {"concurrency": CONCURRENCY, "rate_setups": rate_setups}
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        ns_exec(ns, ["ip", "link", "set", "lo", "up"], check=True)
        # The responders' protected LAN: libipsec routes through it.
        ns_exec(ns, ["ip", "addr", "add", "10.200.0.1/32", "dev", "lo"], check=True)
        pki = os.path.join(work, "ca")
        os.makedirs(pki)
        test_pki.root(pki, "ca", "p256", "/O=vpnfleet bench/CN=Bench CA")
        test_pki.issue(pki, "responder", "p256", "/O=vpnfleet bench/CN=responder", "ca",
                       san="IP:127.0.0.1")
        test_pki.issue(pki, "initiator", "p256", "/O=vpnfleet bench/CN=initiator", "ca")
        test_pki.install_trustpoint(os.path.join(work, "ike-pki"), "BENCH", pki, "ca", "responder")
        cert_args = ["--cert=" + os.path.join(pki, "initiator.pem"),
                     "--key=" + os.path.join(pki, "initiator.key"),
                     "--ca=" + os.path.join(pki, "ca.pem")]

        # --- ours ---
        def start_ours():
            sock = os.path.join(work, "ike.sock")
            ready = os.path.join(work, "ike.ready")
            if os.path.exists(ready):
                os.remove(ready)
            log = open(os.path.join(work, "ike.log"), "a")
            proc = spawn(ns, [os.path.join(bin_dir, "vpnfleet-ike"), "--grpc_socket=" + sock,
                              "--metrics_listen=127.0.0.1:19403", "--ready_file=" + ready,
                              "--log_level=warn", "--ike_port=%d" % OUR_PORT,
                              "--natt_port=%d" % (OUR_PORT + 1),
                              "--pki_dir=" + os.path.join(work, "ike-pki"),
                              "--half_open_limit=100000"], log)
            procs.append(proc)
            wait(lambda: os.path.exists(ready), 30, "vpnfleet-ike ready")
            return proc, grpcapi.Ike("unix:" + sock), child_pid(proc, "vpnfleet-ike")

        ike, api, ike_pid = start_ours()
        for auth in ("psk", "cert", "ikev1"):
            api.call("ReplaceConfig", {"config": our_config(auth)})
            extra = LOAD_ARGS[auth] if auth in LOAD_ARGS else cert_args
            print("vpnfleet-ike responder, %s: %d setups..." % (auth, rate_setups), flush=True)
            cpu = cpu_seconds(ike_pid)
            r = load(bin_dir, ns, OUR_PORT, rate_setups, extra)
            cpu = cpu_seconds(ike_pid) - cpu
            figures["ours_%s_setups_per_second" % auth] = r["setups_per_second"]
            figures["ours_%s_setups_per_cpu_second" % auth] = round(r["completed"] / max(cpu, 0.01), 1)
            figures["ours_%s_failed" % auth] = r["failed"]
            print("  %.0f setups/s (%d failed, %d retransmits); %.0f setups per CPU second" %
                  (r["setups_per_second"], r["failed"], r["retransmits"],
                   figures["ours_%s_setups_per_cpu_second" % auth]))
        api.close()
        stop(ike)

        # --- status at 10,000 tunnels: ListChildSas is answered by the
        # engine (listing) and the gRPC thread (counters), and must stay
        # fast while the engine works ---
        ike, api, ike_pid = start_ours()
        api.call("ReplaceConfig", {"config": our_config("psk")})
        print("vpnfleet-ike: 10000 tunnels for the status figures...", flush=True)
        load(bin_dir, ns, OUR_PORT, 10000, ["--psk=" + PSK])
        figures.update(status_timings(api, "10k"))
        print("  ListChildSas with %d CHILD SAs: %.1f ms (median of 5); ListIkeSas: %.1f ms" %
              (figures["status_children_10k"], figures["list_child_sas_ms_10k"],
               figures["list_ike_sas_ms_10k"]))
        api.close()
        stop(ike)

        # --- memory at many tunnels (ours), from a fresh daemon ---
        ike, api, ike_pid = start_ours()
        api.call("ReplaceConfig", {"config": our_config("psk")})
        time.sleep(1)
        before = rss_kib(ike_pid)
        print("vpnfleet-ike: %d tunnels for the memory figure..." % memory_tunnels, flush=True)
        r = load(bin_dir, ns, OUR_PORT, memory_tunnels, ["--psk=" + PSK])
        time.sleep(1)
        after = rss_kib(ike_pid)
        held = r["completed"]
        figures["memory_tunnels"] = held
        figures["ours_rss_kib_before"] = before
        figures["ours_rss_kib_after"] = after
        figures["ours_bytes_per_sa_pair"] = round((after - before) * 1024.0 / max(held, 1), 1)
        figures["ours_first_tenth_setups_per_second"] = r["first_tenth_per_second"]
        figures["ours_last_tenth_setups_per_second"] = r["last_tenth_per_second"]
        figures["ours_last_to_first_tenth_ratio"] = round(
            r["last_tenth_per_second"] / max(r["first_tenth_per_second"], 1e-9), 3)
        print("  %d tunnels: RSS %d -> %d KiB, %.0f bytes per IKE+CHILD SA pair" %
              (held, before, after, figures["ours_bytes_per_sa_pair"]))
        print("  setup rate first tenth %.0f/s, last tenth %.0f/s" %
              (r["first_tenth_per_second"], r["last_tenth_per_second"]))
        # Status RPCs still answer at that scale (filtered to one peer: a
        # full list of a million SAs is no operator's question).
        t0 = time.monotonic()
        api.call("ListIkeSas", {"remote_address": "127.0.0.2"})
        figures["list_ike_sas_filtered_ms_at_memory_tunnels"] = round(
            (time.monotonic() - t0) * 1000, 1)
        print("  ListIkeSas (one peer) at %d tunnels: %.1f ms" %
              (held, figures["list_ike_sas_filtered_ms_at_memory_tunnels"]))
        api.close()
        stop(ike)

        # --- strongSwan ---
        if not have_swan:
            print("strongSwan is not installed: no ratio (scripts/install-deps installs it)")
        else:
            swan_dir = os.path.join(work, "swan")
            os.makedirs(os.path.join(swan_dir, "private"))
            with open(os.path.join(swan_dir, "strongswan.conf"), "w") as f:
                f.write(STRONGSWAN_CONF % {"port": SWAN_PORT, "natt": SWAN_PORT + 1, "dir": swan_dir,
                                           "loglevel": int(os.environ.get("CHARON_LOG", "0"))})
            shutil.copy(os.path.join(pki, "responder.key"), os.path.join(swan_dir, "private"))
            env = dict(os.environ, STRONGSWAN_CONF=os.path.join(swan_dir, "strongswan.conf"))
            clog = open(os.path.join(work, "charon.log"), "w")
            charon = spawn(ns, ["unshare", "-m", "sh", "-c",
                                "mount -t tmpfs tmpfs /run && exec " + CHARON], clog, env=env)
            procs.append(charon)
            wait(lambda: os.path.exists(os.path.join(swan_dir, "charon.vici")), 30, "charon vici")
            swan_pid = child_pid(charon, "charon")
            # libipsec's TUN device must be up for its policies' routes.
            wait(lambda: ns_exec(ns, ["ip", "link", "set", "ipsec0", "up"],
                                 capture_output=True).returncode == 0, 20, "charon's ipsec0")
            for auth in ("psk", "cert", "ikev1"):
                conf = os.path.join(swan_dir, "swanctl.conf")
                with open(conf, "w") as f:
                    f.write(SWANCTL_PSK if auth == "psk" else SWANCTL_IKEV1 if auth == "ikev1"
                            else SWANCTL_CERT % {"cert": os.path.join(pki, "responder.pem"),
                                                 "ca": os.path.join(pki, "ca.pem")})
                ns_exec(ns, ["env", "SWANCTL_DIR=" + swan_dir, "swanctl", "--load-all", "--clear",
                             "--file", conf, "--uri", "unix://%s/charon.vici" % swan_dir],
                        check=True, capture_output=True)
                extra = LOAD_ARGS[auth] if auth in LOAD_ARGS else cert_args
                print("strongSwan responder, %s: %d setups..." % (auth, rate_setups), flush=True)
                before_swan = rss_kib(swan_pid) if swan_pid else 0
                # charon on ports other than 500 takes IKE only on its NAT-T
                # port, with the non-ESP marker.
                cpu = cpu_seconds(swan_pid) if swan_pid else 0
                r = load(bin_dir, ns, SWAN_PORT + 1, rate_setups, extra + ["--natt"])
                cpu = (cpu_seconds(swan_pid) - cpu) if swan_pid else 0
                after_swan = rss_kib(swan_pid) if swan_pid else 0
                figures["strongswan_%s_setups_per_cpu_second" % auth] = round(
                    r["completed"] / max(cpu, 0.01), 1)
                figures["strongswan_%s_setups_per_second" % auth] = r["setups_per_second"]
                figures["strongswan_%s_failed" % auth] = r["failed"]
                if auth == "psk" and r["completed"]:
                    figures["strongswan_bytes_per_sa_pair"] = round(
                        (after_swan - before_swan) * 1024.0 / r["completed"], 1)
                print("  %.0f setups/s (%d failed); %.0f setups per CPU second" %
                      (r["setups_per_second"], r["failed"],
                       figures["strongswan_%s_setups_per_cpu_second" % auth]))
                theirs = r["setups_per_second"]
                ours = figures["ours_%s_setups_per_second" % auth]
                figures["ours_to_strongswan_%s_ratio" % auth] = round(ours / theirs, 2) if theirs else 0
                # Per CPU second of the responder alone: the load generator
                # shares the two cores and bounds the wall-clock rates.
                theirs = figures["strongswan_%s_setups_per_cpu_second" % auth]
                ours = figures["ours_%s_setups_per_cpu_second" % auth]
                figures["ours_to_strongswan_%s_cpu_ratio" % auth] = round(ours / theirs, 2) if theirs else 0
                ns_exec(ns, ["env", "SWANCTL_DIR=" + swan_dir, "swanctl", "--terminate", "--ike",
                             "load", "--force", "--uri", "unix://%s/charon.vici" % swan_dir],
                        capture_output=True, timeout=300)
            stop(charon)
        print(json.dumps(figures, sort_keys=True))
        return 0
    finally:
        for p in procs:
            stop(p)
        subprocess.run(["ip", "netns", "del", ns], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
