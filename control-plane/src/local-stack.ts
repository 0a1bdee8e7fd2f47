/**
 * Everything on one machine, as `bslora up` runs it: Redis (started when none answers), the control plane, an
 * agent with one worker per device, and the REST API listening on 127.0.0.1. `stop()` undoes all of it.
 */
import type { FastifyInstance } from 'fastify';
import { Agent } from './agent/agent.js';
import { buildApp } from './api/app.js';
import { loadOrCreateToken } from './api/auth-token.js';
import { defaultReadAuth } from './api/read-auth.js';
import { ControlPlane } from './control-plane.js';
import { deletePrefixKeys } from './redis/delete-prefix-keys.js';
import { ensureRedis, type RedisHandle } from './redis/ensure-redis.js';
import { join } from 'node:path';
import { serverDataRoots } from './data-roots.js';

export interface LocalStackOptions {
  homeDir: string;
  redisUrl: string;
  /** Queue prefix (tests use a unique one). @defaultValue 'bslora' */
  prefix?: string;
  host?: string;
  /** 0 picks a free port. @defaultValue 7433 */
  port?: number;
  /** Start the HTTP API. @defaultValue true */
  api?: boolean;
  devices?: string[];
  /** Folders the API and the workers accept local paths under. @defaultValue serverDataRoots(homeDir) */
  dataRoots?: string[];
  /** Reads need the token too. @defaultValue on when `host` is not loopback (read-auth.ts) */
  readAuth?: boolean;
  log?: (line: string) => void;
  /** On stop, delete every Redis key under `prefix` (after everything that writes them has closed). */
  deleteKeysOnStop?: boolean;
}

export interface LocalStack {
  controlPlane: ControlPlane;
  agent: Agent;
  apiUrl: string | null;
  token: string;
  tokenCreated: boolean;
  redis: RedisHandle;
  stop(): Promise<void>;
}

export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  const undo: (() => Promise<void>)[] = [];
  // One shutdown, however many ask for it (a Ctrl-C handler and a command's `finally` may both call stop).
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      for (const fn of undo.reverse()) await fn().catch((err) => opts.log?.(`stop: ${(err as Error).message}`));
      undo.length = 0;
    })());
  try {
    // First: a bad token file stops the start before anything runs.
    const { token, created } = loadOrCreateToken(opts.homeDir);
    const redis = await ensureRedis(opts.redisUrl, join(opts.homeDir, 'redis'));
    undo.push(() => redis.stop());
    if (redis.started) opts.log?.(`started redis-server at ${opts.redisUrl} (pid ${redis.pid})`);
    // Undone in reverse: this runs after the API, agent and control plane have closed, and before Redis stops.
    if (opts.deleteKeysOnStop)
      undo.push(async () => void (await deletePrefixKeys(opts.redisUrl, opts.prefix ?? 'bslora')));
    const controlPlane = await ControlPlane.start({
      redisUrl: opts.redisUrl,
      prefix: opts.prefix,
      homeDir: opts.homeDir,
    });
    undo.push(() => controlPlane.close());
    const agent = await Agent.start({
      ctx: controlPlane.ctx,
      homeDir: opts.homeDir,
      devices: opts.devices,
      allowedRoots: opts.dataRoots ?? serverDataRoots(opts.homeDir),
      log: opts.log,
    });
    undo.push(() => agent.close());
    let apiUrl: string | null = null;
    if (opts.api ?? true) {
      const host = opts.host ?? '127.0.0.1';
      const app: FastifyInstance = buildApp({
        controlPlane,
        token,
        readAuth: opts.readAuth ?? defaultReadAuth(host),
        dataRoots: opts.dataRoots,
      });
      const address = await app.listen({ host, port: opts.port ?? 7433 });
      undo.push(() => app.close());
      apiUrl = address;
    }
    return { controlPlane, agent, apiUrl, token, tokenCreated: created, redis, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
