/**
 * Fault tolerance on real processes: a worker killed mid-training, a trial that always fails, a cancelled sweep,
 * and Redis restarted mid-sweep. Faults are injected into the worker through BSLORA_WORKER_FAULTS
 * (worker-py/src/bslora_worker/fault_injection.py): `slow:<name>` makes each step take 0.5 s so the test can act
 * mid-training; `unavailable:<name>` makes Train fail with UNAVAILABLE every time.
 */
import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { trialJobId } from '../../control-plane/src/queue/job-ids.js';
import { TRAIN_QUEUE } from '../../control-plane/src/queue/queues.js';
import { startLocalStack, type LocalStack } from '../../control-plane/src/local-stack.js';
import { REDIS_CONF } from '../../control-plane/src/redis/ensure-redis.js';
import { loadSweepSpecFile } from '../../control-plane/src/sweep-specs/index.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { freePort, isAlive, waitFor, waitForSweepEnd, writeTinySpec } from '../helpers/sweep-helpers.js';

interface Scenario {
  stack: LocalStack;
  home: string;
  prefix: string;
  redisUrl: string;
}

let current: Scenario | undefined;
const extraCleanup: (() => Promise<void>)[] = [];

async function startScenario(faults: string, redisUrl = TEST_REDIS_URL): Promise<Scenario> {
  process.env.BSLORA_WORKER_FAULTS = faults;
  const home = mkdtempSync(join(tmpdir(), 'bslora-fault-'));
  const prefix = uniquePrefix('fault');
  const stack = await startLocalStack({ homeDir: home, redisUrl, prefix, port: 0 });
  delete process.env.BSLORA_WORKER_FAULTS;
  current = { stack, home, prefix, redisUrl };
  return current;
}

afterEach(async () => {
  if (current) {
    await current.stack.stop();
    if (current.redisUrl === TEST_REDIS_URL) await deleteKeysWithPrefix(current.prefix);
    rmSync(current.home, { recursive: true, force: true });
    current = undefined;
  }
  for (const fn of extraCleanup.splice(0)) await fn();
}, 120_000);

function progressStep(s: Scenario, trialKey: string): number {
  const p = s.stack.controlPlane.progress.get(trialKey) as { phase?: string; step?: number } | undefined;
  return p?.phase === 'train' ? p.step ?? 0 : 0;
}

describe('fault tolerance', () => {
  it('(a) a worker killed mid-training is restarted and the trial resumes from its checkpoint', async () => {
    const s = await startScenario('slow:lora');
    const spec = await loadSweepSpecFile(writeTinySpec(s.home, 'kill-worker', ['method: [lora]', 'lora_ranks: [4]'], { steps: 14, checkpoint_every: 2 }));
    const { sweepId, trials } = await s.stack.controlPlane.submit(spec);
    const key = trials[0].trialKey;
    await waitFor(() => progressStep(s, key) >= 5, 60_000, 'training to pass step 5');
    const victim = s.stack.agent.workers[0].pid!;
    process.kill(victim, 'SIGKILL');

    const sweep = await waitForSweepEnd(s.stack.controlPlane.store, sweepId, 120_000);
    expect(sweep.status).toBe('completed');
    const [row] = s.stack.controlPlane.store.trialsOfSweep(sweepId);
    expect(row.result!.train.resumedFromStep as number).toBeGreaterThanOrEqual(4);
    expect(row.result!.train.steps).toBe(14);
    expect(isAlive(victim)).toBe(false);
    expect(s.stack.agent.workers[0].pid).not.toBe(victim);
  }, 180_000);

  it('(d) a trial that always fails ends failed with its last error after every attempt; the others complete', async () => {
    const s = await startScenario('unavailable:bslora');
    const spec = await loadSweepSpecFile(
      writeTinySpec(s.home, 'always-fails', ['method: [lora, bslora]', 'lora_ranks: [4]', 'share_mode: slice', 'ranks: [{local: 1, intra: 1, inter: 2}]'], { steps: 3 }),
    );
    const { sweepId } = await s.stack.controlPlane.submit(spec);
    const sweep = await waitForSweepEnd(s.stack.controlPlane.store, sweepId, 120_000);
    expect(sweep.status).toBe('completed_with_failures');
    const rows = s.stack.controlPlane.store.trialsOfSweep(sweepId);
    const bad = rows.find((r) => r.method === 'bslora')!;
    const good = rows.find((r) => r.method === 'lora')!;
    expect(good.status).toBe('completed');
    expect(good.result!.counts.total).toBeGreaterThan(0);
    expect(bad.status).toBe('failed');
    expect(bad.lastError).toContain('injected fault');
    const trainQueue = new Queue(TRAIN_QUEUE, { connection: s.stack.controlPlane.ctx.connection, prefix: s.prefix });
    const job = await trainQueue.getJob(trialJobId(sweepId, TRAIN_QUEUE, bad.trialKey));
    const failed = await job!.isFailed();
    await trainQueue.close();
    expect(job!.attemptsMade).toBe(3); // every attempt of TRIAL_JOB_OPTIONS, with backoff between them
    expect(failed).toBe(true);
  }, 180_000);

  it('cancelling a sweep stops its running training within seconds and marks its trials cancelled', async () => {
    const s = await startScenario('slow:lora');
    const spec = await loadSweepSpecFile(writeTinySpec(s.home, 'cancel-me', ['method: [lora]', 'lora_ranks: [2, 4]'], { steps: 400 }));
    const { sweepId, trials } = await s.stack.controlPlane.submit(spec);
    await waitFor(() => trials.some((t) => progressStep(s, t.trialKey) >= 2), 60_000, 'training to start');
    const t0 = Date.now();
    await s.stack.controlPlane.cancel(sweepId);
    const sweep = s.stack.controlPlane.store.getSweep(sweepId)!;
    expect(sweep.status).toBe('cancelled');
    expect(s.stack.controlPlane.store.trialsOfSweep(sweepId).every((r) => r.status === 'cancelled')).toBe(true);
    // The worker is free again promptly: its running call was aborted, not left to finish 400 slow steps.
    const client = s.stack.agent.clients[0];
    await waitFor(async () => {
      const counts = await s.stack.controlPlane.queueCounts();
      return counts.train.active === 0 ? true : undefined;
    }, 15_000, 'the running train job to stop');
    expect(Date.now() - t0).toBeLessThan(15_000);
    const d = await client.describe();
    expect(d.capacity).toBe(1);
  }, 120_000);

  it('(c) Redis restarted (AOF on) mid-sweep: the sweep completes with every result', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'bslora-redis-'));
    // The production configuration (noeviction, AOF), with fsync on every write so the restart loses nothing.
    const redisArgs = [REDIS_CONF, '--port', String(port), '--dir', dir, '--appendfsync', 'always'];
    let redis = execa('redis-server', redisArgs, { reject: false });
    extraCleanup.push(async () => {
      redis.kill('SIGTERM');
      await redis;
      rmSync(dir, { recursive: true, force: true });
    });
    const url = `redis://127.0.0.1:${port}`;
    await waitFor(async () => (await execa('redis-cli', ['-p', String(port), 'ping'], { reject: false })).stdout === 'PONG', 10_000, 'test redis');

    const s = await startScenario('slow:lora', url);
    const spec = await loadSweepSpecFile(writeTinySpec(s.home, 'redis-restart', ['method: [lora]', 'lora_ranks: [2, 4]'], { steps: 10, checkpoint_every: 2 }));
    const { sweepId, trials } = await s.stack.controlPlane.submit(spec);
    await waitFor(() => trials.some((t) => progressStep(s, t.trialKey) >= 3), 60_000, 'training to pass step 3');

    await execa('redis-cli', ['-p', String(port), 'shutdown'], { reject: false });
    await redis;
    await new Promise((r) => setTimeout(r, 1_000));
    redis = execa('redis-server', redisArgs, { reject: false });

    const sweep = await waitForSweepEnd(s.stack.controlPlane.store, sweepId, 150_000);
    expect(sweep.status).toBe('completed');
    const rows = s.stack.controlPlane.store.trialsOfSweep(sweepId);
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(r.result!.counts.total).toBeGreaterThan(0);
  }, 240_000);
});
