#!/bin/bash
# ctest proto.buf_lint / proto.buf_breaking (buf.yaml says what and why).
#   buf_test.sh lint       buf lint of our APIs
#   buf_test.sh breaking   the protos as they are against the previous
#                          commit's: a change that would break v1 clients fails
set -u
here=$(cd "$(dirname "$0")" && pwd)
buf=$here/../deploy/tests/node_modules/.bin/buf
if [ ! -x "$buf" ]; then
  echo "FAIL: $buf is missing: scripts/install-deps runs npm ci in deploy/tests"
  exit 1
fi
cd "$here"
case "${1:-}" in
  lint)
    "$buf" lint && echo "ok   buf lint: $(find vpnfleet -name '*.proto' | wc -l) files"
    ;;
  breaking)
    top=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null) || { echo "SKIP: not a git checkout"; exit 77; }
    if ! git -C "$top" rev-parse -q --verify HEAD~1 >/dev/null; then
      echo "SKIP: no previous commit to compare with (a shallow clone?)"
      exit 77
    fi
    rel=$(realpath --relative-to="$here" "$top")
    # gRPC's own protocols (grpc/) are excluded on both sides.
    "$buf" breaking --against "$rel/.git#subdir=proto,ref=HEAD~1" --exclude-path grpc &&
      echo "ok   buf breaking: no change breaks v1 clients since $(git -C "$top" rev-parse --short HEAD~1)"
    ;;
  *)
    echo "usage: buf_test.sh lint|breaking" >&2
    exit 2
    ;;
esac
