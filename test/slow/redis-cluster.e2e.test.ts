/**
 * bslora on a real Redis Cluster (issue 16 item 3): three masters with one replica each on loopback, started from
 * redis-server in cluster mode with the shipped redis.conf and joined by `redis-cli --cluster create`
 * (test/helpers/redis-cluster.ts). The deployment's prefix becomes a hash tag (`{prefix}`), so every BullMQ key, flow
 * and Lua script, and every key of bslora's own (heartbeats, cancel flags, adapter mirror) is in one slot; Redis
 * would answer CROSSSLOT to any multi-key command that is not.
 *
 * - a sweep of dry-run trials, consumed by a `bslora agent` process (its own prefix rule) and recorded once each;
 * - a worker killed (kill -9) mid-training: restarted, the trial resumes from its checkpoint (as fault-tolerance (a));
 * - the master that holds the deployment's slot killed (kill -9) mid-sweep: its replica takes over, and the sweep
 *   completes with one result per trial.
 *
 * Fails with a clear message when redis-server or redis-cli is missing (requireRedisBinaries).
 */
import { execa, type ResultPromise } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../control-plane/src/agent/agent.js';
import { ControlPlane } from '../../control-plane/src/control-plane.js';
import { startLocalStack, type LocalStack } from '../../control-plane/src/local-stack.js';
import type { Store } from '../../control-plane/src/store/store.js';
import { loadSweepSpecFile, parseSweepSpec } from '../../control-plane/src/sweep-specs/index.js';
import { DRY_RUN_RANKS, dryRunSpecJson } from '../helpers/tiny-spec.js';
import { uniquePrefix } from '../helpers/redis.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { isAlive, waitFor, waitForSweepEnd, writeTinySpec } from '../helpers/sweep-helpers.js';

const BIN = fileURLToPath(new URL('../../bin/bslora.js', import.meta.url));
const PYTHON = process.env.BSLORA_PYTHON ?? fileURLToPath(new URL('../../.venv/bin/python', import.meta.url));

let cluster: RedisCluster;
const cleanup: (() => Promise<void>)[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicas: 1 });
}, 120_000);

afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

function home(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `bslora-cluster-${label}-`));
  cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `n` dry-run BSLoRA trials (4 rank triples × n/4 seeds); dry-run workers answer at once without a model. */
function dryRunSpec(name: string, n: number): string {
  return dryRunSpecJson(
    name,
    DRY_RUN_RANKS,
    Array.from({ length: n / 4 }, (_, i) => i),
  );
}

/** Recordings per trial key: how many `result-recorded` events, and how many of them wrote the row. */
function recordingsOf(store: Store, sweepId: string): Map<string, { events: number; inserted: number }> {
  const rows = store.db
    .prepare("SELECT trial_key, payload_json FROM events WHERE sweep_id = ? AND kind = 'result-recorded'")
    .all(sweepId) as { trial_key: string; payload_json: string }[];
  const out = new Map<string, { events: number; inserted: number }>();
  for (const r of rows) {
    const c = out.get(r.trial_key) ?? { events: 0, inserted: 0 };
    c.events++;
    if ((JSON.parse(r.payload_json) as { inserted: boolean }).inserted) c.inserted++;
    out.set(r.trial_key, c);
  }
  return out;
}

/** Keys under `keyPrefix` on each master (SCAN per node). */
async function keysPerMaster(keyPrefix: string): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const n of cluster.nodes) {
    if (!(await cluster.cli(n.port, 'role')).startsWith('master')) continue;
    const keys = (await cluster.cli(n.port, '--scan', '--pattern', `${keyPrefix}:*`)).split('\n').filter(Boolean);
    out.set(n.port, keys.length);
  }
  return out;
}

/**
 * A `bslora agent` process driving one torch-free dry-run worker (`serve --dry-run --without-torch`, started here):
 * the agent's path through Redis is the same as with a spawned worker, and it starts in seconds on a loaded machine.
 */
async function startAgentProcess(
  redisUrl: string,
  prefix: string,
  agentHome: string,
): Promise<{ child: ResultPromise; output: () => string }> {
  const worker = execa(
    PYTHON,
    [
      '-m',
      'bslora_worker',
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--run-dir',
      join(agentHome, 'worker'),
      '--dry-run',
      '--without-torch',
    ],
    { reject: false, buffer: false, stdin: 'ignore', stderr: 'ignore' },
  );
  cleanup.push(async () => {
    worker.kill('SIGTERM');
    await worker;
  });
  let ready = '';
  worker.stdout!.on('data', (d: Buffer) => (ready += d.toString()));
  const address = (await waitFor(() => /"address": "([^"]+)"/.exec(ready) ?? undefined, 60_000, 'the worker'))[1];
  const child = execa(
    'node',
    [BIN, 'agent', '--redis', redisUrl, '--prefix', prefix, '--no-spawn', '--worker', address],
    { env: { BSLORA_HOME: agentHome }, forceKillAfterDelay: 30_000, reject: false, all: true, buffer: false },
  );
  let output = '';
  child.all!.on('data', (d: Buffer) => (output += d.toString()));
  cleanup.push(async () => {
    child.kill('SIGTERM');
    await child;
  });
  await waitFor(() => /consuming from /.test(output) || undefined, 120_000, 'the agent to start').catch((err) => {
    throw new Error(`${(err as Error).message}; its output:\n${output}`);
  });
  return { child, output: () => output };
}

describe('Redis Cluster (3 masters, 1 replica each)', () => {
  it('runs a sweep of dry-run trials through an agent process; every key of the deployment shares one slot', async () => {
    const prefix = uniquePrefix('cluster');
    const cp = await ControlPlane.start({ redisUrl: cluster.url, prefix, homeDir: home('cp') });
    cleanup.push(() => cp.close());
    expect(cp.ctx.prefix).toBe(`{${prefix}}`);
    const agent = await startAgentProcess(cluster.url, prefix, home('agent'));

    const { sweepId, trials } = await cp.submit(parseSweepSpec(dryRunSpec('cluster-sweep', 40), { format: 'json' }));
    const sweep = await waitForSweepEnd(cp.store, sweepId, 120_000).catch((err) => {
      throw new Error(`${(err as Error).message}; the agent's output:\n${agent.output().slice(-3000)}`);
    });
    expect(sweep.status).toBe('completed');
    const rows = cp.store.trialsOfSweep(sweepId);
    expect(rows).toHaveLength(40);
    expect(rows.every((r) => r.status === 'completed')).toBe(true);
    const recordings = recordingsOf(cp.store, sweepId);
    for (const t of trials) expect(recordings.get(t.trialKey)?.inserted).toBe(1);

    // All of the deployment's keys live on the one master that owns the tag's slot (none elsewhere).
    const perMaster = [...(await keysPerMaster(cp.ctx.prefix)).values()];
    expect(perMaster.filter((n) => n > 0)).toHaveLength(1);
    expect(Math.max(...perMaster)).toBeGreaterThan(10);
  }, 240_000);

  it('a worker killed (kill -9) mid-training is restarted and the trial resumes from its checkpoint', async () => {
    process.env.BSLORA_WORKER_FAULTS = 'slow:lora';
    const dir = home('kill-worker');
    let stack: LocalStack;
    try {
      stack = await startLocalStack({ homeDir: dir, redisUrl: cluster.url, prefix: uniquePrefix('cw'), port: 0 });
    } finally {
      delete process.env.BSLORA_WORKER_FAULTS;
    }
    cleanup.push(() => stack.stop());
    const spec = await loadSweepSpecFile(
      writeTinySpec(dir, 'kill-worker', ['method: [lora]', 'lora_ranks: [4]'], { steps: 14, checkpoint_every: 2 }),
    );
    const { sweepId, trials } = await stack.controlPlane.submit(spec);
    const key = trials[0].trialKey;
    const step = () => {
      const p = stack.controlPlane.progress.get(key) as { phase?: string; step?: number } | undefined;
      return p?.phase === 'train' ? (p.step ?? 0) : 0;
    };
    await waitFor(() => step() >= 5, 90_000, 'training to pass step 5');
    const victim = stack.agent.workers[0].pid!;
    process.kill(victim, 'SIGKILL');

    const sweep = await waitForSweepEnd(stack.controlPlane.store, sweepId, 150_000);
    expect(sweep.status).toBe('completed');
    const [row] = stack.controlPlane.store.trialsOfSweep(sweepId);
    expect(row.result!.train.resumedFromStep as number).toBeGreaterThanOrEqual(4);
    expect(row.result!.train.steps).toBe(14);
    expect(isAlive(victim)).toBe(false);
    expect(stack.agent.workers[0].pid).not.toBe(victim);
  }, 300_000);

  it("kill -9 of the master holding the deployment's slot mid-sweep: a replica takes over and every trial is recorded once", async () => {
    // Short locks, so that a job whose lock renewal was lost in the failover is returned to the queue in seconds.
    process.env.BSLORA_LOCK_DURATION_MS = '5000';
    process.env.BSLORA_STALLED_INTERVAL_MS = '2000';
    const prefix = uniquePrefix('cluster-failover');
    const dir = home('failover');
    let cp: ControlPlane;
    let agent: Agent;
    try {
      cp = await ControlPlane.start({ redisUrl: cluster.url, prefix, homeDir: dir });
      cleanup.push(() => cp.close());
      agent = await Agent.start({ ctx: cp.ctx, homeDir: dir, devices: ['cpu'], dryRun: true });
      cleanup.push(() => agent.close());
    } finally {
      delete process.env.BSLORA_LOCK_DURATION_MS;
      delete process.env.BSLORA_STALLED_INTERVAL_MS;
    }
    const { sweepId, trials } = await cp.submit(
      parseSweepSpec(dryRunSpec('cluster-failover', 400), { format: 'json' }),
    );
    await waitFor(
      () => cp.store.trialsOfSweep(sweepId).filter((r) => r.status === 'completed').length >= 40 || undefined,
      120_000,
      '40 trials to complete',
    );
    const { killedPort, newMasterPort } = await cluster.kill9MasterOf(cp.ctx.prefix);
    expect(newMasterPort).not.toBe(killedPort);
    const doneAtKill = cp.store.trialsOfSweep(sweepId).filter((r) => r.status === 'completed').length;
    expect(doneAtKill).toBeLessThan(400);

    const sweep = await waitForSweepEnd(cp.store, sweepId, 180_000);
    expect(sweep.status).toBe('completed');
    const rows = cp.store.trialsOfSweep(sweepId);
    expect(rows).toHaveLength(400);
    expect(rows.every((r) => r.status === 'completed' && r.result !== null)).toBe(true);
    // Exactly one recording wrote each trial's row; repeats (a job re-run after the failover) changed nothing.
    const recordings = recordingsOf(cp.store, sweepId);
    for (const t of trials) expect(recordings.get(t.trialKey)?.inserted).toBe(1);
    console.log(
      `failover: killed :${killedPort} at ${doneAtKill}/400 trials, :${newMasterPort} took over; ` +
        `${[...recordings.values()].filter((c) => c.events > 1).length} trials recorded more than once (no-ops)`,
    );
  }, 300_000);
});
