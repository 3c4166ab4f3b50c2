#!/bin/bash
# ctest deploy.kubernetes_manifests: every manifest we ship passes the
# Kubernetes schema and the Pod Security profile of its namespace
# (check-manifests.mjs), every kustomize overlay builds and passes too, and
# the checker still refuses the manifests that broke before (testdata/).
set -u
here=$(cd "$(dirname "$0")" && pwd)
k8s=$(cd "$here/../kubernetes" && pwd)
fail=0
if [ ! -d "$here/node_modules/kubernetes-models" ]; then
  echo "FAIL: $here/node_modules is missing: scripts/install-deps runs npm ci there"
  exit 1
fi
check() {  # check NAME ARGS...: must pass
  local name=$1; shift
  if out=$(node "$here/check-manifests.mjs" "$@" 2>&1); then
    echo "ok   $name: $out"
  else
    echo "FAIL $name:"; echo "$out" | sed 's/^/     /'; fail=1
  fi
}
refuse() {  # refuse FILE EXPECTED...: must fail, naming each EXPECTED
  local file=$1; shift
  local out
  if out=$(node "$here/check-manifests.mjs" "$file" 2>&1); then
    echo "FAIL $file passed the checker"; fail=1; return
  fi
  for want in "$@"; do
    if ! grep -qF -- "$want" <<<"$out"; then
      echo "FAIL $file: no finding '$want' in:"; echo "$out" | sed 's/^/     /'; fail=1
    fi
  done
  [ $fail -eq 0 ] && echo "ok   $(basename "$file") refused ($(grep -c . <<<"$out") lines)"
}

mapfile -t files < <(find "$k8s" -name '*.yaml' ! -name kustomization.yaml | sort)
check "every manifest (${#files[@]} files)" "${files[@]}"

# kustomize is built into kubectl; Debian's archive does not carry kubectl,
# so where it is missing this part says so instead of passing in silence.
if command -v kubectl >/dev/null; then
  for overlay in "$k8s"/overlays/*/; do
    if rendered=$(kubectl kustomize "$overlay" 2>&1); then
      check "overlay $(basename "$overlay")" - <<<"$rendered"
    else
      echo "FAIL overlay $overlay does not build:"; echo "$rendered" | sed 's/^/     /'; fail=1
    fi
  done
  if out=$(kubectl kustomize "$k8s/overlays/ha-etcd" | node "$here/check-ha.mjs" 2>&1); then
    echo "ok   ha-etcd parts agree: $out"
  else
    echo "FAIL ha-etcd parts disagree:"; echo "$out" | sed 's/^/     /'; fail=1
  fi
  # The Prometheus Operator component on top of the single-node overlay.
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  rel=$(realpath --relative-to="$tmp" "$k8s")  # kustomize takes relative paths only
  cat >"$tmp/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [$rel/overlays/single-node]
components: [$rel/components/service-monitor]
YAML
  if rendered=$(kubectl kustomize --load-restrictor LoadRestrictionsNone "$tmp" 2>&1); then
    check "single-node + service-monitor" - <<<"$rendered"
  else
    echo "FAIL single-node + service-monitor does not build:"; echo "$rendered" | sed 's/^/     /'; fail=1
  fi
else
  echo "NOTE kubectl is not installed: the overlays were not built (their parts were checked above)"
fi

refuse "$here/testdata/wave1-pki.yaml" \
  "runAsUser must be a number" "seccompProfile must be RuntimeDefault" "resources.limits.memory missing"
refuse "$here/testdata/hostile-edge.yaml" \
  "containerPort must be integer" "baseline: hostPID" "hostPath volume /etc" \
  "adds capability SYS_ADMIN" "unknown field 'readOnlyRootFileSystem'"
exit $fail
