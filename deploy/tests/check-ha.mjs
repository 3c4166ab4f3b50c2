// The HA overlay's parts agree with each other (what no schema checks):
//   - the controller's --store names exactly the members the etcd
//     StatefulSet makes (POD.SERVICE.NAMESPACE.svc:2379 for each replica);
//   - the files its --etcd_*, --secret_key and --tls_* flags name sit on
//     volumes it mounts from Secrets;
//   - more than one controller replica only with an etcd store, and a
//     PodDisruptionBudget for each set that keeps a quorum.
// Usage: kubectl kustomize overlays/ha-etcd | node check-ha.mjs
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const objs = parseAllDocuments(readFileSync(0, "utf8")).map((d) => d.toJS()).filter(Boolean);
const find = (kind, name) => objs.find((o) => o.kind === kind && o.metadata.name === name);
const out = [];
const ctl = find("Deployment", "vpnfleet-controller");
const etcd = find("StatefulSet", "vpnfleet-etcd");
if (!ctl || !etcd) {
  console.log("the overlay has no vpnfleet-controller Deployment or no vpnfleet-etcd StatefulSet");
  process.exit(1);
}
const c = ctl.spec.template.spec.containers.find((x) => x.name === "controller");
const flag = (name) => {
  const a = (c.args || []).find((x) => x.startsWith(`--${name}=`));
  return a && a.slice(name.length + 3);
};
const store = flag("store") || "";
if (!store.startsWith("etcd:")) out.push(`controller --store is '${store}', not etcd:`);
if (ctl.spec.replicas < 2 || ctl.spec.replicas % 2 === 0) out.push(`controller replicas ${ctl.spec.replicas}: want an odd number > 1`);
const want = [];
for (let i = 0; i < etcd.spec.replicas; i++) {
  want.push(`${etcd.metadata.name}-${i}.${etcd.spec.serviceName}.${etcd.metadata.namespace}.svc:2379`);
}
const got = store.replace(/^etcd:/, "").split(",");
if (got.join(",") !== want.join(",")) out.push(`--store names ${got.join(",")}; the StatefulSet makes ${want.join(",")}`);
if (!find("Service", etcd.spec.serviceName)) out.push(`no Service ${etcd.spec.serviceName} for the etcd members' names`);
const mounts = c.volumeMounts || [];
const volumes = ctl.spec.template.spec.volumes || [];
for (const f of ["etcd_ca", "etcd_cert", "etcd_key", "secret_key", "tls_cert", "tls_key", "tls_ca"]) {
  const path = flag(f);
  if (!path) {
    out.push(`controller has no --${f}`);
    continue;
  }
  const m = mounts.find((x) => path.startsWith(x.mountPath + "/"));
  const v = m && volumes.find((x) => x.name === m.name);
  if (!v || !v.secret) out.push(`--${f}=${path} is not on a volume from a Secret`);
}
for (const set of [ctl, etcd]) {
  const pdb = objs.find((o) => o.kind === "PodDisruptionBudget" &&
    o.spec.selector.matchLabels["app.kubernetes.io/name"] === set.metadata.name);
  if (!pdb) out.push(`no PodDisruptionBudget for ${set.metadata.name}`);
  else if (pdb.spec.maxUnavailable !== 1) out.push(`${pdb.metadata.name}: maxUnavailable ${pdb.spec.maxUnavailable}, want 1`);
}
for (const f of out) console.log(f);
if (out.length) process.exit(1);
console.log(`controller x${ctl.spec.replicas} on etcd x${etcd.spec.replicas}: names, Secrets and budgets agree`);
