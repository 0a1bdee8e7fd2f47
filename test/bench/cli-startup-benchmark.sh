#!/usr/bin/env bash
# Startup time of the CLI, side by side: `--help`, `--version`, `sweep list` and `sweep status <id>` against a
# running control plane (`bslora serve` on a free port, its own queue prefix), measured by hyperfine for this
# checkout and, optionally, for another checkout of the repository (a baseline, e.g. `git archive <commit>` unpacked
# with node_modules linked). Results: docs/benchmarks.md, "CLI startup".
#
#   bash test/bench/cli-startup-benchmark.sh HOME_WITH_A_STORE SWEEP_ID [BASELINE_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
home=$1 sweep=$2 baseline=${3:-}
port=$(node -e 'const s=require("net").createServer().listen(0,()=>{console.log(s.address().port);s.close()})')
prefix="bslora-bench-cli-$$"
BSLORA_HOME=$home BSLORA_PORT=$port BSLORA_PREFIX=$prefix node bin/bslora.js serve >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; redis-cli --scan --pattern "$prefix:*" | xargs -r redis-cli del >/dev/null' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.3; done
export BSLORA_HOME=$home BSLORA_API_URL="http://127.0.0.1:$port"
args=()
for dir in . ${baseline:+"$baseline"}; do
  label=$([ "$dir" = . ] && echo now || echo baseline)
  args+=(-n "$label --help" "node $dir/bin/bslora.js --help")
  args+=(-n "$label --version" "node $dir/bin/bslora.js --version")
  args+=(-n "$label sweep list" "node $dir/bin/bslora.js sweep list")
  args+=(-n "$label sweep status" "node $dir/bin/bslora.js sweep status $sweep")
done
hyperfine --warmup 2 --runs "${RUNS:-15}" -N --export-markdown "${OUT:-/dev/stdout}" "${args[@]}" -n "node -e 0" "node -e 0"
