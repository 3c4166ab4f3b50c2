"""Simulated vpnfleet edges for controller lab tests: one gRPC server on a
Unix socket that serves vpnfleet.ike.v1.IkeService for any number of devices
(the controller names the device in `vpnfleet-device` metadata), the way
bench/controller/fleet_load.cc does in C++. Each device keeps its
configuration and revision; a tunnel comes up on Initiate once the peer runs
a policy naming this device's WAN address. Every ReplaceConfig is recorded
(device, the configuration's bytes, when it started and ended), so a test can tell what was
pushed where and how often; `apply_delay` makes each apply take that long,
so a rollout can be interrupted mid-batch.
"""

import threading
import time
from concurrent import futures

import grpc

import grpcapi

SERVICE = "vpnfleet.ike.v1.IkeService"


class SimEdges:
    def __init__(self, socket_path, apply_delay=0.0):
        self.pb = grpcapi._load()["ike"]
        self.socket = socket_path
        self.apply_delay = apply_delay
        self.lock = threading.Lock()
        self.wan = {}        # device -> WAN address
        self.by_wan = {}     # WAN address -> device
        self.config = {}     # device -> IkeConfig bytes
        self.revision = {}   # device -> the edge's own revision
        self.up = {}         # device -> [(crypto map, peer)]
        self.applies = []    # (device, IkeConfig bytes, started, finished) per ReplaceConfig applied
        self.server = None

    def add_device(self, name, wan):
        with self.lock:
            self.wan[name] = wan
            self.by_wan[wan] = name

    def start(self):
        pb = self.pb
        handlers = {
            "GetConfig": grpc.unary_unary_rpc_method_handler(
                self._get_config, request_deserializer=pb.GetConfigRequest.FromString,
                response_serializer=pb.IkeConfig.SerializeToString),
            "ReplaceConfig": grpc.unary_unary_rpc_method_handler(
                self._replace_config, request_deserializer=pb.ReplaceConfigRequest.FromString,
                response_serializer=pb.EditConfigResponse.SerializeToString),
            "Initiate": grpc.unary_unary_rpc_method_handler(
                self._initiate, request_deserializer=pb.InitiateRequest.FromString,
                response_serializer=pb.InitiateResponse.SerializeToString),
            "ListChildSas": grpc.unary_unary_rpc_method_handler(
                self._list_child_sas, request_deserializer=pb.ListChildSasRequest.FromString,
                response_serializer=pb.ListChildSasResponse.SerializeToString),
            "ListIkeSas": grpc.unary_unary_rpc_method_handler(
                lambda req, ctx: pb.ListIkeSasResponse(), request_deserializer=pb.ListIkeSasRequest.FromString,
                response_serializer=pb.ListIkeSasResponse.SerializeToString),
        }
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
        self.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
        self.server.add_insecure_port("unix:" + self.socket)
        self.server.start()

    def stop(self):
        if self.server:
            self.server.stop(grace=None)
            self.server = None

    @staticmethod
    def _device(ctx):
        for k, v in ctx.invocation_metadata():
            if k == "vpnfleet-device":
                return v
        return ""

    def _get_config(self, req, ctx):
        with self.lock:
            d = self._device(ctx)
            out = self.pb.IkeConfig.FromString(self.config.get(d, b""))
            for k in out.pre_shared_keys:  # write-only, as the real service
                k.key_set = True
                k.key = b""
            out.revision.number = self.revision.get(d, 0)
            return out

    def _replace_config(self, req, ctx):
        if not req.config.crypto_maps:
            ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, "no crypto map")
        if req.validate_only:
            return self.pb.EditConfigResponse()
        started = time.time()
        if self.apply_delay:
            time.sleep(self.apply_delay)  # applied even if the caller is gone meanwhile
        d = self._device(ctx)
        data = req.config.SerializeToString(deterministic=True)
        with self.lock:
            self.config[d] = data
            self.up[d] = []
            self.revision[d] = self.revision.get(d, 0) + 1
            self.applies.append((d, data, started, time.time()))
            out = self.pb.EditConfigResponse()
            out.revision.number = self.revision[d]
            return out

    def _peers(self, d):
        cfg = self.pb.IkeConfig.FromString(self.config.get(d, b""))
        return {p for m in cfg.crypto_maps for e in m.entries for p in e.peers}

    def _initiate(self, req, ctx):
        with self.lock:
            me = self._device(ctx)
            peer = self.by_wan.get(req.peer)
            if peer is None:
                ctx.abort(grpc.StatusCode.NOT_FOUND, "no such peer")
            if self.wan.get(me) in self._peers(peer):
                self.up.setdefault(me, []).append((req.crypto_map, req.peer))
            return self.pb.InitiateResponse()

    def _list_child_sas(self, req, ctx):
        with self.lock:
            out = self.pb.ListChildSasResponse()
            for m, peer in self.up.get(self._device(ctx), []):
                sa = out.child_sas.add()
                sa.crypto_map = m
                sa.remote_endpoint = peer
            return out

    def pushed(self):
        """device -> the distinct configurations it was given, in order."""
        with self.lock:
            out = {}
            for d, data, _, _ in self.applies:
                if data not in out.setdefault(d, []):
                    out[d].append(data)
            return out
