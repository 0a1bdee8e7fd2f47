/**
 * Issue 13, item 1: nothing on the event loop depends on the size or kind of a user's file. Each hostile spec is
 * submitted over REST (inject, real ControlPlane on a real Redis with a unique prefix) while `/healthz` is asked
 * over and over; every one is refused with a 4xx naming the value, `/healthz` answers within 100 ms throughout, and
 * nothing reaches the store or Redis.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../control-plane/src/api/app.js';
import { ControlPlane } from '../../control-plane/src/control-plane.js';
import { loadSweepSpecFile } from '../../control-plane/src/sweep-specs/load-sweep-spec-file.js';
import { minimalSpec } from '../../control-plane/src/sweep-specs/test-fixtures.js';
import { watchEventLoop } from '../helpers/event-loop.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

const TOKEN = 'event-loop-test-token';
const STALL_LIMIT_MS = 100;

describe('hostile specs do not hold the event loop', () => {
  const prefix = uniquePrefix('loop');
  const home = mkdtempSync(join(tmpdir(), 'bslora-loop-'));
  const data = join(home, 'data');
  let cp: ControlPlane;
  let app: FastifyInstance;
  /** An app whose data roots include /dev, so that devices get past confinement and are refused by kind. */
  let devApp: FastifyInstance;
  const savedCap = process.env.BSLORA_HASH_MAX_BYTES;

  beforeAll(async () => {
    mkdirSync(data, { recursive: true });
    process.env.BSLORA_HASH_MAX_BYTES = String(256 * 1024 ** 2);
    cp = await ControlPlane.start({ redisUrl: TEST_REDIS_URL, prefix, homeDir: home });
    app = buildApp({ controlPlane: cp, token: TOKEN, env: {} });
    await app.ready(); // the spec-checking thread has loaded before anything is measured
    devApp = buildApp({ controlPlane: cp, token: TOKEN, env: {}, dataRoots: [data, '/dev'] });
  });

  afterAll(async () => {
    if (savedCap === undefined) delete process.env.BSLORA_HASH_MAX_BYTES;
    else process.env.BSLORA_HASH_MAX_BYTES = savedCap;
    await app?.close();
    await devApp?.close();
    await cp?.close();
    await deleteKeysWithPrefix(prefix);
    rmSync(home, { recursive: true, force: true });
  });

  const submit = (target: FastifyInstance, body: string, type = 'application/yaml') =>
    watchEventLoop(target, () =>
      target.inject({
        method: 'POST',
        url: '/api/v1/sweeps',
        payload: body,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': type },
      }),
    );

  const expectRefused = async (target: FastifyInstance, body: string, status: number, message: RegExp) => {
    const watch = await submit(target, body);
    expect(watch.result.statusCode, watch.result.body).toBe(status);
    expect(watch.result.json().error.message).toMatch(message);
    expect(watch.maxHealthMs).toBeLessThan(STALL_LIMIT_MS);
    expect(watch.maxStallMs).toBeLessThan(STALL_LIMIT_MS);
    expect(watch.healthChecks).toBeGreaterThan(0);
    return watch.result.json().error;
  };

  it('train_data: /dev/zero is refused as outside the roots, and as a character device where /dev is a root', async () => {
    await expectRefused(
      app,
      stringify(minimalSpec({ train_data: '/dev/zero' })),
      400,
      /train_data: local path "\/dev\/zero" is outside the folders/,
    );
    await expectRefused(
      devApp,
      stringify(minimalSpec({ train_data: '/dev/zero' })),
      400,
      /train_data: local path "\/dev\/zero" is a character device; give a regular file or a folder/,
    );
  });

  it('a FIFO is refused by name without being opened', async () => {
    const fifo = join(data, 'pipe.json');
    execFileSync('mkfifo', [fifo]);
    await expectRefused(
      app,
      stringify(minimalSpec({ train_data: fifo })),
      400,
      /local path ".*pipe\.json" is a FIFO \(named pipe\)/,
    );
  });

  it('a sparse file over the hash cap is refused by its size; one under it is hashed while /healthz answers', async () => {
    const big = join(data, 'big.json');
    writeFileSync(big, '');
    truncateSync(big, 1024 ** 3);
    await expectRefused(
      app,
      stringify(minimalSpec({ train_data: big })),
      400,
      /big\.json holds 1073741824 bytes, more than the 268435456 bytes a local reference may hash to \(BSLORA_HASH_MAX_BYTES\)/,
    );

    const medium = join(data, 'medium.json');
    writeFileSync(medium, '');
    truncateSync(medium, 96 * 1024 ** 2);
    const watch = await submit(app, stringify(minimalSpec({ name: 'medium', train_data: medium })));
    try {
      expect(watch.result.statusCode, watch.result.body).toBe(201);
      expect(watch.maxHealthMs).toBeLessThan(STALL_LIMIT_MS);
      expect(watch.maxStallMs).toBeLessThan(STALL_LIMIT_MS);
    } finally {
      // Take it back at once: the rest of the file checks that refused specs queue nothing.
      const id = watch.result.json().id as string | undefined;
      if (id) {
        await app.inject({
          method: 'POST',
          url: `/api/v1/sweeps/${id}/cancel`,
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        cp.store.deleteSweep(id);
      }
      // The cancelled sweep's job is still moved by the recorder after the cancel returns (to completed or failed);
      // deleting the keys before it settles let that move write a job back after the deletion.
      await waitForQuietQueues(cp);
      await deleteKeysWithPrefix(prefix);
    }
  });

  it('a folder over the cap is refused from its listing, before any byte is read', async () => {
    const folder = join(data, 'model');
    mkdirSync(folder);
    for (const name of ['a.safetensors', 'b.safetensors', 'c.safetensors']) {
      writeFileSync(join(folder, name), '');
      truncateSync(join(folder, name), 100 * 1024 ** 2);
    }
    await expectRefused(
      app,
      stringify(minimalSpec({ base_model: folder })),
      400,
      /model holds 314572800 bytes, more than the 268435456 bytes/,
    );
  });

  it('a symlink inside the data root that points outside it is refused as outside', async () => {
    symlinkSync('/etc/passwd', join(data, 'passwd.json'));
    const error = await expectRefused(
      app,
      stringify(minimalSpec({ train_data: join(data, 'passwd.json') })),
      400,
      /passwd\.json" is outside the folders/,
    );
    expect(JSON.stringify(error)).not.toContain('root:');
  });

  it('a grid of 2,000 × 2,000 trials is refused by its list caps, and 1,000 × 1,000 by counting, before either is expanded', async () => {
    const grid = (n: number) => {
      const values = Array.from({ length: n }, (_, i) => i + 1);
      return JSON.stringify(
        minimalSpec({
          grid: { method: ['lora'], lora_ranks: values },
          training: { steps: 10, learning_rate: 0.001, batch_size: 4, seq_len: 32, seeds: values.map((v) => v - 1) },
        }),
      );
    };
    const big = await submit(app, grid(2000));
    expect(big.result.statusCode, big.result.body).toBe(400);
    expect(big.result.json().error.issues).toEqual(
      expect.arrayContaining([
        { path: 'grid.lora_ranks', message: 'must have at most 1000 items' },
        { path: 'training.seeds', message: 'must have at most 1000 items' },
      ]),
    );
    const counted = await submit(app, grid(1000));
    expect(counted.result.statusCode, counted.result.body).toBe(400);
    expect(counted.result.json().error.issues).toContainEqual({
      path: 'grid',
      message: expect.stringMatching(
        /expands to up to 1000000 trials, more than this server's limit of 10000 \(BSLORA_MAX_SWEEP_TRIALS\)/,
      ),
    });
    for (const watch of [big, counted]) {
      expect(watch.maxHealthMs).toBeLessThan(STALL_LIMIT_MS);
      expect(watch.maxStallMs).toBeLessThan(STALL_LIMIT_MS);
    }
  });

  it('a spec of 40,000 keys (390 KB) is checked off the event loop and refused, its problems capped', async () => {
    const keys = Array.from({ length: 40_000 }, (_, i) => `k${i}: 1`).join('\n');
    const text = `${stringify(minimalSpec())}${keys}\n`;
    expect(text.length).toBeGreaterThan(350_000);
    const error = await expectRefused(app, text, 400, /is invalid \(40000 problems\)/);
    expect(error.issues).toHaveLength(100);
    expect(error.message).toContain('… and 39900 more');
  });

  it('a duplicate key is still found, with its line', async () => {
    await expectRefused(
      app,
      `${stringify(minimalSpec())}name: again\n`,
      400,
      /map keys must be unique; "name" appears again at line \d+/,
    );
  });

  it('queued nothing and stored nothing for the refused specs', async () => {
    await waitForQuietQueues(cp);
    expect(cp.store.listSweeps()).toHaveLength(0);
    const counts = await cp.queueCounts();
    for (const [queue, states] of Object.entries(counts))
      expect(
        Object.values(states).every((n) => n === 0),
        queue,
      ).toBe(true);
  });

  it('the CLI path (loadSweepSpecFile) refuses a spec naming /dev/zero at once instead of reading it forever', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bslora-cli-'));
    try {
      const path = join(dir, 'sweep.yaml');
      writeFileSync(path, stringify(minimalSpec({ train_data: '/dev/zero' })));
      await expect(loadSweepSpecFile(path, { roots: [dir] })).rejects.toMatchObject({
        code: 'CP_ERR_SPEC_INVALID',
        message: expect.stringMatching(/outside the folders/),
      });
      await expect(loadSweepSpecFile(path)).rejects.toMatchObject({
        code: 'CP_ERR_SPEC_INVALID',
        message: expect.stringMatching(/is a character device/),
      });
      await expect(loadSweepSpecFile('/dev/zero')).rejects.toMatchObject({
        code: 'CP_ERR_SPEC_UNREADABLE',
        message: expect.stringMatching(/a character device/),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Until no job of any queue is waiting, active, delayed or waiting for children (10 s at most). */
async function waitForQuietQueues(cp: ControlPlane): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const counts = await cp.queueCounts();
    const busy = Object.values(counts).some(
      (s) => (s.waiting ?? 0) + (s.active ?? 0) + (s.delayed ?? 0) + (s['waiting-children'] ?? 0) > 0,
    );
    if (!busy || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
