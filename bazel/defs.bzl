"""Common settings of vpnfleet's own C++ targets (the Bazel twins of CMake's
vpnfleet_library / vpnfleet_test / vpnfleet_fuzz)."""

VPNFLEET_COPTS = ["-Werror", "-DVPNFLEET_VERSION=\\\"0.1.0\\\""]

def vpnfleet_cc_library(name, **kwargs):
    native.cc_library(name = name, copts = VPNFLEET_COPTS + kwargs.pop("copts", []), **kwargs)

def vpnfleet_cc_binary(name, **kwargs):
    native.cc_binary(name = name, copts = VPNFLEET_COPTS + kwargs.pop("copts", []), **kwargs)

def vpnfleet_cc_test(name, srcs, deps, size = "small", **kwargs):
    """A GoogleTest binary (gtest_main linked in)."""
    native.cc_test(
        name = name,
        size = size,
        srcs = srcs,
        copts = VPNFLEET_COPTS,
        deps = deps + ["//third_party/system:gtest_main"],
        **kwargs
    )

def vpnfleet_fuzz_test(name, srcs, deps, runs = 200000):
    """A libFuzzer-style target run as a test over generated inputs (see
    common/testing/fuzz_main.cc)."""
    native.cc_test(
        name = name,
        size = "medium",
        srcs = srcs + ["//common:testing/fuzz_main.cc"],
        args = ["--runs=%d" % runs],
        copts = VPNFLEET_COPTS,
        deps = deps,
    )
