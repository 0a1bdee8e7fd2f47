/**
 * Makes sure a Redis answers at the configured URL: uses one that answers, or starts a local `redis-server` (from
 * Debian's `redis-server` package) with `noeviction` and AOF. Refuses a Redis that may evict BullMQ's keys.
 */
import { execa, type ResultPromise } from 'execa';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ControlPlaneError } from '../errors.js';
import { isClusterUrl, redisClientFromUrl, serversOf } from './redis-connection.js';

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
  // A malformed setting throws here, naming the value (CP_ERR_REDIS_URL_INVALID), rather than reading as "down".
  const client = redisClientFromUrl(url, {
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

/**
 * BullMQ loses jobs when Redis evicts keys under memory pressure: only `noeviction` is safe. On a cluster every master
 * is checked (a replica takes its master's place on failover, so set it there too).
 */
export async function checkEvictionPolicy(url: string): Promise<void> {
  const client = redisClientFromUrl(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  try {
    await client.ping();
    for (const server of serversOf(client)) {
      const [, policy] = (await server.config('GET', 'maxmemory-policy')) as [string, string];
      if (policy !== 'noeviction') {
        const where = isClusterUrl(url) ? `${server.options.host}:${server.options.port}` : url;
        const fix = isClusterUrl(url)
          ? `redis-cli -h ${server.options.host} -p ${server.options.port}`
          : `redis-cli -u ${url}`;
        throw new ControlPlaneError(
          'CP_ERR_REDIS_EVICTION_POLICY',
          `Redis at ${where} has maxmemory-policy '${policy}'; BullMQ needs 'noeviction'. ` +
            `Fix: ${fix} CONFIG SET maxmemory-policy noeviction (and set it in redis.conf)`,
        );
      }
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
  if (isClusterUrl(url)) {
    throw new ControlPlaneError(
      'CP_ERR_REDIS_UNAVAILABLE',
      `no node of the Redis Cluster ${url} answers; a cluster is never started here: start its nodes and check 'redis-cli -p <port> cluster info'`,
    );
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
