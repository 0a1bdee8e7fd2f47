#!/usr/bin/env bash
# Every test: the generated-code freshness check, the TypeScript type check and lint, Python tests (pytest),
# TypeScript unit and end-to-end tests (vitest, with a real Redis, real workers and real gRPC). Prints each runner's
# summary and one combined line; exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
mkdir -p test-artifacts
status=0

bash infra/scripts/ensure-test-redis.sh || exit 1

echo "== generated code"
bash infra/scripts/check-generated.sh || status=1

echo "== typecheck"
npx tsc --noEmit -p tsconfig.json || status=1

echo "== lint (biome.json: formatting and lint rules, then comment width; npm run format fixes most)"
npm run --silent lint || status=1

echo "== python (pytest)"
.venv/bin/python -m pytest worker-py/tests -q -p no:cacheprovider --junitxml=test-artifacts/pytest.xml
rc=$?; [ $rc -ne 0 ] && status=1

echo "== typescript (vitest)"
npx vitest run --reporter=default --reporter=junit --outputFile.junit=test-artifacts/vitest.xml || status=1

.venv/bin/python infra/scripts/sum-junit.py test-artifacts/pytest.xml test-artifacts/vitest.xml || status=1
exit $status
