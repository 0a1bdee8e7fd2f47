/**
 * Issue 13, item 2: paths are confined, existence outside the roots is not revealed, and reads can need the token.
 * REST through inject() on a real ControlPlane (real Redis, unique prefix); one real worker process for the
 * worker-side roots.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../control-plane/src/api/app.js';
import { ControlPlane } from '../../control-plane/src/control-plane.js';
import { serverDataRoots } from '../../control-plane/src/data-roots.js';
import { expandSweep, parseSweepSpec } from '../../control-plane/src/sweep-specs/index.js';
import { minimalSpec } from '../../control-plane/src/sweep-specs/test-fixtures.js';
import { spawnWorker } from '../../control-plane/src/worker-process/spawn-worker.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

const TOKEN = 'confinement-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('confinement of local paths', () => {
  const prefix = uniquePrefix('confine');
  const home = mkdtempSync(join(tmpdir(), 'bslora-confine-'));
  const data = join(home, 'data');
  const elsewhere = mkdtempSync(join(tmpdir(), 'bslora-elsewhere-'));
  let cp: ControlPlane;
  let app: FastifyInstance;

  beforeAll(async () => {
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'train.json'), JSON.stringify([{ instruction: 'a', input: '', output: 'b' }]));
    writeFileSync(join(elsewhere, 'secret.json'), '[{"instruction": "topsecret", "input": "", "output": "x"}]');
    symlinkSync(join(elsewhere, 'secret.json'), join(data, 'link.json'));
    symlinkSync(elsewhere, join(data, 'dirlink'));
    cp = await ControlPlane.start({ redisUrl: TEST_REDIS_URL, prefix, homeDir: home });
    app = buildApp({ controlPlane: cp, token: TOKEN, env: {} });
    await app.ready(); // the spec-checking thread has loaded before anything is measured
  });

  afterAll(async () => {
    await app?.close();
    await cp?.close();
    await deleteKeysWithPrefix(prefix);
    rmSync(home, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });

  const submit = (spec: Record<string, unknown>, query = '') =>
    app.inject({
      method: 'POST',
      url: `/api/v1/sweeps${query}`,
      payload: stringify(spec),
      headers: { ...auth, 'content-type': 'application/yaml' },
    });

  it('defaults the REST roots to <home>/data and <home>/artifacts (BSLORA_DATA_ROOTS replaces the first)', () => {
    expect(serverDataRoots(home, {})).toEqual([data, join(home, 'artifacts')]);
    expect(serverDataRoots(home, { BSLORA_DATA_ROOTS: '/srv/a:/srv/b' })).toEqual([
      '/srv/a',
      '/srv/b',
      join(home, 'artifacts'),
    ]);
  });

  it('accepts a file under the data root, relative to it by default', async () => {
    const res = await submit(minimalSpec({ name: 'inside', train_data: './train.json' }));
    expect(res.statusCode, res.body).toBe(201);
    await app.inject({ method: 'POST', url: `/api/v1/sweeps/${res.json().id}/cancel`, headers: auth });
  });

  it('refuses ?base= outside the roots (the /etc/shadow reproduction) with 400 CP_ERR_PATH_NOT_ALLOWED', async () => {
    const res = await submit(
      minimalSpec({ train_data: '../../../../etc/shadow.json' }),
      `?base=${encodeURIComponent(elsewhere)}`,
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      code: 'CP_ERR_PATH_NOT_ALLOWED',
      message: expect.stringContaining(`?base=${elsewhere} is outside the folders`),
    });
    const dotdot = await submit(minimalSpec({ train_data: '../../../../etc/shadow' }));
    expect(dotdot.statusCode).toBe(400);
    expect(dotdot.json().error.issues).toEqual([
      { path: 'train_data', message: expect.stringContaining('is outside the folders this control plane reads') },
    ]);
  });

  it('refuses /etc/passwd, /root, symlinks out of the root and linked folders, all with the same words', async () => {
    for (const ref of ['/etc/passwd', '/root/x.json', join(data, 'link.json'), join(data, 'dirlink', 'secret.json')]) {
      const res = await submit(minimalSpec({ train_data: ref }));
      expect(res.statusCode, ref).toBe(400);
      const [issue] = res.json().error.issues;
      expect(issue.message).toBe(
        `local path "${ref}" is outside the folders this control plane reads (${data}, ${join(home, 'artifacts')}); move it under one of them, or add a root (\`--root\` for the CLI, BSLORA_DATA_ROOTS for the server)`,
      );
      expect(res.body).not.toContain('topsecret');
      expect(res.body).not.toContain(elsewhere + '/secret');
    }
  });

  it('does not reveal whether a path outside the roots exists', async () => {
    const message = async (ref: string) =>
      (await submit(minimalSpec({ train_data: ref }))).json().error.issues[0].message.replace(ref, '<ref>');
    expect(await message(join(elsewhere, 'secret.json'))).toBe(await message(join(elsewhere, 'no-such-file.json')));
    expect(await message('/etc/passwd')).toBe(await message('/etc/no-such-file'));
  });

  it('refuses lm-eval:/etc/passwd (not a task .yaml) and lm-eval task files outside the roots, without walking /etc', async () => {
    const notYaml = await submit(minimalSpec({ eval_tasks: ['lm-eval:/etc/passwd'] }));
    expect(notYaml.json().error.issues).toEqual([
      { path: 'eval_tasks[0]', message: '"lm-eval:/etc/passwd": a local lm-eval task is a .yaml or .yml file' },
    ]);
    const outside = await submit(minimalSpec({ eval_tasks: ['lm-eval:/etc/task.yaml'] }));
    expect(outside.json().error.issues[0].message).toContain('is outside the folders');
  });

  it('queued nothing for the refused specs', async () => {
    expect(cp.store.listSweeps().map((s) => s.name)).toEqual(['inside']);
    const jobs = await cp.queueCounts();
    expect(jobs.train.waiting + jobs.train['waiting-children'] + jobs.train.active).toBe(0);
  });

  it('a worker started with roots refuses a local path outside them, without its resolved target or contents', async () => {
    const worker = await spawnWorker({ runDir: join(home, 'worker'), allowedRoots: [data] });
    try {
      const plan = expandSweep(
        parseSweepSpec(
          stringify(minimalSpec({ base_model: join(data, 'dirlink'), grid: { method: ['lora'], lora_ranks: [4] } })),
          { baseDir: data },
        ),
      )[0]!;
      const err = await worker.client.countParameters(plan, { timeoutMs: 60_000 }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toContain(`is outside the worker's allowed roots: ${data}`);
      expect((err as Error).message).not.toContain(elsewhere);
    } finally {
      await worker.stop();
    }
  }, 120_000);
});

describe('read auth', () => {
  const prefix = uniquePrefix('readauth');
  const home = mkdtempSync(join(tmpdir(), 'bslora-readauth-'));
  let cp: ControlPlane;
  let app: FastifyInstance;

  beforeAll(async () => {
    cp = await ControlPlane.start({ redisUrl: TEST_REDIS_URL, prefix, homeDir: home });
    app = buildApp({ controlPlane: cp, token: TOKEN, env: {}, readAuth: true });
  });

  afterAll(async () => {
    await app?.close();
    await cp?.close();
    await deleteKeysWithPrefix(prefix);
    rmSync(home, { recursive: true, force: true });
  });

  it('refuses reads of sweeps, deliveries, workers and event streams without the token (401), and serves them with it', async () => {
    for (const url of [
      '/api/v1/sweeps',
      '/api/v1/sweeps/x',
      '/api/v1/sweeps/x/results',
      '/api/v1/sweeps/x/webhook-deliveries',
      '/api/v1/sweeps/x/events',
      '/api/v1/workers',
      '/sweeps/x',
    ]) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(401);
      expect(res.json().error.code).toBe('CP_ERR_UNAUTHORIZED');
    }
    expect((await app.inject({ url: '/api/v1/sweeps', headers: auth })).statusCode).toBe(200);
    // The scheme is case-insensitive (RFC 7235).
    expect(
      (await app.inject({ url: '/api/v1/sweeps', headers: { authorization: `bearer ${TOKEN}` } })).statusCode,
    ).toBe(200);
    expect(
      (await app.inject({ url: '/api/v1/sweeps', headers: { authorization: `BEARER ${TOKEN}` } })).statusCode,
    ).toBe(200);
  });

  it('keeps /healthz, /readyz, /metrics, the OpenAPI document and the dashboard shell open', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics', '/api/v1/openapi.json', '/'])
      expect((await app.inject(url)).statusCode, url).toBe(200);
  });

  it('lets the dashboard in with ?token= once (HttpOnly cookie), for reads only', async () => {
    expect((await app.inject('/?token=wrong')).statusCode).toBe(401);
    const login = await app.inject(`/sweeps/abc?token=${TOKEN}`);
    expect(login.statusCode).toBe(303);
    expect(login.headers.location).toBe('/sweeps/abc');
    const cookie = String(login.headers['set-cookie']);
    expect(cookie).toMatch(/^bslora_token=.+; HttpOnly; SameSite=Strict; Path=\/$/);
    const jar = { cookie: cookie.split(';')[0]! };
    expect((await app.inject({ url: '/api/v1/sweeps', headers: jar })).statusCode).toBe(200);
    const write = await app.inject({
      method: 'POST',
      url: '/api/v1/sweeps',
      headers: { ...jar, 'content-type': 'application/yaml' },
      payload: stringify(minimalSpec()),
    });
    expect(write.statusCode).toBe(401);
  });
});
