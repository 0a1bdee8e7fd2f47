/**
 * Ctrl-C during a training: `bslora up` (control plane, agent and worker in their own process group) gets SIGINT
 * the way a terminal sends it, to the whole group, mid-training. The running train job goes back to the queue as
 * delayed, without spending an attempt (abort-outcome.ts: moveToDelayed + DelayedError) and without a failure
 * event; started again on the same home, the stack resumes the trial from its checkpoint and records it once.
 */
import { execa, type ResultPromise } from 'execa';
import { Queue } from 'bullmq';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { connectionFromUrl, TRAIN_QUEUE } from '../../control-plane/src/queue/queues.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { isAlive, waitFor, writeTinySpec } from '../helpers/sweep-helpers.js';

const BIN = fileURLToPath(new URL('../../bin/bslora.js', import.meta.url));
const TOKEN = 'shutdown-test-token';

interface Up {
  child: ResultPromise;
  apiUrl: string;
  workerPid: number;
  output: () => string;
}

async function startUp(env: Record<string, string>): Promise<Up> {
  // detached: its own process group, so the test can signal the group as a terminal's Ctrl-C does.
  const child = execa('node', [BIN, 'up'], {
    env,
    reject: false,
    all: true,
    buffer: false,
    detached: true,
    forceKillAfterDelay: 30_000,
  });
  let output = '';
  child.all!.on('data', (d: Buffer) => (output += d.toString()));
  await waitFor(() => output.includes('bslora is up') || undefined, 120_000, `bslora up to start:\n${output}`);
  const apiUrl = /API (http:\/\/\S+),/.exec(output)![1];
  const workerPid = Number(/\(pid (\d+)\)/.exec(output.split('bslora is up')[1])![1]);
  return { child, apiUrl, workerPid, output: () => output };
}

describe('an agent stopped with Ctrl-C mid-training', () => {
  const home = mkdtempSync(join(tmpdir(), 'bslora-sigint-'));
  const prefix = uniquePrefix('sigint');
  const env = {
    BSLORA_HOME: home,
    BSLORA_PREFIX: prefix,
    BSLORA_PORT: '0',
    BSLORA_API_TOKEN: TOKEN,
    BSLORA_REDIS_URL: TEST_REDIS_URL,
    BSLORA_WORKER_FAULTS: 'slow:lora',
  };
  const running: Up[] = [];

  afterAll(async () => {
    for (const up of running) {
      if (up.child.exitCode === null) {
        process.kill(-up.child.pid!, 'SIGTERM');
        await up.child;
      }
    }
    await deleteKeysWithPrefix(prefix);
    rmSync(home, { recursive: true, force: true });
  });

  it('requeues the job without spending an attempt, then resumes it from its checkpoint and records it once', async () => {
    const first = await startUp(env);
    running.push(first);
    const specPath = writeTinySpec(home, 'sigint', ['method: [lora]', 'lora_ranks: [4]'], {
      steps: 14,
      checkpoint_every: 2,
    });
    const res = await fetch(`${first.apiUrl}/api/v1/sweeps?base=${encodeURIComponent(home)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' },
      body: readFileSync(specPath, 'utf8'),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    type Detail = {
      status: string;
      trials: { trialKey: string; progress: { phase?: string; step?: number } | null }[];
    };
    const get = async (api: string) => (await (await fetch(`${api}/api/v1/sweeps/${id}`)).json()) as Detail;
    const trialKey = await waitFor(
      async () => {
        const t = (await get(first.apiUrl)).trials.find(
          (x) => x.progress?.phase === 'train' && (x.progress.step ?? 0) >= 5,
        );
        return t?.trialKey;
      },
      90_000,
      'training past step 5',
    );

    // Ctrl-C: SIGINT to the whole process group (node and its worker), as a terminal sends it.
    process.kill(-first.child.pid!, 'SIGINT');
    const exited = await first.child;
    expect(exited.exitCode, first.output()).toBe(0);
    expect(isAlive(first.workerPid)).toBe(false);

    // The job is back in the queue, delayed, with no attempt spent and no failure recorded.
    const trains = new Queue(TRAIN_QUEUE, { connection: connectionFromUrl(TEST_REDIS_URL), prefix });
    try {
      const job = (await trains.getJob(`${id}.train.${trialKey}`))!;
      expect(await job.getState()).toBe('delayed');
      expect(job.attemptsMade).toBe(0);
      expect(job.failedReason ?? '').toBe('');
    } finally {
      await trains.close();
    }

    const second = await startUp(env);
    running.push(second);
    const done = await waitFor(
      async () => {
        const d = await get(second.apiUrl);
        return ['completed', 'completed_with_failures', 'cancelled'].includes(d.status) ? d : undefined;
      },
      150_000,
      'the sweep to finish after the restart',
    );
    expect(done.status).toBe('completed');

    const trainsAfter = new Queue(TRAIN_QUEUE, { connection: connectionFromUrl(TEST_REDIS_URL), prefix });
    try {
      const job = (await trainsAfter.getJob(`${id}.train.${trialKey}`))!;
      expect(await job.getState()).toBe('completed');
      expect(job.attemptsMade).toBe(1); // the one run that finished; the interrupted one spent none
    } finally {
      await trainsAfter.close();
    }

    const db = new Database(join(home, 'bslora.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT train_json FROM results WHERE trial_key = ?').get(trialKey) as {
        train_json: string;
      };
      const train = JSON.parse(row.train_json) as { resumedFromStep: number; steps: number };
      expect(train.resumedFromStep).toBeGreaterThanOrEqual(4);
      expect(train.steps).toBe(14);
      const events = db
        .prepare('SELECT kind, payload_json FROM events WHERE sweep_id = ? AND trial_key = ?')
        .all(id, trialKey) as { kind: string; payload_json: string }[];
      expect(events.filter((e) => e.kind === 'attempt-failed')).toEqual([]);
      const recorded = events
        .filter((e) => e.kind === 'result-recorded')
        .map((e) => JSON.parse(e.payload_json) as { inserted: boolean });
      expect(recorded.filter((r) => r.inserted)).toHaveLength(1);
      expect(recorded).toHaveLength(1);
    } finally {
      db.close();
    }
  }, 400_000);
});
