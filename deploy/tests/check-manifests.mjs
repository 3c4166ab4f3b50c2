// Checks Kubernetes manifests the way an API server with Pod Security
// admission would, before anyone applies them:
//   - every object against the Kubernetes (and Prometheus Operator) schema
//     of the kubernetes-models packages;
//   - every pod template against the Pod Security Standards of its
//     namespace's `pod-security.kubernetes.io/enforce` label (baseline and
//     restricted, as the Kubernetes documentation lists them), with the edge
//     exceptions below and nothing else;
//   - the project's own rules: numeric runAsUser (a named image USER cannot
//     be checked against runAsNonRoot), resources on every container, a
//     read-only root file system, probes, no service account token.
//
// Usage: node check-manifests.mjs FILE.yaml... | -   (- reads stdin, e.g. a
// `kubectl kustomize` output). Prints one line per finding and exits 1 if
// there is any; 0 with a summary otherwise.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

// What edges may have beyond the restricted profile (deploy/kubernetes/edge):
// checked, so a new hostPath or capability is a finding, not a surprise.
const EXCEPTIONS = {
  "vpnfleet-edge": {
    hostNetwork: true,
    hostPaths: { "/dev/net/tun": "CharDevice" },
    runAsRoot: true,
    capabilities: ["NET_ADMIN", "NET_RAW", "NET_BIND_SERVICE"],
  },
};

const BASELINE_CAPABILITIES = new Set([
  "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
  "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
]);
const RESTRICTED_VOLUMES = new Set([
  "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
]);
const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
]);
// Fields a typo would silently drop (the schemas accept unknown fields).
const POD_SECURITY_FIELDS = new Set([
  "appArmorProfile", "fsGroup", "fsGroupChangePolicy", "runAsGroup", "runAsNonRoot", "runAsUser",
  "seLinuxChangePolicy", "seLinuxOptions", "seccompProfile", "supplementalGroups",
  "supplementalGroupsPolicy", "sysctls", "windowsOptions",
]);
const CONTAINER_SECURITY_FIELDS = new Set([
  "allowPrivilegeEscalation", "appArmorProfile", "capabilities", "privileged", "procMount",
  "readOnlyRootFilesystem", "runAsGroup", "runAsNonRoot", "runAsUser", "seLinuxOptions",
  "seccompProfile", "windowsOptions",
]);
const WORKLOADS = { Deployment: true, DaemonSet: true, StatefulSet: true, Job: true, ReplicaSet: true };

function modulePath(apiVersion, kind) {
  if (apiVersion === "monitoring.coreos.com/v1") {
    return `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${kind}`;
  }
  return `kubernetes-models/${apiVersion}/${kind}`;
}

async function schemaErrors(obj) {
  let Model;
  try {
    Model = (await import(modulePath(obj.apiVersion, obj.kind)))[obj.kind];
  } catch (e) {
    return [`no schema for ${obj.apiVersion} ${obj.kind}`];
  }
  try {
    new Model(obj).validate();
    return [];
  } catch (e) {
    return [String(e.message).split("\n").slice(0, 5).join("; ")];
  }
}

function unknownFields(what, obj, known) {
  return Object.keys(obj || {}).filter((k) => !known.has(k)).map((k) => `${what}: unknown field '${k}'`);
}

// Pod Security Standards (baseline, restricted) for one pod spec.
function podSecurity(spec, level, exceptions) {
  const out = [];
  const ex = exceptions || {};
  const psc = spec.securityContext || {};
  const containers = [...(spec.initContainers || []), ...(spec.containers || []),
    ...(spec.ephemeralContainers || [])];
  out.push(...unknownFields("pod securityContext", psc, POD_SECURITY_FIELDS));
  // baseline
  for (const f of ["hostPID", "hostIPC"]) if (spec[f]) out.push(`baseline: ${f}`);
  if (spec.hostNetwork && !ex.hostNetwork) out.push("baseline: hostNetwork");
  for (const v of spec.volumes || []) {
    if (v.hostPath) {
      const want = (ex.hostPaths || {})[v.hostPath.path];
      if (!want) out.push(`baseline: hostPath volume ${v.hostPath.path}`);
      else if (v.hostPath.type !== want) out.push(`hostPath ${v.hostPath.path} must be type ${want}`);
    }
  }
  for (const s of psc.sysctls || []) if (!SAFE_SYSCTLS.has(s.name)) out.push(`baseline: sysctl ${s.name}`);
  if (psc.seccompProfile && psc.seccompProfile.type === "Unconfined") out.push("baseline: seccomp Unconfined");
  for (const c of containers) {
    const sc = c.securityContext || {};
    const who = `container ${c.name}`;
    out.push(...unknownFields(`${who} securityContext`, sc, CONTAINER_SECURITY_FIELDS));
    if (sc.privileged) out.push(`baseline: ${who} is privileged`);
    for (const p of c.ports || []) if (p.hostPort && !spec.hostNetwork) out.push(`baseline: ${who} hostPort`);
    if (sc.procMount && sc.procMount !== "Default") out.push(`baseline: ${who} procMount`);
    if (sc.seccompProfile && sc.seccompProfile.type === "Unconfined") out.push(`baseline: ${who} seccomp Unconfined`);
    const add = (sc.capabilities && sc.capabilities.add) || [];
    for (const cap of add) {
      const allowed = (ex.capabilities || []).includes(cap) ||
        (level !== "restricted" && BASELINE_CAPABILITIES.has(cap)) || cap === "NET_BIND_SERVICE";
      if (!allowed) out.push(`${level}: ${who} adds capability ${cap}`);
    }
  }
  if (level !== "restricted") return out;
  // restricted
  for (const v of spec.volumes || []) {
    const type = Object.keys(v).find((k) => k !== "name");
    if (!RESTRICTED_VOLUMES.has(type) && !(type === "hostPath" && (ex.hostPaths || {})[v.hostPath.path])) {
      out.push(`restricted: volume ${v.name} of type ${type}`);
    }
  }
  const podSeccomp = psc.seccompProfile && psc.seccompProfile.type;
  for (const c of containers) {
    const sc = c.securityContext || {};
    const who = `container ${c.name}`;
    if (sc.allowPrivilegeEscalation !== false) out.push(`restricted: ${who} allowPrivilegeEscalation must be false`);
    const drop = (sc.capabilities && sc.capabilities.drop) || [];
    if (!drop.includes("ALL")) out.push(`restricted: ${who} must drop capability ALL`);
    const seccomp = (sc.seccompProfile && sc.seccompProfile.type) || podSeccomp;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") {
      out.push(`restricted: ${who} seccompProfile must be RuntimeDefault or Localhost`);
    }
    const nonRoot = sc.runAsNonRoot !== undefined ? sc.runAsNonRoot : psc.runAsNonRoot;
    const uid = sc.runAsUser !== undefined ? sc.runAsUser : psc.runAsUser;
    if (ex.runAsRoot) continue;
    if (nonRoot !== true) out.push(`restricted: ${who} runAsNonRoot must be true`);
    if (uid === 0) out.push(`restricted: ${who} runAsUser 0`);
    // Ours: the kubelet refuses runAsNonRoot with a named image USER unless
    // the uid is given here.
    if (typeof uid !== "number") out.push(`${who}: runAsUser must be a number (the image's numeric user)`);
  }
  return out;
}

// The project's rules for every container we ship.
function projectRules(spec) {
  const out = [];
  if (spec.automountServiceAccountToken !== false) out.push("automountServiceAccountToken must be false");
  if (!spec.serviceAccountName) out.push("serviceAccountName must be set (not the namespace default)");
  for (const c of spec.containers || []) {
    const who = `container ${c.name}`;
    const r = c.resources || {};
    for (const k of ["cpu", "memory"]) {
      if (!(r.requests && r.requests[k])) out.push(`${who}: resources.requests.${k} missing`);
    }
    if (!(r.limits && r.limits.memory)) out.push(`${who}: resources.limits.memory missing`);
    if (!(c.securityContext && c.securityContext.readOnlyRootFilesystem === true)) {
      out.push(`${who}: readOnlyRootFilesystem must be true`);
    }
    if (!c.readinessProbe || !c.livenessProbe) out.push(`${who}: readiness and liveness probes missing`);
  }
  return out;
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length === 0) {
    console.error("usage: check-manifests.mjs FILE.yaml... | -");
    process.exit(2);
  }
  const docs = [];
  for (const a of args) {
    const text = readFileSync(a === "-" ? 0 : a, "utf8");
    for (const d of parseAllDocuments(text)) {
      if (d.errors.length) {
        docs.push({ where: a, error: d.errors.map((e) => e.message).join("; ") });
        continue;
      }
      const obj = d.toJS();
      if (obj) docs.push({ where: a, obj });
    }
  }
  const namespaces = {};
  for (const { obj } of docs) {
    if (obj && obj.kind === "Namespace") namespaces[obj.metadata.name] = (obj.metadata.labels || {});
  }
  const findings = [];
  let objects = 0, pods = 0;
  for (const { where, obj, error } of docs) {
    if (error) {
      findings.push(`${where}: YAML: ${error}`);
      continue;
    }
    if (obj.kind === "Kustomization" || obj.kind === "Component") continue;
    objects++;
    const name = `${where}: ${obj.kind} ${obj.metadata && obj.metadata.namespace ? obj.metadata.namespace + "/" : ""}${obj.metadata && obj.metadata.name}`;
    for (const e of await schemaErrors(obj)) findings.push(`${name}: schema: ${e}`);
    if (!WORKLOADS[obj.kind]) continue;
    pods++;
    const ns = obj.metadata.namespace;
    const labels = namespaces[ns];
    if (!labels) {
      findings.push(`${name}: namespace ${ns} is not among the manifests checked with it`);
      continue;
    }
    const level = labels["pod-security.kubernetes.io/enforce"];
    const exceptions = EXCEPTIONS[ns];
    if (level !== "restricted" && !(level === "privileged" && exceptions)) {
      findings.push(`${name}: namespace ${ns} enforces '${level}', not restricted (and has no listed exceptions)`);
    }
    const spec = ((obj.spec || {}).template || {}).spec || {};
    for (const f of podSecurity(spec, "restricted", exceptions)) findings.push(`${name}: ${f}`);
    for (const f of projectRules(spec)) findings.push(`${name}: ${f}`);
  }
  for (const f of findings) console.log(f);
  if (findings.length) {
    console.log(`${findings.length} finding(s) in ${objects} object(s)`);
    process.exit(1);
  }
  console.log(`${objects} object(s), ${pods} workload(s): schema and Pod Security (restricted) pass`);
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(2);
});
