"""Common settings of vpnfleet's own C++ targets."""

VPNFLEET_COPTS = ["-Werror", "-DVPNFLEET_VERSION=\\\"0.1.0\\\""]

def vpnfleet_fuzz_test(name, srcs, deps):
    """A libFuzzer-style target run as a test over generated inputs (see
    common/testing/fuzz_main.cc)."""
    native.cc_test(
        name = name,
        size = "medium",
        srcs = srcs + ["//common:testing/fuzz_main.cc"],
        args = ["--runs=200000"],
        copts = VPNFLEET_COPTS,
        deps = deps,
    )
