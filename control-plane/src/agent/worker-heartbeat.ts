/**
 * Worker heartbeats: every few seconds an agent asks each of its workers to `Describe` itself and writes the answer
 * to a Redis hash `<prefix>:workers:<worker id>` that expires unless renewed, so a host that dies drops out of the
 * list on its own. A sorted set `<prefix>:workers` indexes the live ids by expiry time, so that reading the list
 * never scans the keyspace (which BullMQ fills with jobs). The control plane reads them for `GET /api/v1/workers`,
 * `bslora workers` and `/metrics`.
 *
 * @example
 * const heartbeat = startWorkerHeartbeat(ctx, () => agent.workers);   // in the agent
 * const workers = await readWorkerHeartbeats(redis, ctx.prefix);      // in the control plane
 * await heartbeat.stop();                                             // deletes this agent's entries
 */
import { hostname } from 'node:os';
import type { QueueContext } from '../queue/queues.js';
import { newRedisClient, type RedisClient } from '../redis/redis-connection.js';
import { WorkerClient } from '../worker-process/worker-client.js';

/** One worker as its agent last saw it. */
export interface WorkerHeartbeat {
  id: string;
  agentId: string;
  host: string;
  device: string;
  address: string;
  pid: number | null;
  status: 'serving' | 'unreachable';
  capacity: number;
  devices: { name: string; kind: string; totalMemoryBytes: number; freeMemoryBytes: number }[];
  versions: Record<string, string>;
  residentModels: string[];
  heldAdapters: number;
  lastSeen: string;
  error: string | null;
}

export interface WorkerHeartbeatOptions {
  /** Seconds between heartbeats. @defaultValue 5 */
  intervalSeconds?: number;
  /** Seconds an entry lives without renewal. @defaultValue 3 × intervalSeconds */
  ttlSeconds?: number;
  /** Id of this agent in the entries. @defaultValue `<hostname>:<pid>` */
  agentId?: string;
  onError?: (err: Error) => void;
}

export interface WorkerHeartbeatHandle {
  /** Writes one heartbeat now (the timer does this on its own). */
  beat(): Promise<void>;
  /** Stops beating and removes this agent's entries. */
  stop(): Promise<void>;
}

export const workerKeyPrefix = (prefix: string): string => `${prefix}:workers:`;
/** The sorted set of live worker ids, scored by the unix ms at which each one's heartbeat expires. */
export const workerIndexKey = (prefix: string): string => `${prefix}:workers`;

/** Starts heartbeats for whatever workers `listWorkers` returns at each beat (restarted workers included). */
export function startWorkerHeartbeat(
  ctx: QueueContext,
  listWorkers: () => { device: string; address: string; pid: number | null }[],
  opts: WorkerHeartbeatOptions = {},
): WorkerHeartbeatHandle {
  const interval = opts.intervalSeconds ?? 5;
  const ttl = opts.ttlSeconds ?? interval * 3;
  const agentId = opts.agentId ?? `${hostname()}:${process.pid}`;
  // The hash, its expiry and the index entry go in one MULTI: on a cluster they share the prefix's hash slot.
  const redis = newRedisClient(ctx.connection, { maxRetriesPerRequest: 1 });
  redis.on('error', (err) => opts.onError?.(err));
  const clients = new Map<string, WorkerClient>();
  /** Last worker id Describe gave per address, so an unreachable worker keeps its entry. */
  const idOf = new Map<string, string>();
  const written = new Set<string>();
  const index = workerIndexKey(ctx.prefix);
  let stopped = false;

  const beat = async (): Promise<void> => {
    const workers = listWorkers();
    for (const address of [...clients.keys()]) {
      if (!workers.some((w) => w.address === address)) {
        clients.get(address)!.close();
        clients.delete(address);
      }
    }
    const pipeline = redis.multi();
    for (const w of workers) {
      let client = clients.get(w.address);
      if (!client) {
        client = new WorkerClient(w.address);
        clients.set(w.address, client);
      }
      const entry: WorkerHeartbeat = {
        id: idOf.get(w.address) ?? w.address,
        agentId,
        host: hostname(),
        device: w.device,
        address: w.address,
        pid: w.pid,
        status: 'unreachable',
        capacity: 0,
        devices: [],
        versions: {},
        residentModels: [],
        heldAdapters: 0,
        lastSeen: new Date().toISOString(),
        error: null,
      };
      try {
        const d = await client.describe({ timeoutMs: 2_000 });
        idOf.set(w.address, d.workerId || w.address);
        Object.assign(entry, {
          id: d.workerId || w.address,
          status: 'serving',
          capacity: d.capacity,
          devices: d.devices.map((x) => ({
            name: x.name,
            kind: x.kind,
            totalMemoryBytes: Number(x.totalMemoryBytes),
            freeMemoryBytes: Number(x.freeMemoryBytes),
          })),
          versions: { ...d.versions },
          residentModels: [...d.residentModels],
          heldAdapters: d.heldAdapters.length,
        });
      } catch (err) {
        entry.error = (err as Error).message;
      }
      const key = `${workerKeyPrefix(ctx.prefix)}${entry.id}`;
      written.add(entry.id);
      pipeline
        .hset(key, toHash(entry))
        .expire(key, ttl)
        .zadd(index, Date.now() + ttl * 1_000, entry.id);
    }
    pipeline.expire(index, ttl);
    if (stopped) return;
    await pipeline.exec();
  };

  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = running.then(beat).catch((err: Error) => opts.onError?.(err));
  };
  tick();
  const timer = setInterval(tick, interval * 1_000);
  timer.unref();

  return {
    beat: async () => {
      tick();
      await running;
    },
    async stop() {
      clearInterval(timer);
      await running;
      stopped = true;
      if (written.size) {
        const ids = [...written];
        await redis
          .multi()
          .del(...ids.map((id) => `${workerKeyPrefix(ctx.prefix)}${id}`))
          .zrem(index, ...ids)
          .exec()
          .catch(() => null);
      }
      for (const c of clients.values()) c.close();
      redis.disconnect();
    },
  };
}

function toHash(w: WorkerHeartbeat): Record<string, string> {
  return Object.fromEntries(Object.entries(w).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

function fromHash(h: Record<string, string>): WorkerHeartbeat | null {
  if (!h.id || !h.address) return null;
  const json = <T>(s: string | undefined, fallback: T): T => {
    try {
      return s === undefined ? fallback : (JSON.parse(s) as T);
    } catch {
      return fallback;
    }
  };
  return {
    id: h.id,
    agentId: h.agentId ?? '',
    host: h.host ?? '',
    device: h.device ?? '',
    address: h.address,
    pid: json<number | null>(h.pid, null),
    status: h.status === 'serving' ? 'serving' : 'unreachable',
    capacity: json<number>(h.capacity, 0),
    devices: json(h.devices, []),
    versions: json(h.versions, {}),
    residentModels: json(h.residentModels, []),
    heldAdapters: json<number>(h.heldAdapters, 0),
    lastSeen: h.lastSeen ?? '',
    error: h.error && h.error !== 'null' ? h.error : null,
  };
}

/** Every live heartbeat under `prefix`, sorted by id (two round trips, whatever else Redis holds). */
export async function readWorkerHeartbeats(redis: RedisClient, prefix: string): Promise<WorkerHeartbeat[]> {
  const index = workerIndexKey(prefix);
  const [, live] = ((await redis.multi().zremrangebyscore(index, '-inf', Date.now()).zrange(index, 0, -1).exec()) ??
    []) as [unknown, [Error | null, string[]]];
  const ids = live?.[1] ?? [];
  if (ids.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hgetall(`${workerKeyPrefix(prefix)}${id}`);
  const results = (await pipeline.exec()) ?? [];
  return results
    .map(([err, h]) => (err ? null : fromHash(h as Record<string, string>)))
    .filter((w): w is WorkerHeartbeat => w !== null)
    .sort((a, b) => a.id.localeCompare(b.id));
}
