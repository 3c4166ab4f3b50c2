#!/bin/bash
# Builds the image with deploy/container/build and runs it as the manifests
# and units do:
#   - the image: numeric user 10001, no compiler, no strongSwan, no
#     set-user-ID file, the five binaries;
#   - the controller as user 10001 on a read-only root with no network
#     answers gRPC health over its socket (asked from inside the container);
#   - the dataplane with every capability dropped but NET_ADMIN, NET_RAW and
#     NET_BIND_SERVICE and /dev/net/tun as its only device opens its TUN in a
#     network namespace this test creates and answers health; without
#     NET_ADMIN it refuses to start with a clear error.
# Exit 77 (skipped) where podman or mmdebstrap is not installed.
#
#   deploy/container/image_test.sh BIN_DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../build/bin}
for tool in podman mmdebstrap; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespace, rootful podman)"; exit 77; }

id=$$
tag=localhost/vpnfleet-test:$id
ns=vfimg$id
work=$(mktemp -d)
containers=()
# crun refuses cgroup v1/hybrid hosts; runc runs everywhere Debian runs.
# Without CAP_SYS_RESOURCE podman cannot raise the default limits.
runopts=(--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=4096:4096
         --pull never --log-driver k8s-file)
cleanup() {
  for c in "${containers[@]}"; do podman rm -f -t 2 "$c" >/dev/null 2>&1; done
  podman rmi -f "$tag" >/dev/null 2>&1
  ip netns del "$ns" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

echo "== build"
start=$(date +%s)
if ! "$here/build" --tag "$tag" --bin "$bin" --out "$work/out" >"$work/build.log" 2>&1; then
  tail -30 "$work/build.log"
  echo "FAIL: deploy/container/build"
  exit 1
fi
echo "built in $(( $(date +%s) - start )) s, $(podman image inspect --format '{{.Size}}' "$tag") bytes"

user=$(podman image inspect --format '{{.Config.User}}' "$tag")
[ "$user" = 10001:10001 ] && pass "image user $user" || fail "image user is '$user', want 10001:10001"
pkgs=$work/out/packages.txt
n=$(wc -l <"$pkgs")
for p in gcc g++ cpp clang cmake make strongswan charon-systemd python3 apt; do
  if grep -q "^$p " "$pkgs"; then fail "package $p in the image"; fi
done
pass "$n runtime packages, no compiler, build tool, strongSwan, Python or apt"

run() { podman run "${runopts[@]}" "$@"; }
suid=$(run --rm --network none --user 0 "$tag" find / -xdev -type f -perm /6000 2>&1)
[ -z "$suid" ] && pass "no set-user-ID or set-group-ID file" || fail "set-ID files: $suid"
for d in vpnfleet vpnfleet-controller vpnfleet-pki vpnfleet-ike vpnfleet-dataplane etcd; do
  out=$(run --rm --network none "$tag" "$d" --version 2>&1) ||
    fail "$d --version in the image: $out"
done
pass "every binary starts in the image (its libraries are there)"

wait_serving() {  # container service
  local i out
  for i in $(seq 1 50); do
    out=$(podman exec "$1" vpnfleet status "$2" 2>&1) && { echo "$out"; return 0; }
    sleep 0.2
  done
  echo "$out"
  podman logs "$1" 2>&1 | tail -20
  return 1
}

echo "== controller as user 10001, read-only root, no network"
c=vfimg-controller-$id
containers+=("$c")
if run -d --name "$c" --network none --read-only --cap-drop=ALL \
     --security-opt no-new-privileges \
     --tmpfs /run/vpnfleet:U,mode=0755 --tmpfs /var/lib/vpnfleet:U,mode=0700 \
     "$tag" vpnfleet-controller --data_dir=/var/lib/vpnfleet \
       --grpc_socket=/run/vpnfleet/controller.sock --metrics_listen=127.0.0.1:9401 \
     >/dev/null; then
  if out=$(wait_serving "$c" controller); then
    echo "$out"
    echo "$out" | grep -q SERVING && pass "controller answers health as $(podman exec "$c" id -u)" ||
      fail "controller status: $out"
    uid=$(podman exec "$c" awk '/^Uid:/ {print $2 "/" $3}' /proc/1/status)
    [ "$uid" = 10001/10001 ] && pass "controller process runs as uid (real/effective) $uid" || fail "controller runs as '$uid'"
  else
    fail "controller never answered: $out"
  fi
else
  fail "podman run of the controller"
fi

echo "== dataplane with NET_ADMIN, NET_RAW, NET_BIND_SERVICE and /dev/net/tun in namespace $ns"
ip netns add "$ns" || { fail "ip netns add"; exit 1; }
ip -n "$ns" link set lo up
edge=(--network "ns:/run/netns/$ns" --read-only --user 0 --cap-drop=ALL
      --security-opt no-new-privileges --device /dev/net/tun --tmpfs /run/vpnfleet)
d=vfimg-dataplane-$id
containers+=("$d")
if run -d --name "$d" "${edge[@]}" --cap-add=NET_ADMIN,NET_RAW,NET_BIND_SERVICE \
     "$tag" vpnfleet-dataplane --tun vf0 --grpc_socket=/run/vpnfleet/dataplane.sock \
       --metrics_listen=127.0.0.1:9404 >/dev/null; then
  if out=$(wait_serving "$d" dataplane); then
    echo "$out" | grep -q SERVING && pass "dataplane answers health" || fail "dataplane status: $out"
    if ip -n "$ns" link show vf0 >/dev/null 2>&1; then
      pass "vf0 is up in $ns: $(ip -n "$ns" -o link show vf0 | awk '{print $2, $3}')"
    else
      fail "no vf0 in $ns"
    fi
    caps=$(podman exec "$d" grep CapEff /proc/1/status | awk '{print $2}')
    # NET_BIND_SERVICE (10), NET_ADMIN (12), NET_RAW (13): 0x3400.
    [ "$caps" = 0000000000003400 ] && pass "effective capabilities $caps (exactly the three)" ||
      fail "effective capabilities $caps, want 0000000000003400"
  else
    fail "dataplane never answered: $out"
  fi
else
  fail "podman run of the dataplane"
fi

echo "== dataplane without NET_ADMIN"
n=vfimg-dataplane-nocap-$id
containers+=("$n")
out=$(timeout 30 podman run "${runopts[@]}" --name "$n" "${edge[@]}" --cap-add=NET_RAW \
        "$tag" vpnfleet-dataplane --tun vf1 --grpc_socket=/run/vpnfleet/dataplane.sock \
        --metrics_listen=none 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -qi "vf1\|tun"; then
  pass "refused to start (exit $rc): $(echo "$out" | grep -i 'vf1\|tun' | head -1)"
else
  fail "dataplane without NET_ADMIN: exit $rc: $out"
fi

if [ $failures -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
echo "all container checks passed"
