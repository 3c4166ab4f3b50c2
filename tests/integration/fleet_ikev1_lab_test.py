#!/usr/bin/env python3
"""The fleet over IKEv1, the protocol of every router in the seed guides:
  - `vpnfleet import ios` reads IOS as IOS means it: a hub configuration
    with crypto ikev2 proposal/policy/keyring/profile and a crypto isakmp
    entry imports with the entries' IKE versions, warnings that name what is
    not carried with their lines, and a file that is not IOS is refused;
  - the hub-and-spoke template written with crypto isakmp (a generated
    crypto isakmp key per pair) is rolled out through the controller: every
    edge negotiates Main Mode and Quick Mode, spoke1's LAN reaches spoke2's
    through the hub, and `show crypto isakmp sa --device hub` shows QM_IDLE
    for both spokes.
Exit 77 (skip) without root.
"""

import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))

from checks import Fail, check, wait_for  # noqa: E402
import fleet_demo  # noqa: E402
import vpnlab  # noqa: E402

IKEV2_HUB = os.path.join(HERE, "..", "..", "services", "controller", "ios", "testdata", "ikev2-hub.cfg")


def import_checks(op):
    r = op.run(["-o", "json", "import", "ios", IKEV2_HUB], check=False)
    check(r.returncode == 0, "the IOS 15 IKEv2 hub imports (exit %d: %s)" % (r.returncode, r.stderr.strip()))
    got = json.loads(r.stdout)
    versions = {}
    for m in got["policy"]["crypto_maps"]:
        for e in m["entries"]:
            versions["%s %s" % (m["name"], e["sequence"])] = e.get("ike_version")
    check(versions == {"ROAMERS 10": "IKE_VERSION_2", "WAN 10": "IKE_VERSION_2", "WAN 20": "IKE_VERSION_2",
                       "WAN 30": "IKE_VERSION_1", "WAN 100": None},
          "entries with set ikev2-profile are IKEv2, the crypto isakmp one IKEv1: %s" % versions)
    policies = got["policy"]["isakmp_policies"]
    check(len(policies) == 10 and policies[0].get("version") == "IKE_VERSION_1" and
          all(p.get("version") == "IKE_VERSION_2" for p in policies[1:]),
          "one IKEv1 policy and nine IKEv2 algorithm combinations")
    warned = sorted(int(d["line"]) for d in got.get("diagnostics", []))
    check(warned == [21, 43], "warnings name the lines not carried: %s" % warned)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write('{"devices": [{"name": "hub"}]}\n')
    try:
        r = op.run(["import", "ios", f.name], check=False)
    finally:
        os.unlink(f.name)
    check(r.returncode == 1 and "not an IOS configuration" in r.stderr,
          "a file that is not IOS is refused: %s" % r.stderr.strip())


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root for network namespaces")
        return 77
    lab = vpnlab.Lab("fv1%d" % (os.getpid() % 1000))
    core, edges = fleet_demo.build(lab)
    hub, spoke1, spoke2 = edges
    lab.up()
    try:
        _, ctl = fleet_demo.start_core(lab, secure=False)
        lans = [s.lan for s in edges]
        for s in edges:
            fleet_demo.start_edge(lab, s, lans, is_hub=s is hub, secure=False)
        op = fleet_demo.Operator(ctl)

        print("IOS import: crypto isakmp is IKEv1, crypto ikev2 is IKEv2")
        import_checks(op)

        print("the hub-and-spoke template over IKEv1 with a generated key per pair, rolled out")
        fleet_demo.register(op, core, edges, auth="psk", template=fleet_demo.TEMPLATE_IKEV1,
                            variables=fleet_demo.VARIABLES_IKEV1)
        rendered = op.run(["template", "render", "spoke1-vpn"]).stdout
        check("crypto isakmp key <hidden> address %s" % hub.wan_address in rendered,
              "spoke1's key for the hub is a crypto isakmp key (hidden)")
        r = op.run(["-o", "json", "rollout", "apply", "--canary", "1", "--batch", "2",
                    "--health_timeout", "60"], check=False)
        check(r.returncode == 0 and json.loads(r.stdout)["state"] == "ROLLOUT_STATE_SUCCEEDED",
              "the rollout succeeded (%s)" % (r.stderr.strip() or "ok"))
        wait_for(lambda: fleet_demo.ping(spoke1, spoke2, 3) == 3, 30, "spoke1 LAN -> spoke2 LAN via the hub")

        sas = op.json(["show", "crypto", "isakmp", "sa", "--device", "hub"]).get("ike_sas", [])
        v1 = [s for s in sas if s.get("version") == "IKE_VERSION_1" and s.get("state") == "IKE_SA_STATE_QM_IDLE"]
        check(len(v1) >= 2 and not [s for s in sas if s.get("version") != "IKE_VERSION_1"],
              "the hub holds IKEv1 SAs in QM_IDLE with both spokes and no IKEv2 SA (%d)" % len(v1))
        text = op.run(["show", "crypto", "isakmp", "sa", "--device", "hub"]).stdout
        check(text.count("QM_IDLE") >= 2, "show crypto isakmp sa prints QM_IDLE:\n%s" % text)
        print("PASS")
        return 0
    except Fail as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        lab.down()


if __name__ == "__main__":
    sys.exit(main())
