#!/usr/bin/python3
"""scripts/bench pki: SCEP enrollments per second (RSA-2048 requests) against
our vpnfleet-pki and against micromdm's scepserver in the same run, with the
same load generator (scep_load), the same keys and the same concurrency.
Both servers use an RSA-2048 CA and listen on 127.0.0.1. Prints the figures,
then one JSON line."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lab"))
import grpcapi  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("nothing answers at " + url)


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pid):
    """User + system CPU time of a process so far (its threads included)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rsa2048_signs_per_s():
    """OpenSSL's RSA-2048 private-key operations per second on one core: each
    enrollment costs the server three (decrypt, issue, sign the reply)."""
    r = subprocess.run(["openssl", "speed", "-seconds", "2", "rsa2048"], capture_output=True,
                       text=True, timeout=120)
    for line in r.stdout.splitlines():
        if line.startswith("rsa 2048 bits"):
            return float(line.split()[-2])
    return 0.0


def load(bin_dir, url, name, requests, concurrency, keys, challenges=None, challenge=None):
    args = [os.path.join(bin_dir, "scep_load"), "--url", url, "--name", name,
            "--requests", str(requests), "--concurrency", str(concurrency), "--keys", keys]
    args += ["--challenges", challenges] if challenges else ["--challenge", challenge]
    r = subprocess.run(args, capture_output=True, text=True, timeout=900)
    lines = r.stdout.strip().splitlines()
    for line in lines[:-1]:
        print(line)
    if r.returncode != 0 and not lines:
        raise RuntimeError(r.stderr)
    return json.loads(lines[-1])


def main():
    bin_dir = sys.argv[1]
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    concurrency = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    if not shutil.which("scepserver"):
        print("bench pki: micromdm scepserver (Debian package scep) is not installed", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="vpnfleet-bench-pki-")
    procs = []
    try:
        keys = os.path.join(tmp, "keys.pem")
        # Ours.
        port, sock = free_port(), os.path.join(tmp, "pki.sock")
        ours = subprocess.Popen(
            [os.path.join(bin_dir, "vpnfleet-pki"), "--data_dir", os.path.join(tmp, "ours"),
             "--scep_listen", "127.0.0.1:%d" % port, "--grpc_listen", "127.0.0.1:0",
             "--grpc_socket", sock, "--metrics_listen", "127.0.0.1:0", "--ca_key", "rsa-2048",
             "--log_level", "warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(ours)
        ours_url = "http://127.0.0.1:%d/scep" % port
        wait_http(ours_url + "?operation=GetCACaps")
        while not os.path.exists(sock):
            time.sleep(0.05)
        api = grpcapi.Pki("unix:" + sock)
        challenges = os.path.join(tmp, "challenges.txt")
        with open(challenges, "w") as f:
            for i in range(requests):
                f.write(api.call("IssueChallenge", {"device": "load-%d" % i})["password"] + "\n")
        api.close()
        # Theirs.
        depot = os.path.join(tmp, "depot")
        subprocess.run(["scepserver", "ca", "-init", "-depot", depot, "-keySize", "2048"],
                       check=True, capture_output=True)
        their_port = free_port()
        theirs = subprocess.Popen(["scepserver", "-depot", depot, "-port", str(their_port),
                                   "-challenge", "s3cret"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(theirs)
        their_url = "http://127.0.0.1:%d/scep" % their_port
        wait_http(their_url + "?operation=GetCACaps")

        print("bench pki: %d RSA-2048 enrollments, %d concurrent clients, each server alone"
              % (requests, concurrency))
        cpu0 = cpu_seconds(ours.pid)
        a = load(bin_dir, ours_url, "vpnfleet-pki", requests, concurrency, keys,
                 challenges=challenges)
        ours_cpu = cpu_seconds(ours.pid) - cpu0
        cpu0 = cpu_seconds(theirs.pid)
        b = load(bin_dir, their_url, "scepserver", requests, concurrency, keys, challenge="s3cret")
        their_cpu = cpu_seconds(theirs.pid) - cpu0
        ratio = a["per_second"] / b["per_second"] if b["per_second"] else 0.0
        # The load generator shares the two cores (it makes two RSA private
        # operations per enrollment itself): server CPU per enrollment shows
        # what each server costs on its own.
        ours_per_cpu = requests / ours_cpu if ours_cpu > 0 else 0.0
        their_per_cpu = requests / their_cpu if their_cpu > 0 else 0.0
        cpu_ratio = ours_per_cpu / their_per_cpu if their_per_cpu else 0.0
        signs = rsa2048_signs_per_s()
        print("vpnfleet-pki / scepserver: %.2fx" % ratio)
        print("server CPU: vpnfleet-pki %.2f ms/enrollment (%.0f per CPU second), scepserver "
              "%.2f ms (%.0f): %.2fx" % (1000 * ours_cpu / requests, ours_per_cpu,
                                         1000 * their_cpu / requests, their_per_cpu, cpu_ratio))
        print("this CPU: %.0f RSA-2048 signatures/s per core; three per enrollment bound a server "
              "core at %.0f enrollments/s" % (signs, signs / 3))
        print(json.dumps({
            "requests": requests, "concurrency": concurrency, "key": "rsa-2048",
            "ours_enrollments_per_s": a["per_second"], "ours_p50_ms": a["p50_ms"],
            "ours_p99_ms": a["p99_ms"], "ours_failed": a["failed"],
            "scepserver_enrollments_per_s": b["per_second"], "scepserver_p50_ms": b["p50_ms"],
            "scepserver_p99_ms": b["p99_ms"], "scepserver_failed": b["failed"],
            "ours_to_scepserver_ratio": round(ratio, 3),
            "ours_enrollments_per_server_cpu_s": round(ours_per_cpu, 1),
            "scepserver_enrollments_per_server_cpu_s": round(their_per_cpu, 1),
            "ours_to_scepserver_per_cpu_ratio": round(cpu_ratio, 3),
            "rsa2048_signs_per_s_per_core": signs,
            "ours_per_cpu_to_rsa_bound_ratio": round(ours_per_cpu / (signs / 3), 3) if signs else 0.0}))
        return 0
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
