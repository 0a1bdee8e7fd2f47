/**
 * (b) The whole local stack (`bslora up`: control plane, agent, worker) is killed with SIGKILL mid-sweep and started
 * again: the sweep completes, the interrupted trial resumes from its checkpoint, and no result is lost or recorded
 * twice. Lock and stalled-check intervals are shortened through the environment so the test takes seconds.
 */
import { execa, type ResultPromise } from 'execa';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { isAlive, waitFor, writeTinySpec } from '../helpers/sweep-helpers.js';

const BIN = fileURLToPath(new URL('../../bin/bslora.js', import.meta.url));
const TOKEN = 'crash-test-token';

interface Up {
  child: ResultPromise;
  apiUrl: string;
  workerPid: number;
}

async function startUp(env: Record<string, string>): Promise<Up> {
  const child = execa('node', [BIN, 'up'], { env, reject: false, all: true, buffer: false });
  let output = '';
  child.all!.on('data', (d: Buffer) => (output += d.toString()));
  await waitFor(() => output.includes('bslora is up') || undefined, 120_000, `bslora up to start:\n${output}`);
  const apiUrl = /API (http:\/\/\S+),/.exec(output)![1];
  const workerPid = Number(/\(pid (\d+)\)/.exec(output.split('bslora is up')[1])![1]);
  return { child, apiUrl, workerPid };
}

describe('control plane and agent killed mid-sweep', () => {
  const home = mkdtempSync(join(tmpdir(), 'bslora-crash-'));
  const prefix = uniquePrefix('crash');
  const env = {
    BSLORA_HOME: home,
    BSLORA_PREFIX: prefix,
    BSLORA_PORT: '0',
    BSLORA_API_TOKEN: TOKEN,
    BSLORA_REDIS_URL: TEST_REDIS_URL,
    BSLORA_LOCK_DURATION_MS: '4000',
    BSLORA_STALLED_INTERVAL_MS: '2000',
    BSLORA_WORKER_FAULTS: 'slow:lora',
  };
  let second: Up | undefined;

  afterAll(async () => {
    if (second) {
      second.child.kill('SIGTERM');
      await second.child;
    }
    await deleteKeysWithPrefix(prefix);
    rmSync(home, { recursive: true, force: true });
  });

  it('completes the sweep after a restart, resuming the interrupted trial, recording each result once', async () => {
    const first = await startUp(env);
    const specPath = writeTinySpec(home, 'crash', ['method: [lora]', 'lora_ranks: [2, 4]'], {
      steps: 10,
      checkpoint_every: 2,
    });
    const res = await fetch(`${first.apiUrl}/api/v1/sweeps`, {
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
    await waitFor(
      async () =>
        (await get(first.apiUrl)).trials.some((t) => t.progress?.phase === 'train' && (t.progress.step ?? 0) >= 5),
      90_000,
      'training past step 5',
    );

    first.child.kill('SIGKILL');
    await first.child;
    // The orphaned worker notices its agent is gone and exits by itself.
    await waitFor(() => !isAlive(first.workerPid) || undefined, 15_000, 'the orphaned worker to exit');

    second = await startUp(env);
    const done = await waitFor(
      async () => {
        const d = await get(second!.apiUrl);
        return ['completed', 'completed_with_failures', 'cancelled'].includes(d.status) ? d : undefined;
      },
      150_000,
      'the sweep to finish after the restart',
    );
    expect(done.status).toBe('completed');

    const db = new Database(join(home, 'bslora.db'), { readonly: true });
    try {
      const results = db
        .prepare(
          'SELECT r.trial_key, r.train_json FROM results r JOIN sweep_trials st ON st.trial_key = r.trial_key WHERE st.sweep_id = ?',
        )
        .all(id) as { trial_key: string; train_json: string }[];
      expect(results).toHaveLength(2);
      // Recorded once each, counted where recordings happen: results has one row per trial whatever arrives (its
      // key and INSERT OR IGNORE), so a second recording shows only in the recorder's log.
      const recordings = db
        .prepare("SELECT trial_key, payload_json FROM events WHERE sweep_id = ? AND kind = 'result-recorded'")
        .all(id) as { trial_key: string; payload_json: string }[];
      expect(recordings.map((r) => r.trial_key).sort()).toEqual(results.map((r) => r.trial_key).sort());
      expect(recordings.every((r) => (JSON.parse(r.payload_json) as { inserted: boolean }).inserted)).toBe(true);
      const resumed = results.map((r) => (JSON.parse(r.train_json) as { resumedFromStep: number }).resumedFromStep);
      expect(Math.max(...resumed)).toBeGreaterThanOrEqual(2);
      const finished = db
        .prepare("SELECT COUNT(*) AS n FROM events WHERE sweep_id = ? AND kind = 'sweep-finished'")
        .get(id) as { n: number };
      expect(finished.n).toBe(1);
    } finally {
      db.close();
    }
  }, 400_000);
});
