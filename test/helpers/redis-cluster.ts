/**
 * A real Redis Cluster on loopback for tests and benchmarks: `masters` redis-server processes in cluster mode (the
 * shipped infra/redis/redis.conf, so noeviction and AOF), each with `replicas` replicas, joined by
 * `redis-cli --cluster create`, in a temporary directory. `stop()` ends every node and removes the directory.
 *
 * @example
 * const cluster = await startRedisCluster({ masters: 3, replicas: 1 });
 * cluster.url;                                       // redis-cluster://127.0.0.1:p1,127.0.0.1:p2,…
 * await cluster.kill9MasterOf('{prefix}');           // kill -9 the master that holds a key's slot
 * await cluster.stop();
 */
import { execa, type ResultPromise } from 'execa';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REDIS_CONF } from '../../control-plane/src/redis/ensure-redis.js';
import { freePort, waitFor } from './sweep-helpers.js';

export interface RedisClusterNode {
  port: number;
  server: ResultPromise;
}

export interface RedisCluster {
  url: string;
  nodes: RedisClusterNode[];
  /** `redis-cli -p <port> …` on one node. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** kill -9 of the master that serves `key`'s slot; resolves with its port once a replica has taken over. */
  kill9MasterOf(key: string, failoverTimeoutMs?: number): Promise<{ killedPort: number; newMasterPort: number }>;
  stop(): Promise<void>;
}

/** Fails with a message naming what is missing, rather than a spawn error deep in a test. */
export function requireRedisBinaries(): void {
  for (const bin of ['redis-server', 'redis-cli']) {
    try {
      execFileSync('which', [bin], { stdio: 'ignore' });
    } catch {
      throw new Error(
        `the Redis Cluster test needs '${bin}' on PATH, and it is missing: install Debian's redis-server package ` +
          `(apt-get install redis-server, which brings redis-cli), the machine image CI uses has it`,
      );
    }
  }
}

export async function startRedisCluster(opts: { masters?: number; replicas?: number } = {}): Promise<RedisCluster> {
  requireRedisBinaries();
  const masters = opts.masters ?? 3;
  const replicas = opts.replicas ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'bslora-redis-cluster-'));
  const nodes: RedisClusterNode[] = [];
  const cli = async (port: number, ...args: string[]) =>
    (await execa('redis-cli', ['-p', String(port), ...args], { reject: false, timeout: 10_000 })).stdout;
  const stop = async () => {
    for (const n of nodes) n.server.kill('SIGTERM');
    await Promise.all(nodes.map((n) => n.server));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const port = await freePort();
      const busPort = await freePort();
      const nodeDir = join(dir, String(port));
      mkdirSync(nodeDir);
      const server = execa(
        'redis-server',
        [
          REDIS_CONF,
          ...['--port', String(port), '--dir', nodeDir],
          ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(busPort)],
          // A dead master is noticed after 2 s, so failover fits in a test; production keeps its own timeout.
          ...['--cluster-node-timeout', '2000'],
        ],
        { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', cleanup: true },
      );
      nodes.push({ port, server });
    }
    for (const n of nodes)
      await waitFor(async () => (await cli(n.port, 'ping')) === 'PONG' || undefined, 10_000, `node :${n.port}`);
    const create = await execa(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { reject: false, timeout: 60_000 },
    );
    if (create.exitCode !== 0)
      throw new Error(`redis-cli --cluster create failed: ${create.stdout}\n${create.stderr}`);
    for (const n of nodes) {
      await waitFor(
        async () => (await cli(n.port, 'cluster', 'info')).includes('cluster_state:ok') || undefined,
        30_000,
        `cluster_state:ok on :${n.port}`,
      );
    }
    // Every replica attached and in sync, so that a failover has someone to promote.
    await waitFor(
      async () => {
        const lines = (await cli(nodes[0].port, 'cluster', 'nodes')).split('\n').filter(Boolean);
        return lines.filter((l) => l.includes('slave') && l.includes('connected')).length === masters * replicas
          ? true
          : undefined;
      },
      30_000,
      'every replica connected',
    );
  } catch (err) {
    await stop();
    throw err;
  }

  const masterPortOfSlot = async (askPort: number, slot: number): Promise<number | undefined> => {
    for (const line of (await cli(askPort, 'cluster', 'nodes')).split('\n')) {
      const f = line.trim().split(' ');
      if (!f[2]?.includes('master') || f[2].includes('fail') || f[7] !== 'connected') continue;
      for (const range of f.slice(8)) {
        const [a, b] = range.split('-').map(Number);
        if (slot >= a && slot <= (b ?? a)) return Number(f[1].split('@')[0].split(':').pop());
      }
    }
    return undefined;
  };

  return {
    url: `redis-cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    nodes,
    cli,
    async kill9MasterOf(key, failoverTimeoutMs = 30_000) {
      const slot = Number(await cli(nodes[0].port, 'cluster', 'keyslot', key));
      const killedPort = (await masterPortOfSlot(nodes[0].port, slot))!;
      const victim = nodes.find((n) => n.port === killedPort)!;
      victim.server.kill('SIGKILL');
      await victim.server;
      const survivor = nodes.find((n) => n.port !== killedPort)!;
      const newMasterPort = await waitFor(
        async () => {
          const port = await masterPortOfSlot(survivor.port, slot);
          return port !== undefined && port !== killedPort ? port : undefined;
        },
        failoverTimeoutMs,
        `a replica to take over slot ${slot} from :${killedPort}`,
      );
      return { killedPort, newMasterPort };
    },
    stop,
  };
}
