#!/usr/bin/env bash
# Regenerates the committed gRPC code from proto/ for both languages:
#   TypeScript (ts-proto, outputServices=grpc-js) → control-plane/src/gen/
#   Python (grpcio-tools)                        → worker-py/gen/ (with proto/trial-defaults.json and
#                                                   proto/method-versions.json beside the module)
# proto/grpc/health/v1 is generated for TypeScript only; Python uses the grpcio-health-checking package.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}


rm -rf control-plane/src/gen worker-py/gen/bslora_api
mkdir -p control-plane/src/gen worker-py/gen

"$PY" -m grpc_tools.protoc -I proto \
  --python_out=worker-py/gen --pyi_out=worker-py/gen --grpc_python_out=worker-py/gen \
  proto/bslora_api/worker/v1/worker_service.proto
# Make the generated tree regular packages so setuptools ships it.
for d in worker-py/gen/bslora_api worker-py/gen/bslora_api/worker worker-py/gen/bslora_api/worker/v1; do
  : > "$d/__init__.py"
done
# The contract's data files (defaults, method versions) ship with the generated package the worker imports.
cp proto/trial-defaults.json proto/method-versions.json worker-py/gen/bslora_api/worker/v1/

"$PY" -m grpc_tools.protoc -I proto \
  --plugin=protoc-gen-ts_proto=node_modules/.bin/protoc-gen-ts_proto \
  --ts_proto_out=control-plane/src/gen \
  --ts_proto_opt=outputServices=grpc-js,esModuleInterop=true,env=node,importSuffix=.js,useOptionals=none,forceLong=number,oneof=unions-value \
  proto/bslora_api/worker/v1/worker_service.proto grpc/health/v1/health.proto
