#!/usr/bin/env bash
# Makes sure a Redis answers at BSLORA_TEST_REDIS_URL's port on 127.0.0.1 (default 6379) for the tests; starts one
# (no persistence, noeviction) when none does. Tests isolate themselves with a unique queue prefix each.
set -euo pipefail
PORT=${BSLORA_TEST_REDIS_PORT:-6379}
if redis-cli -p "$PORT" ping >/dev/null 2>&1; then
  exit 0
fi
redis-server --daemonize yes --bind 127.0.0.1 --port "$PORT" --save "" --appendonly no \
  --maxmemory-policy noeviction --dir /tmp --logfile "/tmp/bslora-test-redis-$PORT.log"
for _ in $(seq 50); do
  redis-cli -p "$PORT" ping >/dev/null 2>&1 && exit 0
  sleep 0.1
done
echo "redis-server did not answer on port $PORT" >&2
exit 1
