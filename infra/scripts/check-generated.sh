#!/usr/bin/env bash
# Fails when the committed generated gRPC code differs from a fresh generation of proto/.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r control-plane/src/gen "$tmp/ts" && cp -r worker-py/gen "$tmp/py"
bash infra/scripts/gen-proto.sh
if ! diff -r "$tmp/ts" control-plane/src/gen >/dev/null || ! diff -r --exclude=__pycache__ "$tmp/py" worker-py/gen >/dev/null; then
  echo "generated gRPC code is stale: run 'make proto' and commit control-plane/src/gen and worker-py/gen" >&2
  rm -rf control-plane/src/gen worker-py/gen && cp -r "$tmp/ts" control-plane/src/gen && cp -r "$tmp/py" worker-py/gen
  exit 1
fi
echo "generated gRPC code is fresh"
