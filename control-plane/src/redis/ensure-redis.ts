/**
 * Makes sure a Redis answers at the configured URL: uses one that answers, or starts a local `redis-server` (from
 * Debian's `redis-server` package) with `noeviction` and AOF. Refuses a Redis that may evict BullMQ's keys.
 */
import { execa, type ResultPromise } from 'execa';
import { mkdirSync } from 'node:fs';
import { Redis } from 'ioredis';
import { fileURLToPath } from 'node:url';
import { ControlPlaneError } from '../errors.js';

/** The Redis configuration bslora needs (noeviction, AOF), shared by `bslora up` and the fault tests. */
export const REDIS_CONF = fileURLToPath(new URL('../../../infra/redis/redis.conf', import.meta.url));

export interface RedisHandle {
  url: string;
  /** pid of the redis-server this process started (null when it used one already running). */
  pid: number | null;
  /** True when this process started the server (and will stop it). */
  started: boolean;
  stop(): Promise<void>;
}

export async function pingRedis(url: string, timeoutMs = 1_000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** BullMQ loses jobs when Redis evicts keys under memory pressure: only `noeviction` is safe. */
export async function checkEvictionPolicy(url: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const [, policy] = (await client.config('GET', 'maxmemory-policy')) as [string, string];
    if (policy !== 'noeviction') {
      throw new ControlPlaneError(
        'CP_ERR_REDIS_EVICTION_POLICY',
        `Redis at ${url} has maxmemory-policy '${policy}'; BullMQ needs 'noeviction'. ` +
          `Fix: redis-cli -u ${url} CONFIG SET maxmemory-policy noeviction (and set it in redis.conf)`,
      );
    }
  } finally {
    client.disconnect();
  }
}

export async function ensureRedis(url: string, dataDir: string): Promise<RedisHandle> {
  if (await pingRedis(url)) {
    await checkEvictionPolicy(url);
    return { url, started: false, pid: null, stop: async () => {} };
  }
  const parsed = new URL(url);
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(parsed.hostname)) {
    throw new ControlPlaneError(
      'CP_ERR_REDIS_UNAVAILABLE',
      `no Redis answers at ${url}, and it is not local, so it cannot be started here`,
    );
  }
  mkdirSync(dataDir, { recursive: true });
  let child: ResultPromise;
  try {
    // infra/redis/redis.conf carries the production settings (noeviction, AOF); port and dir are per instance.
    child = execa('redis-server', [REDIS_CONF, '--port', parsed.port || '6379', '--dir', dataDir], {
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: 'pipe',
      reject: false,
      cleanup: true,
    });
  } catch (err) {
    throw new ControlPlaneError(
      'CP_ERR_REDIS_UNAVAILABLE',
      `could not start redis-server: install it with 'apt-get install redis-server'`,
      { cause: err },
    );
  }
  const exited = child.then((r) => r);
  for (let i = 0; i < 100; i++) {
    if (await pingRedis(url, 200)) {
      return {
        url,
        started: true,
        pid: child.pid ?? null,
        stop: async () => {
          child.kill('SIGTERM');
          await exited;
        },
      };
    }
    const settled = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 100))]);
    if (settled) {
      const r = await exited;
      const hint =
        (r as { code?: string }).code === 'ENOENT'
          ? 'redis-server is not installed: apt-get install redis-server'
          : String(r.stderr ?? '').slice(-500);
      throw new ControlPlaneError('CP_ERR_REDIS_UNAVAILABLE', `redis-server did not start: ${hint}`);
    }
  }
  child.kill('SIGKILL');
  throw new ControlPlaneError('CP_ERR_REDIS_UNAVAILABLE', `redis-server started but never answered at ${url}`);
}
