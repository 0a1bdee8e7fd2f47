#!/usr/bin/env bash
# Compiles the CLI to JavaScript (dist/cli/js/, gitignored) with esbuild, so that `bslora` starts without loading
# TypeScript through tsx. bin/bslora.js uses it while it is newer than every file under control-plane/src, and runs
# the TypeScript through tsx otherwise. Each command's heavy modules stay in their own chunks, loaded when the
# command runs. The output sits three folders below the repository root, as the sources do, so that the paths the
# code spells relative to its own file (`../../../proto/…`) mean the same in both.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=dist/cli/js
rm -rf "$out.tmp"
node_modules/.bin/esbuild control-plane/src/cli/main.ts \
  --bundle --splitting --format=esm --platform=node --target=node20 --packages=external \
  --outdir="$out.tmp" --entry-names='[name]' --chunk-names='[name]-[hash]' --log-level=warning
# The spec-checking thread's entry (parse-off-thread.ts starts `./parse-thread.mjs` beside itself): compiled too, so
# the compiled CLI's server does not need tsx to check a submitted spec.
node_modules/.bin/esbuild control-plane/src/sweep-specs/parse-thread.ts \
  --bundle --format=esm --platform=node --target=node20 --packages=external \
  --outfile="$out.tmp/parse-thread.mjs" --log-level=warning
rm -rf "$out"
mv "$out.tmp" "$out"
