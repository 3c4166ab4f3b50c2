#!/bin/sh
echo "coverage is not available in the offline bazel build" >&2
exit 1
