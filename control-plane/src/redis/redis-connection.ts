/**
 * The one place a Redis setting becomes clients. `BSLORA_REDIS_URL` (and `--redis`) takes either
 *
 * - `redis://[user:password@]host:port[/db]` (or `rediss://`): one Redis, or
 * - `redis-cluster://[user:password@]host1:port1,host2:port2,…`: a Redis Cluster, reached through any of the listed
 *   nodes (ioredis `Cluster` finds the rest and follows failovers).
 *
 * On a cluster, a multi-key command (every BullMQ Lua script, a flow that spans the train, eval and sweep queues, the
 * heartbeat's MULTI) must touch keys of one hash slot, or Redis answers CROSSSLOT. Every key bslora writes starts
 * with the deployment's prefix, so `keyPrefixFor` makes that prefix a hash tag (`bslora` → `{bslora}`): all of one
 * deployment's keys then live in one slot. A cluster therefore gives failover (masters with replicas), not sharding
 * of one deployment's queues (docs/operations.md, "Redis Cluster").
 *
 * @example
 * const connection = connectionFromUrl('redis-cluster://10.0.0.1:7000,10.0.0.2:7000');   // for BullMQ
 * const redis = newRedisClient(connection, { maxRetriesPerRequest: 1 });                  // our own commands
 * keyPrefixFor('redis-cluster://…', 'bslora');                                            // '{bslora}'
 */
import type { ConnectionOptions } from 'bullmq';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { ControlPlaneError } from '../errors.js';

/** A client of either kind; both have the same command methods. */
export type RedisClient = Redis | Cluster;

export interface RedisNode {
  host: string;
  port: number;
}

export type RedisTarget =
  | { kind: 'single'; url: string; options: RedisOptions }
  | { kind: 'cluster'; url: string; nodes: RedisNode[]; options: RedisOptions };

const CLUSTER_SCHEME = 'redis-cluster://';

export function isClusterUrl(url: string): boolean {
  return url.startsWith(CLUSTER_SCHEME);
}

/** Parses a Redis setting; a malformed one fails naming the value and the two accepted forms. */
export function parseRedisUrl(url: string): RedisTarget {
  const invalid = (why: string) =>
    new ControlPlaneError(
      'CP_ERR_REDIS_URL_INVALID',
      `Redis setting '${url}' is invalid: ${why}. Use redis://host:port[/db] for one Redis, or ` +
        `redis-cluster://host1:port1,host2:port2 for a Redis Cluster (BSLORA_REDIS_URL or --redis)`,
    );
  if (isClusterUrl(url)) {
    let rest = url.slice(CLUSTER_SCHEME.length).replace(/\/+$/, '');
    const options: RedisOptions = {};
    const at = rest.lastIndexOf('@');
    if (at >= 0) {
      const [user, ...pass] = rest.slice(0, at).split(':');
      options.username = decodeURIComponent(user) || undefined;
      options.password = pass.length ? decodeURIComponent(pass.join(':')) : undefined;
      rest = rest.slice(at + 1);
    }
    if (!rest) throw invalid('it names no node');
    const nodes = rest.split(',').map((hp) => {
      const m = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(hp.trim());
      if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw invalid(`'${hp}' is not host:port`);
      return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
    });
    return { kind: 'cluster', url, nodes, options };
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalid('it is not a URL');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw invalid(`the scheme '${u.protocol}' is not redis:`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw invalid(`'${u.pathname.slice(1)}' is not a database number`);
  return {
    kind: 'single',
    url,
    options: {
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: Number(u.port || 6379),
      username: u.username ? decodeURIComponent(u.username) : undefined,
      password: u.password ? decodeURIComponent(u.password) : undefined,
      db,
      ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    },
  };
}

/** True when Redis would hash `key` by a tag: the text between its first `{` and the next `}`, if not empty. */
export function hasHashTag(key: string): boolean {
  const open = key.indexOf('{');
  return open >= 0 && key.indexOf('}', open + 1) > open + 1;
}

/**
 * The key prefix a deployment uses on this Redis: unchanged on one Redis, a hash tag on a cluster (`{bslora}`),
 * so that every key of the deployment shares one slot. A prefix that already has a tag is kept as written.
 */
export function keyPrefixFor(url: string, prefix: string): string {
  return isClusterUrl(url) && !hasHashTag(prefix) ? `{${prefix}}` : prefix;
}

function clusterOptions(target: Extract<RedisTarget, { kind: 'cluster' }>, redis: RedisOptions): ClusterOptions {
  return {
    redisOptions: { ...target.options, ...redis },
    // Follow a failover: refresh the slot map on MOVED and retry commands while a replica takes over.
    slotsRefreshTimeout: 2_000,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
  };
}

/**
 * What BullMQ takes as `connection`: plain options for one Redis (each BullMQ object opens its own), and for a
 * cluster one ioredis `Cluster` that BullMQ shares (and duplicates for its blocking reads). The caller closes a
 * cluster with `closeConnection` once everything built on it has closed.
 */
export function connectionFromUrl(url: string): ConnectionOptions {
  const target = parseRedisUrl(url);
  // BullMQ consumers block on Redis: never give up on a request, reconnect instead.
  if (target.kind === 'single') return { ...target.options, maxRetriesPerRequest: null };
  // Lazy: nothing connects until BullMQ (or a first command) does, so building a context cannot fail or leak.
  return new Cluster(target.nodes, { ...clusterOptions(target, { maxRetriesPerRequest: null }), lazyConnect: true });
}

/** A client of its own for bslora's own commands (mirror, heartbeats, cancel flags, pub/sub), of the same kind. */
export function newRedisClient(connection: ConnectionOptions, overrides: RedisOptions = {}): RedisClient {
  if (connection instanceof Cluster) {
    return connection.duplicate(undefined, {
      redisOptions: { ...connection.options.redisOptions, ...overrides },
    });
  }
  return new Redis({ ...(connection as RedisOptions), ...overrides });
}

/** A client straight from a URL (checks and maintenance that run before any queue context exists). */
export function redisClientFromUrl(url: string, overrides: RedisOptions = {}): RedisClient {
  const target = parseRedisUrl(url);
  if (target.kind === 'single') return new Redis({ ...target.options, ...overrides });
  return new Cluster(target.nodes, {
    ...clusterOptions(target, overrides),
    lazyConnect: overrides.lazyConnect,
    // A check must fail, not retry for ever, when no node answers.
    clusterRetryStrategy: overrides.retryStrategy === undefined ? undefined : () => null,
  });
}

/** Closes a shared cluster connection (plain options hold nothing to close). */
export function closeConnection(connection: ConnectionOptions): void {
  if (connection instanceof Cluster) connection.disconnect();
}

/** The clients to run a per-server command on (CONFIG, INFO, SCAN): the client itself, or every cluster master. */
export function serversOf(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}
