/**
 * Two hosts on one machine (issue 5 item 9): one control plane in this process, two `bslora agent` processes with
 * their own homes and their own (dry-run) workers, one Redis. A sweep of 12 trials spreads over both agents, every
 * result is recorded exactly once, and both agents exit cleanly on SIGTERM, leaving no worker behind.
 */
import { execa, type ResultPromise } from 'execa';
import { Queue } from 'bullmq';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane } from '../../control-plane/src/control-plane.js';
import { trialJobId } from '../../control-plane/src/queue/job-ids.js';
import { TRAIN_QUEUE } from '../../control-plane/src/queue/queues.js';
import { parseSweepSpec } from '../../control-plane/src/sweep-specs/index.js';
import { DRY_RUN_RANKS, dryRunSpecJson } from '../helpers/tiny-spec.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { isAlive, waitFor, waitForSweepEnd } from '../helpers/sweep-helpers.js';

const BIN = fileURLToPath(new URL('../../bin/bslora.js', import.meta.url));
const TRIALS = 12;

interface AgentProcess {
  child: ResultPromise;
  /** The address of the agent's one worker, as results report it (TrainJobResult.workerAddress). */
  workerAddress: string;
  workerPid: number;
  output: () => string;
}

async function startAgent(home: string, prefix: string): Promise<AgentProcess> {
  const child = execa(
    'node',
    [BIN, 'agent', '--redis', TEST_REDIS_URL, '--prefix', prefix, '--devices', 'cpu', '--dry-run'],
    {
      env: { BSLORA_HOME: home },
      // Let SIGTERM take its course: closing the BullMQ consumers waits out their blocking fetch (about 5 s).
      forceKillAfterDelay: 30_000,
      reject: false,
      all: true,
      buffer: false,
    },
  );
  let output = '';
  child.all!.on('data', (d: Buffer) => (output += d.toString()));
  const line = await waitFor(
    () => /consuming from .*: cpu@(\S+) \(pid (\d+)\)/.exec(output) ?? undefined,
    120_000,
    `an agent to start:\n${output}`,
  );
  return { child, workerAddress: line[1], workerPid: Number(line[2]), output: () => output };
}

function specText(name: string): string {
  // 12 dry-run trials: 3 rank triples × 4 seeds; the workers answer at once without a model.
  return dryRunSpecJson(name, DRY_RUN_RANKS.slice(0, 3), [0, 1, 2, 3]);
}

describe('two agents on one Redis', () => {
  const prefix = uniquePrefix('two-agents');
  const homes = [0, 1, 2].map((i) => mkdtempSync(join(tmpdir(), `bslora-two-agents-${i}-`)));
  let cp: ControlPlane;
  let agents: AgentProcess[] = [];

  beforeAll(async () => {
    cp = await ControlPlane.start({ redisUrl: TEST_REDIS_URL, prefix, homeDir: homes[0] });
    // Both start at once, as two hosts would; each spawns its own worker.
    agents = await Promise.all([startAgent(homes[1], prefix), startAgent(homes[2], prefix)]);
  }, 180_000);

  afterAll(async () => {
    for (const a of agents) {
      if (a.child.exitCode === null) {
        a.child.kill('SIGKILL');
        await a.child;
      }
    }
    await cp?.close();
    await deleteKeysWithPrefix(prefix);
    for (const h of homes) rmSync(h, { recursive: true, force: true });
  });

  it('spreads the trials over both agents and records every result exactly once', async () => {
    expect(new Set(agents.map((a) => a.workerAddress)).size).toBe(2);
    const submitted = await cp.submit(parseSweepSpec(specText('two-agents'), { format: 'json' }));
    expect(submitted.trials).toHaveLength(TRIALS);
    const sweep = await waitForSweepEnd(cp.store, submitted.sweepId, 60_000);
    expect(sweep.status).toBe('completed');

    const rows = cp.store.trialsOfSweep(submitted.sweepId);
    expect(rows).toHaveLength(TRIALS);
    for (const r of rows) {
      expect(r.status).toBe('completed');
      expect(r.result).not.toBeNull();
    }
    // One row per trial in results, no more: the store's primary key and this count together.
    expect(cp.store.resultCountOfSweep(submitted.sweepId)).toBe(TRIALS);

    // Both agents trained trials.
    const byAddress = new Map<string, number>();
    for (const r of rows) {
      const address = (r.result!.train as { workerAddress: string }).workerAddress;
      byAddress.set(address, (byAddress.get(address) ?? 0) + 1);
    }
    expect([...byAddress.keys()].sort()).toEqual(agents.map((a) => a.workerAddress).sort());

    // No train job ran twice (a duplicate delivery would show as a second attempt) and nothing failed.
    const trains = new Queue(TRAIN_QUEUE, { connection: cp.ctx.connection, prefix });
    try {
      for (const r of rows) {
        const job = await trains.getJob(trialJobId(submitted.sweepId, TRAIN_QUEUE, r.trialKey));
        expect(job?.attemptsStarted).toBe(1);
        expect(job?.finishedOn).toBeGreaterThan(0);
      }
    } finally {
      await trains.close();
    }
    expect(cp.store.eventCount(submitted.sweepId, 'attempt-failed')).toBe(0);
  }, 90_000);

  it('stops both agents cleanly on SIGTERM, leaving no worker process', async () => {
    for (const a of agents) a.child.kill('SIGTERM');
    const results = await Promise.all(agents.map((a) => a.child));
    for (const [i, r] of results.entries()) {
      expect(r.exitCode, agents[i].output()).toBe(0);
      expect(r.signal).toBeUndefined();
    }
    for (const a of agents) {
      await waitFor(() => !isAlive(a.workerPid) || undefined, 10_000, `worker ${a.workerPid} to exit`);
    }
  }, 60_000);
});
