#!/usr/bin/env python3
"""A real Prometheus (Debian's) scrapes the lab's daemons with 1,000 tunnels up.

Sites: `core` (controller, PKI and Prometheus), `hub` and `spoke` (IKE daemon
and dataplane each). The hub and the spoke get 1,000 crypto map entries each,
one host pair per entry, and every entry is initiated: 1,000 CHILD SA pairs
(2,000 SAs in each dataplane). Checked:
  - Prometheus, loading deploy/prometheus/vpnfleet-rules.yml, has every
    target up;
  - every series selector in the alert and recording rules and in the
    Grafana dashboard matches series (so no alert or panel waits for a first
    event to have something to read), and every rule evaluates without error;
  - each daemon's series count with 1,000 tunnels stays under a fixed bound
    and within a few series of what it was with none: series do not grow
    with tunnels.
Exit 77 (skip) without root or without the prometheus binary.
"""

import base64
import json
import os
import re
import shutil
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(HERE, "..", "lab"))

from checks import Fail, check, wait_for  # noqa: E402
import fleet  # noqa: E402
import vpnlab  # noqa: E402

TUNNELS = 1000
PSK = base64.b64encode(b"prometheus-lab-psk").decode()
# Series one daemon may export, whatever the number of tunnels; and how many
# more 1,000 tunnels may add (label values that appear with the first SA:
# the crypto map's two traffic series and the like).
MAX_SERIES = {"controller": 200, "pki": 200, "ike": 300, "dataplane": 300}
MAX_GROWTH = 12
RULES = os.path.join(ROOT, "deploy", "prometheus", "vpnfleet-rules.yml")
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "vpnfleet-services.json")


def host(lan_index, i):
    """The i-th host pair address on LAN 10.<lan_index>.0.0/16 (i from 0)."""
    return "10.%d.%d.%d" % (lan_index, 1 + i // 250, 1 + i % 250)


def edge_config(me, peer, peer_wan, trustpoint=None):
    """`me`/`peer`: LAN indexes. One crypto map entry per host pair."""
    acls, entries = [], []
    for i in range(TUNNELS):
        name = "T%d" % i
        acls.append({"name": name, "entries": [{
            "sequence": 10, "action": "ACL_ACTION_PERMIT",
            "match": {"source": {"address": host(me, i), "length": 32},
                      "destination": {"address": host(peer, i), "length": 32}}}]})
        entries.append({"sequence": i + 1, "kind": "CRYPTO_MAP_KIND_IPSEC_ISAKMP", "match_address": name,
                        "peers": [peer_wan], "transform_sets": ["GCM"]})
    c = {
        "globals": {"identity": "ISAKMP_IDENTITY_ADDRESS"},
        "isakmp_policies": [{"priority": 10, "encryption": "ENCRYPTION_AES_GCM_256",
                             "hash": "PRF_HMAC_SHA2_256", "group": "DH_GROUP_CURVE25519",
                             "authentication": "AUTH_METHOD_PRE_SHARE"}],
        "transform_sets": [{"name": "GCM", "esp_encryption": "ENCRYPTION_AES_GCM_128"}],
        "access_lists": acls,
        "crypto_maps": [{"name": "FLEET", "interfaces": ["wan0"], "entries": entries}],
        "pre_shared_keys": [{"address": {"address": peer_wan, "length": 32}, "key": PSK}],
    }
    if trustpoint:
        c["trustpoints"] = [{"name": trustpoint}]
    return c


PROMQL_WORDS = {"sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
                "count_values", "group", "rate", "irate", "increase", "delta", "histogram_quantile", "time",
                "label_values", "abs", "clamp_min", "clamp_max", "vector", "scalar"}


def selectors(expr):
    """Series selectors of a PromQL expression: metric names with their label
    matchers, the dashboard's $variables widened to match anything."""
    expr = expr.replace("$job", ".*").replace("${job}", ".*")
    out = []
    for m in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?", expr):
        name, labels = m.group(1), m.group(2) or ""
        after = expr[m.end():].lstrip()[:1]
        if after == "(" or name in ("by", "without", "on", "ignoring", "group_left", "group_right",
                                    "bool", "and", "or", "unless", "offset", "le", "humanizeDuration"):
            continue  # a function or a keyword
        if re.fullmatch(r"[0-9.]+", name) or name in PROMQL_WORDS:
            continue
        # Inside braces or a range: label names and durations are not metrics.
        before = expr[:m.start()]
        if before.count("{") > before.count("}") or before.count("[") > before.count("]"):
            continue
        if before.rstrip().endswith(("by (", "by(", "without (", "without(")) or re.search(
                r"(by|without)\s*\([^)]*$", before):
            continue
        # Negative matchers (grpc_code!~"OK|...") pick the values an event
        # adds (an RPC failing with a new code); the series they narrow must
        # exist, which is what the positive matchers say.
        kept = [lm.strip() for lm in labels.strip("{}").split(",") if lm.strip() and not re.search(r"!~|!=", lm)]
        out.append(name + ("{%s}" % ",".join(kept) if kept else ""))
    return out


def rule_expressions():
    import yaml  # Debian's python3-yaml
    with open(RULES) as f:
        groups = yaml.safe_load(f)["groups"]
    return [(r.get("alert") or r.get("record"), r["expr"]) for g in groups for r in g["rules"]]


def dashboard_expressions():
    with open(DASHBOARD) as f:
        d = json.load(f)
    out = [(p["title"], t["expr"]) for p in d["panels"] for t in p.get("targets", [])]
    for v in d["templating"]["list"]:
        q = v.get("query")
        if isinstance(q, dict) and "label_values(" in q.get("query", ""):
            metric = re.search(r"label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)", q["query"]).group(1)
            out.append(("variable " + v["name"], metric))
    return out


def series_names(text):
    """Each sample's series (name and labels), without its value."""
    return [line.rsplit(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")]


def series_count(text):
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root for network namespaces")
        return 77
    prometheus = shutil.which("prometheus")
    if not prometheus:
        print("SKIP: Debian's prometheus is not installed (scripts/install-deps installs it)")
        return 77
    import grpcapi
    lab = vpnlab.Lab("prom%d" % (os.getpid() % 1000))
    core = lab.add_site("core")
    hub = lab.add_site("hub", lan="10.1.0.0/16")
    spoke = lab.add_site("spoke", lan="10.2.0.0/16")
    lab.up()
    try:
        pki = fleet.start(lab, "core", "pki", ["--insecure"], tls="self")
        controller = fleet.start(lab, "core", "controller", ["--pki=unix:" + pki["socket"]])
        daemons = {("core", "pki"): pki, ("core", "controller"): controller}
        apis = {}
        for site in (hub, spoke):
            punt = os.path.join(site.dir, "dp-punt.sock")
            dp = fleet.start(lab, site.name, "dataplane", ["--tun=vf0", "--ike_punt_socket=" + punt])
            ike = fleet.start(lab, site.name, "ike", [
                "--dataplane=unix:" + dp["socket"], "--dataplane_punt=" + punt,
                "--punt_socket=" + os.path.join(site.dir, "ike-punt.sock"),
                "--trustpoint_check_interval=1s"])
            daemons[(site.name, "dataplane")] = dp
            daemons[(site.name, "ike")] = ike
            apis[site.name] = grpcapi.Ike("unix:" + ike["socket"])

        # The hub's own certificate, as an enrolled trustpoint would hold it:
        # the expiry gauge the certificate alerts read.
        tp_dir = os.path.join(hub.dir, "ike-pki", "fleet")
        files = fleet.issue_identity(pki, "edge", "hub", tp_dir)
        check(os.path.exists(files["cert"]), "the hub has a certificate in trustpoint 'fleet'")

        print("configuring %d crypto map entries on each edge and initiating them" % TUNNELS)
        t0 = time.time()
        apis["hub"].call("ReplaceConfig", {"config": edge_config(1, 2, spoke.wan_address, "fleet")})
        apis["spoke"].call("ReplaceConfig", {"config": edge_config(2, 1, hub.wan_address)})

        def bring_up(start, n):
            for i in range(start, n):
                apis["spoke"].call("Initiate", {"crypto_map": "FLEET", "sequence": i + 1})
            wait_for(lambda: all(len(apis[s].call("ListChildSas", {}).get("child_sas", [])) == n
                                 for s in ("hub", "spoke")), 180, "%d CHILD SA pairs on both edges" % n)
            # Installs into the dataplanes go on off the IKE engine's thread.
            for site in ("hub", "spoke"):
                dp = grpcapi.Dataplane("unix:" + daemons[(site, "dataplane")]["socket"])
                wait_for(lambda: len(dp.call("ListSas", {}).get("sas", [])) == 2 * n, 120,
                         "the %s's dataplane holds %d SAs" % (site, 2 * n))
                dp.close()

        # A few tunnels first: every RPC and event kind has happened once,
        # so what the next 990 add is what grows with tunnels.
        few = 10
        bring_up(0, few)
        before = {k: lab.scrape(k[0], *d["metrics"]) for k, d in daemons.items()}
        bring_up(few, TUNNELS)
        print("  %d tunnels up in %.1f s" % (TUNNELS, time.time() - t0))

        after = {k: lab.scrape(k[0], *d["metrics"]) for k, d in daemons.items()}
        for k in daemons:
            name = "%s %s" % k
            n_before, n_after = series_count(before[k]), series_count(after[k])
            check(n_after <= MAX_SERIES[k[1]], "%s: %d series with %d tunnels (bound %d)" % (
                name, n_after, TUNNELS, MAX_SERIES[k[1]]))
            new_series = sorted(set(series_names(after[k])) - set(series_names(before[k])))
            check(len(new_series) <= MAX_GROWTH, "%s: %d series with %d tunnels, %d with %d%s" % (
                name, n_before, few, n_after, TUNNELS, "" if not new_series else
                " (new: %s)" % ", ".join(new_series[:20])))

        print("Prometheus scrapes every daemon and evaluates the rules")
        prom_dir = os.path.join(core.dir, "prometheus")
        os.makedirs(prom_dir, exist_ok=True)
        jobs = {}
        for (site_name, service), d in daemons.items():
            jobs.setdefault("vpnfleet-" + service, []).append("%s:%d" % d["metrics"])
        config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                  "rule_files": [os.path.abspath(RULES)],
                  "scrape_configs": [{"job_name": j, "static_configs": [{"targets": t}]}
                                     for j, t in sorted(jobs.items())]}
        with open(os.path.join(prom_dir, "prometheus.yml"), "w") as f:
            json.dump(config, f)  # JSON is YAML
        listen = "%s:9090" % core.local_address
        lab.spawn(core, "prometheus", [prometheus, "--config.file=" + os.path.join(prom_dir, "prometheus.yml"),
                                       "--storage.tsdb.path=" + os.path.join(prom_dir, "data"),
                                       "--web.listen-address=" + listen])

        def query(q):
            body = lab.scrape(core, core.local_address, 9090, "/api/v1/query?query=" + urllib.parse.quote(q))
            r = json.loads(body)
            if r.get("status") != "success":
                raise Fail("query %s: %s" % (q, body[:200]))
            return r["data"]["result"]

        def all_up():
            try:
                res = query('up{job=~"vpnfleet-.*"}')
            except (Fail, vpnlab.LabError, ValueError):
                return False
            return len(res) == len(daemons) and all(s["value"][1] == "1" for s in res)
        wait_for(all_up, 60, "Prometheus has all %d targets up" % len(daemons))
        time.sleep(3)  # a few evaluations of the rules

        missing = []
        checked = 0
        for source, expressions in (("rule", rule_expressions()), ("dashboard", dashboard_expressions())):
            for what, expr in expressions:
                for sel in selectors(expr):
                    checked += 1
                    if not query("count(%s)" % sel):
                        missing.append("%s %s: %s" % (source, what, sel))
        check(not missing, "every selector of the rules and dashboard (%d) matches series%s" % (
            checked, "" if not missing else ": missing " + "; ".join(missing)))
        rules = json.loads(lab.scrape(core, core.local_address, 9090, "/api/v1/rules"))
        bad = [r["name"] + ": " + r.get("lastError", "") for g in rules["data"]["groups"] for r in g["rules"]
               if r.get("health") != "ok"]
        check(not bad, "every rule evaluates (%s)" % ("; ".join(bad) or "all healthy"))
        # (Recorded series have no instance label: they are left out here.)
        per_job = {s["metric"]["instance"]: int(s["value"][1])
                   for s in query('count by (instance) ({job=~"vpnfleet-.*"})') if "instance" in s["metric"]}
        print("  series per target as Prometheus stores them: %s" % per_job)
        for (site_name, service), d in daemons.items():
            n = per_job.get("%s:%d" % d["metrics"], 0)
            check(n <= MAX_SERIES[service] + 10, "%s %s: %d series in Prometheus" % (site_name, service, n))
        for api in apis.values():
            api.close()
        print("PASS")
        return 0
    except Fail as e:
        print("FAIL:", e)
        vpnlab.print_log_tails((core, hub, spoke), ("ike", "dataplane", "controller", "pki", "prometheus"),
                               lines=20)
        return 1
    finally:
        lab.down()


if __name__ == "__main__":
    sys.exit(main())
