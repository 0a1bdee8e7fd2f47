/**
 * Issue 13, item 5 of the reproductions: every number and string of a spec has a documented range, checked at
 * submit; the number of unfinished sweeps, event streams per client and the snapshot work of streams are capped;
 * token files are checked at start; the auth scheme is case-insensitive; the store and artifacts are private.
 * REST through inject() (and one listening server for streams) on a real ControlPlane and Redis (unique prefix).
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../control-plane/src/api/app.js';
import { loadOrCreateToken } from '../../control-plane/src/api/auth-token.js';
import { ViewCache } from '../../control-plane/src/api/view-cache.js';
import { ControlPlane } from '../../control-plane/src/control-plane.js';
import { ArtifactStore } from '../../control-plane/src/queue/artifacts.js';
import { Store } from '../../control-plane/src/store/store.js';
import { minimalSpec } from '../../control-plane/src/sweep-specs/test-fixtures.js';
import { watchEventLoop } from '../helpers/event-loop.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { parseSse } from '../helpers/sse.js';

const TOKEN = 'bounds-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const training = { steps: 10, learning_rate: 0.001, batch_size: 4, seq_len: 32 };

describe('bounds', () => {
  const prefix = uniquePrefix('bounds');
  const home = mkdtempSync(join(tmpdir(), 'bslora-bounds-'));
  let cp: ControlPlane;
  let app: FastifyInstance;

  beforeAll(async () => {
    cp = await ControlPlane.start({
      redisUrl: TEST_REDIS_URL,
      prefix,
      homeDir: home,
      env: { BSLORA_MAX_ACTIVE_SWEEPS: '2' },
    });
    app = buildApp({ controlPlane: cp, token: TOKEN, env: {}, maxStreamsPerClient: 300 });
    await app.ready(); // the spec-checking thread has loaded before anything is measured
  });

  afterAll(async () => {
    vi.restoreAllMocks();
    await app?.close();
    await cp?.close();
    await deleteKeysWithPrefix(prefix);
    rmSync(home, { recursive: true, force: true });
  });

  const submit = (spec: Record<string, unknown>) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/sweeps',
      payload: JSON.stringify(spec),
      headers: { ...auth, 'content-type': 'application/json' },
    });
  const issuesOf = async (spec: Record<string, unknown>) => {
    const res = await submit(spec);
    expect(res.statusCode, res.body).toBe(400);
    return res.json().error.issues as { path: string; message: string }[];
  };

  it.each([
    [
      'steps 4000000000',
      { training: { ...training, steps: 4_000_000_000 } },
      'training.steps',
      'must be <= 1000000 (got 4000000000)',
    ],
    [
      'steps 1e15',
      { training: { ...training, steps: 1e15 } },
      'training.steps',
      'must be <= 1000000 (got 1000000000000000)',
    ],
    [
      'learning rate 1e308',
      { training: { ...training, learning_rate: 1e308 } },
      'training.learning_rate',
      'must be <= 10 (got 1e+308)',
    ],
    [
      'seq_len',
      { training: { ...training, seq_len: 10_000_000 } },
      'training.seq_len',
      'must be <= 1048576 (got 10000000)',
    ],
    ['batch', { training: { ...training, batch_size: 1e6 } }, 'training.batch_size', 'must be <= 65536 (got 1000000)'],
    [
      'eval_limit',
      { training: { ...training, eval_limit: 1e9 } },
      'training.eval_limit',
      'must be <= 10000000 (got 1000000000)',
    ],
    [
      'BSLoRA rank 1000000000',
      { grid: { method: ['bslora'], ranks: [{ local: 1_000_000_000, intra: 0, inter: 0 }] } },
      'grid.ranks[0].local',
      'must be <= 65536 (got 1000000000)',
    ],
    [
      'LoRA rank 1000000000',
      { grid: { method: ['lora'], lora_ranks: [1_000_000_000] } },
      'grid.lora_ranks[0]',
      'must be <= 65536 (got 1000000000)',
    ],
    [
      "LoRA rank above the model's smallest targeted dimension",
      { grid: { method: ['lora'], lora_ranks: [33] } },
      'grid.lora_ranks[0]',
      'lora rank 33 is larger than module model.layers.0.self_attn.v_proj of builtin:tiny-llama (64 x 32) allows; use at most 32',
    ],
    ['description of 1 MB', { description: 'x'.repeat(200_000) }, 'description', 'must be at most 10000 characters'],
    [
      'description with NUL',
      { description: 'a\u0000b' },
      'description',
      'must not contain control characters other than tabs and newlines',
    ],
  ])('refuses %s with the path and the range', async (_label, override, path, message) => {
    expect(await issuesOf(minimalSpec(override as Record<string, unknown>))).toContainEqual({ path, message });
  });

  it.each([['q_proj\u0000'], ['../../etc'], ['q_proj; rm -rf /'], ['$(id)'], ['a/b'], ['`id`']])(
    'refuses target_modules %j with the rule',
    async (module) => {
      expect(await issuesOf(minimalSpec({ target_modules: [module] }))).toContainEqual({
        path: 'target_modules[0]',
        message: "must be a module name: letters, digits, '_', '.' and '-' (no path separators, spaces or shell text)",
      });
    },
  );

  it('refused specs queued nothing', async () => {
    expect(cp.store.listSweeps()).toHaveLength(0);
    const counts = await cp.queueCounts();
    for (const [queue, states] of Object.entries(counts))
      expect(
        Object.values(states).every((n) => n === 0),
        queue,
      ).toBe(true);
  });

  it('caps unfinished sweeps per control plane (429 CP_ERR_TOO_MANY_SWEEPS)', async () => {
    expect((await submit(minimalSpec({ name: 'one', training: { ...training, seed: 1 } }))).statusCode).toBe(201);
    expect((await submit(minimalSpec({ name: 'two', training: { ...training, seed: 2 } }))).statusCode).toBe(201);
    const third = await submit(minimalSpec({ name: 'three', training: { ...training, seed: 3 } }));
    expect(third.statusCode).toBe(429);
    expect(third.json().error).toMatchObject({
      code: 'CP_ERR_TOO_MANY_SWEEPS',
      message: expect.stringContaining('BSLORA_MAX_ACTIVE_SWEEPS'),
    });
    for (const s of cp.store.listSweeps())
      await app.inject({ method: 'POST', url: `/api/v1/sweeps/${s.id}/cancel`, headers: auth });
    expect((await submit(minimalSpec({ name: 'three', training: { ...training, seed: 3 } }))).statusCode).toBe(201);
  });

  it('200 event streams of one sweep cost one snapshot, and /healthz keeps answering', async () => {
    const res = await submit(
      minimalSpec({
        name: 'streamed',
        base_model: 'builtin:smollm2-135m',
        grid: { method: ['lora'], lora_ranks: Array.from({ length: 150 }, (_, i) => i + 1), seeds: [0, 1] },
      }),
    );
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id as string;
    await app.inject({ method: 'POST', url: `/api/v1/sweeps/${id}/cancel`, headers: auth });
    let builds = 0;
    const get = ViewCache.prototype.get;
    const spy = vi.spyOn(ViewCache.prototype, 'get').mockImplementation(function (this: ViewCache, key, build, also) {
      return get.call(this, key, () => (key === `snapshot:${id}` ? builds++ : 0, build()), also);
    });
    try {
      // Clients arrive twenty at a time (inject hands each whole body back to this same process, which real clients
      // don't).
      const watch = await watchEventLoop(app, async () => {
        const all = [];
        for (let i = 0; i < 10; i++)
          all.push(
            ...(await Promise.all(Array.from({ length: 20 }, () => app.inject(`/api/v1/sweeps/${id}/events`)))),
          );
        return all;
      });
      expect(watch.result).toHaveLength(200);
      for (const stream of watch.result)
        expect(parseSse(stream.body).events.map((e) => e.event)).toEqual(['snapshot', 'end']);
      expect(builds).toBe(1);
      expect(watch.maxHealthMs).toBeLessThan(100);
    } finally {
      spy.mockRestore();
    }
  });

  it('caps open event streams per token (429 CP_ERR_TOO_MANY_STREAMS); another client is unaffected, and a closed one frees its slot', async () => {
    const capped = buildApp({ controlPlane: cp, token: TOKEN, env: {}, maxStreamsPerClient: 3 });
    const sweep = await submit(minimalSpec({ name: 'open', training: { ...training, seed: 9 } }));
    const id = sweep.json().id as string;
    const base = await capped.listen({ host: '127.0.0.1', port: 0 });
    const open = async (token: string) => {
      const ctl = new AbortController();
      const r = await fetch(`${base}/api/v1/sweeps/${id}/events`, {
        headers: { authorization: `Bearer ${token}` },
        signal: ctl.signal,
      });
      return { status: r.status, body: r.status === 200 ? null : await r.json(), close: () => ctl.abort() };
    };
    try {
      const held = [await open(TOKEN), await open(TOKEN), await open(TOKEN)];
      expect(held.map((h) => h.status)).toEqual([200, 200, 200]);
      const fourth = await open(TOKEN);
      expect(fourth.status).toBe(429);
      expect(fourth.body.error.code).toBe('CP_ERR_TOO_MANY_STREAMS');
      const other = await open('another-token');
      expect(other.status).toBe(200);
      other.close();
      held[0]!.close();
      await new Promise((r) => setTimeout(r, 200));
      const again = await open(TOKEN);
      expect(again.status).toBe(200);
      again.close();
      held.slice(1).forEach((h) => h.close());
    } finally {
      await app.inject({ method: 'POST', url: `/api/v1/sweeps/${id}/cancel`, headers: auth });
      await capped.close();
    }
  });
});

describe('token files and file modes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bslora-token-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses an empty token file, an empty BSLORA_API_TOKEN and a token with whitespace at start', () => {
    mkdirSync(join(dir, 'empty'));
    writeFileSync(join(dir, 'empty', 'api-token'), '\n');
    expect(() => loadOrCreateToken(join(dir, 'empty'), {})).toThrow(
      expect.objectContaining({ code: 'CP_ERR_TOKEN_INVALID', message: expect.stringContaining('is empty') }),
    );
    expect(() => loadOrCreateToken(dir, { BSLORA_API_TOKEN: '' })).toThrow(
      expect.objectContaining({ code: 'CP_ERR_TOKEN_INVALID' }),
    );
    expect(() => loadOrCreateToken(dir, { BSLORA_API_TOKEN: 'two words' })).toThrow(
      expect.objectContaining({ code: 'CP_ERR_TOKEN_INVALID', message: expect.stringContaining('whitespace') }),
    );
    expect(loadOrCreateToken(dir, { BSLORA_API_TOKEN: 'fine-token' }).token).toBe('fine-token');
  });

  it('creates the token 0600, the store 0600 in a 0700 folder, and artifacts 0600 in a 0700 folder', () => {
    const home = join(dir, 'home');
    const { created } = loadOrCreateToken(home, {});
    expect(created).toBe(true);
    expect(statSync(home).mode & 0o777).toBe(0o700);
    expect(statSync(join(home, 'api-token')).mode & 0o777).toBe(0o600);
    const store = new Store(join(home, 'state', 'bslora.db'));
    store.close();
    expect(statSync(join(home, 'state')).mode & 0o777).toBe(0o700);
    expect(statSync(join(home, 'state', 'bslora.db')).mode & 0o777).toBe(0o600);
    const artifacts = new ArtifactStore(join(home, 'artifacts'));
    const sha = artifacts.putLocal(Buffer.from('adapter'));
    expect(statSync(join(home, 'artifacts')).mode & 0o777).toBe(0o700);
    expect(statSync(artifacts.pathOf(sha)).mode & 0o777).toBe(0o600);
  });
});
