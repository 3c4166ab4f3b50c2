"""A small gRPC client for vpnfleet's APIs from Python tests and tools.

The message classes are generated from proto/ with protoc (protobuf-compiler)
into a temporary directory on first use; calls go through grpcio's generic
unary/stream methods, so no gRPC plugin for Python is needed. Requests and
responses are plain dicts in the proto3 JSON mapping (json_format).
"""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile

import grpc
from google.protobuf import json_format

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO_DIR = os.path.join(ROOT, "proto")

_modules = {}


def _load():
    if _modules:
        return _modules
    out = tempfile.mkdtemp(prefix="vpnfleet-pyproto-")
    atexit.register(shutil.rmtree, out, True)
    files = ["vpnfleet/common/v1/access.proto", "vpnfleet/common/v1/types.proto",
             "vpnfleet/dataplane/v1/dataplane.proto", "vpnfleet/pki/v1/pki.proto",
             "vpnfleet/ike/v1/ike.proto", "vpnfleet/controller/v1/controller.proto"]
    subprocess.run(["protoc", "-I", PROTO_DIR, "--python_out=" + out] + files, check=True)
    sys.path.insert(0, out)
    from vpnfleet.dataplane.v1 import dataplane_pb2  # noqa: E402
    from vpnfleet.pki.v1 import pki_pb2  # noqa: E402
    from vpnfleet.ike.v1 import ike_pb2  # noqa: E402
    from vpnfleet.controller.v1 import controller_pb2  # noqa: E402
    from vpnfleet.common.v1 import access_pb2  # noqa: E402
    _modules["dataplane"] = dataplane_pb2
    _modules["controller"] = controller_pb2
    _modules["access"] = access_pb2
    _modules["pki"] = pki_pb2
    _modules["ike"] = ike_pb2
    return _modules


class Dataplane:
    """vpnfleet.dataplane.v1.DataplaneService at `target` ("127.0.0.1:7404")."""

    SERVICE = "/vpnfleet.dataplane.v1.DataplaneService/"

    def __init__(self, target, timeout=10.0):
        self.pb = _load()["dataplane"]
        self.channel = grpc.insecure_channel(target)
        self.timeout = timeout

    def close(self):
        self.channel.close()

    def call(self, method, request):
        """Calls a unary method with a dict; returns the response as a dict."""
        req_cls = getattr(self.pb, method + "Request", None)
        if method in ("GetSa",):
            req_cls = self.pb.GetSaRequest
        resp_cls = {"GetSa": self.pb.SaStatus}.get(method) or getattr(self.pb, method + "Response")
        fn = self.channel.unary_unary(self.SERVICE + method,
                                      request_serializer=lambda m: m.SerializeToString(),
                                      response_deserializer=resp_cls.FromString)
        msg = json_format.ParseDict(request, req_cls())
        resp = fn(msg, timeout=self.timeout)
        return json_format.MessageToDict(resp, preserving_proto_field_name=True)

    def watch_events(self, timeout=None):
        """Yields DataplaneEvent dicts until the stream ends or `timeout`."""
        fn = self.channel.unary_stream(self.SERVICE + "WatchEvents",
                                       request_serializer=lambda m: m.SerializeToString(),
                                       response_deserializer=self.pb.DataplaneEvent.FromString)
        return fn(self.pb.WatchEventsRequest(), timeout=timeout)

    @staticmethod
    def to_dict(message):
        return json_format.MessageToDict(message, preserving_proto_field_name=True)


class _Unary:
    """A service whose methods are called with and answer dicts."""

    SERVICE = ""
    MODULE = ""
    RESPONSES = {}

    def __init__(self, target, timeout=10.0):
        self.pb = _load()[self.MODULE]
        self.channel = grpc.insecure_channel(target)
        self.timeout = timeout

    def close(self):
        self.channel.close()

    def call(self, method, request=None):
        """Calls a unary method with a dict; returns the response as a dict."""
        req_cls = getattr(self.pb, method + "Request")
        resp_cls = getattr(self.pb, self.RESPONSES.get(method, method + "Response"))
        fn = self.channel.unary_unary(self.SERVICE + method,
                                      request_serializer=lambda m: m.SerializeToString(),
                                      response_deserializer=resp_cls.FromString)
        resp = fn(json_format.ParseDict(request or {}, req_cls()), timeout=self.timeout)
        return json_format.MessageToDict(resp, preserving_proto_field_name=True)


class Pki(_Unary):
    """vpnfleet.pki.v1.PkiService at `target`."""

    SERVICE = "/vpnfleet.pki.v1.PkiService/"
    MODULE = "pki"
    RESPONSES = {"GetCaInfo": "CaInfo", "IssueChallenge": "Challenge",
                 "GetCertificate": "Certificate", "GetCrl": "Crl"}


class Ike(_Unary):
    """vpnfleet.ike.v1.IkeService at `target`."""

    SERVICE = "/vpnfleet.ike.v1.IkeService/"
    MODULE = "ike"
    RESPONSES = {"GetConfig": "IkeConfig", "EditConfig": "EditConfigResponse",
                 "ReplaceConfig": "EditConfigResponse"}
