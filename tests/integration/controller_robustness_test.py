#!/usr/bin/env python3
"""The controller's API against hostile and oversized input, and at 100,000
devices, as an independent gRPC client drives it (issue 21):
  - templates nested 8,000 deep, a template that would render to ~100 MB,
    names of 8,000 characters, unknown enum values, NULs, unreachable WAN
    addresses, 100,001 labels, bytes that are no protobuf, a 6 MB request:
    each refused with its own code, quickly, with a message that names the
    field and does not echo the input;
  - the controller's peak memory (VmHWM) stays bounded through all of it;
  - 100,000 devices stored one request each, then read back through pages
    by the API and by the CLI, every name once and in order;
  - restarted (SIGKILL, then started on the same data directory) it holds
    all 100,000 and the device the hostile requests aimed at is unchanged.
The controller runs on a Unix socket in a temporary directory; nothing
leaves the machine. Prints its figures (rates, memory) as it goes.
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

import grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402

from checks import Fail, check, wait_for  # noqa: E402
import fleet  # noqa: E402
import grpcapi  # noqa: E402

SERVICE = "/vpnfleet.controller.v1.ControllerService/"
DEVICES = 100000
MAX_ECHO = 300  # no error message is longer than this (the input is never repeated)


class Controller:
    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.socket = os.path.join(data_dir, "controller.sock")
        self.proc = None
        self.pb = grpcapi._load()["controller"]

    def start(self):
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        self.log = open(os.path.join(self.data_dir, "controller.log"), "a")
        self.proc = subprocess.Popen([fleet.binary("vpnfleet-controller"), "--data_dir=" + self.data_dir,
                                      "--grpc_socket=" + self.socket, "--metrics_listen=127.0.0.1:0"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        started = time.time()
        wait_for(lambda: os.path.exists(self.socket), 60, "the controller's socket")
        self.channel = grpc.insecure_channel("unix:" + self.socket,
                                             options=[("grpc.max_send_message_length", 64 << 20)])
        self.call("ListTemplates", {})
        return time.time() - started

    def kill(self):
        self.channel.close()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=20)
        self.log.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def memory_kb(self, field="VmHWM"):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def stub(self, method, response):
        return self.channel.unary_unary(SERVICE + method, request_serializer=lambda m: m.SerializeToString(),
                                        response_deserializer=response.FromString)

    def call(self, method, request, response=None, timeout=60):
        req = json_format.ParseDict(request, getattr(self.pb, method + "Request")())
        resp_cls = getattr(self.pb, response or method + "Response")
        out = self.stub(method, resp_cls)(req, timeout=timeout)
        return json_format.MessageToDict(out, preserving_proto_field_name=True)

    def raw(self, method, message, response, timeout=60):
        """Sends a message object (or raw bytes) as it is: no client-side checks."""
        serialize = (lambda m: m) if isinstance(message, bytes) else (lambda m: m.SerializeToString())
        fn = self.channel.unary_unary(SERVICE + method, request_serializer=serialize,
                                      response_deserializer=response.FromString)
        return fn(message, timeout=timeout)


def refused(ctl, what, send, codes, field=None, echo=None, seconds=5.0):
    """`send()` must fail with one of `codes` within `seconds`, its message short,
    naming `field`, and not holding `echo`."""
    started = time.time()
    try:
        send()
    except grpc.RpcError as e:
        took = time.time() - started
        msg = e.details() or ""
        check(e.code() in codes, "%s: %s (%s)" % (what, e.code().name, msg[:120]))
        check(took < seconds, "%s: answered in %.2f s" % (what, took))
        check(len(msg) <= MAX_ECHO, "%s: the message is %d characters" % (what, len(msg)))
        if field:
            check(field in msg, "%s: the message names %s" % (what, field))
        if echo:
            check(echo not in msg, "%s: the input is not echoed" % what)
        return msg
    raise Fail("%s: accepted" % what)


def device(pb, name, wan, **extra):
    d = pb.Device(name=name, kind=pb.DEVICE_KIND_VPNFLEET, wan_address=wan,
                  management_endpoint="192.0.2.1:7403", site="lab")
    for k, v in extra.items():
        setattr(d, k, v)
    return d


def hostile(ctl):
    pb = ctl.pb
    INVALID = (grpc.StatusCode.INVALID_ARGUMENT,)
    LIMIT = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED)
    put = lambda d: ctl.raw("PutDevice", pb.PutDeviceRequest(device=d), pb.Device)  # noqa: E731
    ctl.raw("PutDevice", pb.PutDeviceRequest(device=device(pb, "keeper", "203.0.113.7")), pb.Device)
    before = ctl.call("GetDevice", {"name": "keeper"}, "Device")

    print("templates")
    deep = "{{#a}}" * 8000 + "x" + "{{/a}}" * 8000
    t = pb.Template(name="deep", body=deep, output=pb.TEMPLATE_OUTPUT_IOS_CONFIGLET)
    t.variables.add(name="a")
    refused(ctl, "sections nested 8,000 deep", lambda: ctl.raw("PutTemplate", pb.PutTemplateRequest(template=t),
                                                                pb.Template), LIMIT, echo=deep[:200])
    big = pb.Template(name="big", body="x" * ((1 << 20) + 1), output=pb.TEMPLATE_OUTPUT_IOS_CONFIGLET)
    refused(ctl, "a template of 1 MiB + 1", lambda: ctl.raw("PutTemplate", pb.PutTemplateRequest(template=big),
                                                             pb.Template), LIMIT, field="body")
    # 100,000 tags of a 1,000-character value: ~100 MB if it were rendered.
    amp = pb.Template(name="amplifier", body="{{v}}\n" * 100000, output=pb.TEMPLATE_OUTPUT_IOS_CONFIGLET)
    amp.variables.add(name="v", required=True)
    ctl.raw("PutTemplate", pb.PutTemplateRequest(template=amp), pb.Template)
    ds = pb.DataSet(name="amplified", template="amplifier", device="keeper")
    ds.values["v"] = "k" * 1000
    ctl.raw("PutDataSet", pb.PutDataSetRequest(data_set=ds), pb.DataSet)
    rss_before = ctl.memory_kb("VmRSS")
    started = time.time()
    r = ctl.raw("RenderTemplate", pb.RenderTemplateRequest(data_set="amplified"), pb.RenderTemplateResponse)
    took = time.time() - started
    errors = [d.message for d in r.diagnostics if d.severity == pb.Diagnostic.SEVERITY_ERROR]
    check(errors and not r.ios_configlet, "rendering ~100 MB is refused before rendering: %s" %
          (errors[0][:160] if errors else "rendered %d bytes" % len(r.ios_configlet)))
    check(took < 5, "answered in %.2f s" % took)
    check(len(errors[0]) <= MAX_ECHO, "the diagnostic is %d characters" % len(errors[0]))
    grew = ctl.memory_kb("VmRSS") - rss_before
    print("  rendering refused; resident memory grew %d KB" % grew)
    check(grew < 200 * 1024, "the refused render did not take 200 MB")

    print("devices")
    long_name = "n" * 8000
    refused(ctl, "a name of 8,000 characters", lambda: put(device(pb, long_name, "203.0.113.8")), INVALID,
            field="name", echo=long_name[:200])
    refused(ctl, "device kind 99", lambda: put(device(pb, "kind99", "203.0.113.9", kind=99)), INVALID, field="kind")
    refused(ctl, "a NUL in the name", lambda: put(device(pb, "nul\x00name", "203.0.113.10")), INVALID, field="name")
    refused(ctl, "a NUL in the endpoint",
            lambda: put(device(pb, "nul-ep", "203.0.113.11", management_endpoint="1.2.3.4:1\x00x")), INVALID,
            field="management_endpoint")
    for wan in ("0.0.0.0", "127.0.0.1", "224.0.0.5", "255.255.255.255", "not-an-address"):
        refused(ctl, "WAN address %s" % wan, lambda: put(device(pb, "keeper", wan)), INVALID, field="wan_address")
    flood = device(pb, "keeper", "203.0.113.7")
    for i in range(100001):
        flood.labels["k%d" % i] = "v"
    refused(ctl, "100,001 labels", lambda: put(flood), LIMIT, field="labels")
    refused(ctl, "bytes that are no protobuf", lambda: ctl.raw("PutDevice", b"\xff\xff\xff\xff\x0f\x0a", pb.Device),
            INVALID)
    huge = pb.PutDeviceRequest(device=device(pb, "keeper", "203.0.113.7"))
    huge.device.labels["big"] = "x" * (6 << 20)
    refused(ctl, "a 6 MB request", lambda: ctl.raw("PutDevice", huge, pb.Device), LIMIT)
    after = ctl.call("GetDevice", {"name": "keeper"}, "Device")
    check(after == before, "keeper is as it was before every refused request")
    return before


def load_devices(ctl, n):
    pb = ctl.pb
    put = ctl.stub("PutDevice", pb.Device)
    started = time.time()
    pending = []
    for i in range(n):
        v = i + 1
        req = pb.PutDeviceRequest(device=device(pb, "edge-%06d" % i, "10.%d.%d.%d" % (v >> 16, (v >> 8) & 255, v & 255),
                                                site="s%d" % (i % 100)))
        pending.append(put.future(req, timeout=120))
        if len(pending) == 64:
            for f in pending:
                f.result()
            pending = []
        if i and i % 25000 == 0:
            print("  %d devices stored (%.0f/s)" % (i, i / (time.time() - started)))
    for f in pending:
        f.result()
    took = time.time() - started
    print("  %d devices stored in %.1f s: %.0f/s" % (n, took, n / took))
    return n / took


def list_by_pages(ctl, page_size):
    names, token, pages = [], "", 0
    started = time.time()
    while True:
        resp = ctl.call("ListDevices", {"page_size": page_size, "page_token": token})
        names += [d["name"] for d in resp.get("devices", [])]
        pages += 1
        token = resp.get("next_page_token", "")
        if not token:
            break
    return names, pages, time.time() - started


def check_listing(ctl, expected):
    for page_size in (0, 10000):
        names, pages, took = list_by_pages(ctl, page_size)
        print("  API, page_size %d: %d devices in %d pages, %.1f s" % (page_size, len(names), pages, took))
        check(names == expected, "every device once, in name order (page_size %d)" % page_size)
    started = time.time()
    r = fleet.cli(["--controller=unix:" + ctl.socket, "--timeout_ms=60000", "device", "list", "-o", "json"])
    check(r.returncode == 0, "vpnfleet device list: %s" % r.stderr[-300:])
    listed = [d["name"] for d in json.loads(r.stdout)["devices"]]
    print("  CLI: %d devices in %.1f s" % (len(listed), time.time() - started))
    check(listed == expected, "the CLI reads every page")


def main():
    work = tempfile.mkdtemp(prefix="vpnfleet-ctl-robust-")
    ctl = Controller(work)
    try:
        print("controller up in %.2f s" % ctl.start())
        keeper = hostile(ctl)
        print("peak memory after the hostile requests: %d KB" % ctl.memory_kb())

        print("%d devices" % DEVICES)
        load_devices(ctl, DEVICES)
        expected = sorted(["edge-%06d" % i for i in range(DEVICES)] + ["keeper"])
        check_listing(ctl, expected)
        peak = ctl.memory_kb()
        print("peak memory with %d devices: %d KB" % (DEVICES + 1, peak))
        check(peak < 1024 * 1024, "peak memory under 1 GiB (%d MB)" % (peak // 1024))

        print("SIGKILL and restart on the same data")
        ctl.kill()
        print("  up again in %.2f s" % ctl.start())
        names, pages, took = list_by_pages(ctl, 0)
        check(names == expected, "all %d devices after the restart (%d pages, %.1f s)" % (len(names), pages, took))
        check(ctl.call("GetDevice", {"name": "keeper"}, "Device") == keeper, "keeper unchanged")
        ds = ctl.call("GetDataSet", {"name": "amplified"}, "DataSet")
        check(ds["values"]["v"] == "k" * 1000, "the data set stored before the refused render is intact")
        print("restarted peak memory: %d KB" % ctl.memory_kb())
        print("PASS")
        return 0
    except Fail as e:
        print("FAIL: %s" % e)
        try:
            with open(os.path.join(work, "controller.log")) as f:
                print("--- controller.log (tail)\n" + "".join(f.readlines()[-20:]))
        except OSError:
            pass
        return 1
    finally:
        ctl.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
