"""vpnfleet_proto_library: C++ and gRPC code from .proto files with Debian's
protoc and grpc_cpp_plugin (no proto rules to download)."""

def vpnfleet_proto_library(name, srcs, imports = [], deps = []):
    """srcs and imports are paths below //proto ("vpnfleet/ike/v1/ike.proto").

    imports: the .proto files that srcs import (they must be in the sandbox).
    deps: the vpnfleet_proto_library targets that compile those imports.
    """
    outs_h = []
    outs_cc = []
    for src in srcs:
        base = src[:-len(".proto")]
        outs_h += [base + ".pb.h", base + ".grpc.pb.h"]
        outs_cc += [base + ".pb.cc", base + ".grpc.pb.cc"]
    native.genrule(
        name = name + "_gen",
        srcs = srcs + imports,
        outs = outs_h + outs_cc,
        # Sources are at PACKAGE/..., so PACKAGE is the import root.
        cmd = ("/usr/bin/protoc -I{root} --cpp_out=$(RULEDIR) --grpc_out=$(RULEDIR) " +
               "--plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin {files}").format(
            root = native.package_name(),
            files = " ".join(["$(location %s)" % s for s in srcs]),
        ),
    )
    native.cc_library(
        name = name,
        srcs = outs_cc,
        hdrs = outs_h,
        includes = ["."],
        deps = deps + ["//third_party/system:grpc"],
        visibility = ["//visibility:public"],
    )
