"""Common settings of vpnfleet's own C++ targets."""

VPNFLEET_COPTS = ["-Werror", "-DVPNFLEET_VERSION=\\\"0.1.0\\\""]
