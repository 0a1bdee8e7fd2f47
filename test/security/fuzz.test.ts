/**
 * Issue 13, item 5: a property-based fuzz of the spec parser and the REST API that stays in `make test`. Bounded
 * (a fixed number of runs per property), run twice: once with a fixed seed, once with a random one that is printed
 * (rerun a failure with BSLORA_FUZZ_SEED=<seed>). Asserts: the parser only ever refuses with CP_ERR_SPEC_INVALID;
 * the API never answers 5xx; the event loop is never held over 100 ms; and a refused spec queues and stores nothing.
 * REST through inject() on a real ControlPlane and a real Redis (unique prefix).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../control-plane/src/api/app.js';
import { ControlPlane } from '../../control-plane/src/control-plane.js';
import { isControlPlaneError } from '../../control-plane/src/errors.js';
import { parseSweepSpec } from '../../control-plane/src/sweep-specs/index.js';
import { minimalSpec } from '../../control-plane/src/sweep-specs/test-fixtures.js';
import { signGithubPayload } from '../../control-plane/src/webhooks/github-signature.js';
import { watchEventLoop } from '../helpers/event-loop.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

const TOKEN = 'fuzz-test-token';
const HOOK_SECRET = 'fuzz-hook-secret';
const FIXED_SEED = 20261129;
const RANDOM_SEED = Number(process.env.BSLORA_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const SEEDS = [FIXED_SEED, RANDOM_SEED];
console.log(`fuzz seeds: fixed ${FIXED_SEED}, random ${RANDOM_SEED} (rerun with BSLORA_FUZZ_SEED=${RANDOM_SEED})`);

/** Values a hostile client would try in any field. */
const hostileValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    '/dev/zero',
    '/etc/passwd',
    '../../../../etc/shadow',
    'lm-eval:/etc/passwd',
    '~/.ssh/id_rsa',
    'file:/proc/self/environ',
    'builtin:nope',
    'q_proj\u0000',
    '$(id)',
    '&payload={"ref":"x"}&',
    'http://127.0.0.1:7433/',
    'http:///etc/passwd',
    'BSLORA_API_TOKEN',
    4_000_000_000,
    1e15,
    1e308,
    -1,
    0,
    0.5,
    '',
    'x'.repeat(5000),
  ),
  fc.array(fc.integer({ min: -10, max: 5000 }), { maxLength: 300 }),
);

/** Fields of a spec, by path, that the mutations overwrite. */
const FIELDS = [
  ['name'],
  ['description'],
  ['base_model'],
  ['train_data'],
  ['eval_tasks'],
  ['eval_tasks', 0],
  ['target_modules'],
  ['target_modules', 0],
  ['training'],
  ['training', 'steps'],
  ['training', 'learning_rate'],
  ['training', 'batch_size'],
  ['training', 'seq_len'],
  ['training', 'eval_limit'],
  ['training', 'seeds'],
  ['grid'],
  ['grid', 'method'],
  ['grid', 'lora_ranks'],
  ['grid', 'ranks'],
  ['grid', 'total_rank'],
  ['grid', 'sharing_ratio'],
  ['grid', 'intra_fraction'],
  ['grid', 'paired'],
  ['grid', 'seeds'],
  ['notify'],
  ['expect'],
  ['budget'],
  ['priority'],
  ['method_versions'],
  ['__proto__'],
  ['constructor'],
] as const;

function setIn(
  target: Record<string, unknown>,
  path: readonly (string | number)[],
  value: unknown,
): Record<string, unknown> {
  const copy = structuredClone(target) as Record<string, unknown>;
  let node: Record<string | number, unknown> = copy;
  for (const seg of path.slice(0, -1)) {
    if (!node[seg] || typeof node[seg] !== 'object') node[seg] = {};
    node = node[seg] as Record<string | number, unknown>;
  }
  Object.defineProperty(node, path[path.length - 1]!, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** A spec with a few fields replaced by hostile values, as YAML or JSON text, or text of no shape at all. */
const specText = fc.oneof(
  fc
    .tuple(fc.array(fc.tuple(fc.constantFrom(...FIELDS), hostileValue), { minLength: 1, maxLength: 4 }), fc.boolean())
    .map(([edits, asJson]) => {
      const spec = edits.reduce((s, [path, value]) => setIn(s, path, value), minimalSpec());
      return {
        text: asJson ? JSON.stringify(spec) : stringify(spec),
        format: asJson ? ('json' as const) : ('yaml' as const),
      };
    }),
  fc.string({ maxLength: 2000 }).map((text) => ({ text, format: 'yaml' as const })),
  fc.string({ maxLength: 2000 }).map((text) => ({ text, format: 'json' as const })),
  fc.constantFrom(
    { text: 'a: &a [*a]\n', format: 'yaml' as const },
    {
      text: 'a: &x [1,1,1,1]\nb: &y [*x,*x,*x,*x]\nc: &z [*y,*y,*y,*y]\nd: [*z,*z,*z,*z,*z]\n',
      format: 'yaml' as const,
    },
    { text: '{"__proto__": {"polluted": true}}', format: 'json' as const },
    { text: `${'['.repeat(5000)}${']'.repeat(5000)}`, format: 'json' as const },
  ),
);

describe('fuzz: spec parser', () => {
  it.each(SEEDS)('refuses anything but a valid spec with CP_ERR_SPEC_INVALID and nothing else (seed %i)', (seed) => {
    const root = mkdtempSync(join(tmpdir(), 'bslora-fuzz-roots-'));
    try {
      fc.assert(
        fc.property(specText, ({ text, format }) => {
          try {
            parseSweepSpec(text, { format, baseDir: root, roots: [root] });
          } catch (err) {
            if (!isControlPlaneError(err) || err.code !== 'CP_ERR_SPEC_INVALID') throw err;
            expect(err.issues.length).toBeGreaterThan(0);
            expect(err.issues.length).toBeLessThanOrEqual(100);
          }
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        }),
        { seed, numRuns: 300 },
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('fuzz: REST API', () => {
  const prefix = uniquePrefix('fuzz');
  const home = mkdtempSync(join(tmpdir(), 'bslora-fuzz-'));
  let cp: ControlPlane;
  let app: FastifyInstance;

  beforeAll(async () => {
    mkdirSync(join(home, 'data'), { recursive: true });
    cp = await ControlPlane.start({ redisUrl: TEST_REDIS_URL, prefix, homeDir: home, env: {} });
    app = buildApp({ controlPlane: cp, token: TOKEN, env: { BSLORA_GITHUB_HOOK_SECRET: HOOK_SECRET } });
    await app.ready(); // the spec-checking thread has loaded before anything is measured
    // Warm up outside the measured window: the first request of each kind compiles its code and starts the
    // spec-checking thread, once per process, whatever the input.
    const accepted = await app.inject({
      method: 'POST',
      url: '/api/v1/sweeps',
      payload: stringify(minimalSpec({ name: 'warm-up' })),
      headers: { 'content-type': 'application/yaml', authorization: `Bearer ${TOKEN}` },
    });
    await app.inject({
      method: 'POST',
      url: `/api/v1/sweeps/${accepted.json().id}/cancel`,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    for (const url of ['/api/v1/sweeps', `/api/v1/sweeps/${accepted.json().id}/results`, '/sweeps/x', '/metrics'])
      await app.inject(url);
    await app.inject({
      method: 'POST',
      url: '/api/v1/hooks/github',
      payload: '{}',
      headers: { 'content-type': 'application/json' },
    });
  });

  afterAll(async () => {
    await app?.close();
    await cp?.close();
    await deleteKeysWithPrefix(prefix);
    rmSync(home, { recursive: true, force: true });
  });

  const queued = async () => {
    const counts = await cp.queueCounts();
    return Object.values(counts).reduce((sum, states) => sum + Object.values(states).reduce((a, b) => a + b, 0), 0);
  };

  const contentType = fc.constantFrom(
    'application/yaml',
    'application/json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'text/html',
    '',
    'application/yaml; charset=utf-8',
  );
  const authHeader = fc.constantFrom(
    `Bearer ${TOKEN}`,
    `bearer ${TOKEN}`,
    'Bearer wrong',
    TOKEN,
    '',
    `Basic ${TOKEN}`,
  );
  const junk = fc.string({ maxLength: 200 });

  const request = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('submit' as const),
        spec: specText,
        type: contentType,
        auth: authHeader,
        base: fc.option(fc.constantFrom('/etc', '/', '..', home, join(home, 'data'), '%00'), { nil: undefined }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('get' as const),
        path: fc.constantFrom(
          '/api/v1/sweeps',
          '/api/v1/sweeps/',
          '/api/v1/sweeps/x/results',
          '/api/v1/sweeps/../../etc/passwd',
          '/api/v1/workers',
          '/metrics',
          '/sweeps/x',
        ),
        query: junk,
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), id: junk, auth: authHeader }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('hook' as const),
        body: junk,
        signed: fc.boolean(),
        type: contentType,
        event: fc.constantFrom('push', 'ping', 'workflow_run', '', 'x'),
        spec: junk,
      }),
    },
  );

  it.each(SEEDS)(
    'answers every request below 500, never holds the event loop over 100 ms, and queues nothing for a refused spec (seed %i)',
    async (seed) => {
      const watch = await watchEventLoop(app, () =>
        fc.assert(
          fc.asyncProperty(request, async (r) => {
            let res;
            if (r.kind === 'submit') {
              const sweepsBefore = cp.store.listSweeps(1000).length;
              const queuedBefore = await queued();
              const url = `/api/v1/sweeps${r.base !== undefined ? `?base=${encodeURIComponent(r.base)}` : ''}`;
              res = await app.inject({
                method: 'POST',
                url,
                payload: r.spec.text,
                headers: { 'content-type': r.type, authorization: r.auth },
              });
              if (res.statusCode >= 400) {
                expect(cp.store.listSweeps(1000).length).toBe(sweepsBefore);
                expect(await queued()).toBe(queuedBefore);
              } else {
                // Accepted: cancel at once so that the next refused spec is judged against a quiet queue.
                await app.inject({
                  method: 'POST',
                  url: `/api/v1/sweeps/${res.json().id}/cancel`,
                  headers: { authorization: `Bearer ${TOKEN}` },
                });
              }
            } else if (r.kind === 'get') {
              res = await app.inject(`${r.path}?${encodeURIComponent(r.query)}`);
            } else if (r.kind === 'cancel') {
              res = await app.inject({
                method: 'POST',
                url: `/api/v1/sweeps/${encodeURIComponent(r.id)}/cancel`,
                headers: { authorization: r.auth },
              });
            } else {
              const headers: Record<string, string> = { 'content-type': r.type, 'x-github-event': r.event };
              if (r.signed) headers['x-hub-signature-256'] = signGithubPayload(HOOK_SECRET, r.body);
              res = await app.inject({
                method: 'POST',
                url: `/api/v1/hooks/github?spec=${encodeURIComponent(r.spec)}`,
                payload: r.body,
                headers,
              });
            }
            expect(res.statusCode, `${r.kind}: ${res.body.slice(0, 300)}`).toBeLessThan(500);
            // Every JSON error carries a registered code (the dashboard's own 404 page is HTML).
            if (res.statusCode >= 400 && String(res.headers['content-type']).includes('json'))
              expect(res.json().error.code).toMatch(/^CP_ERR_/);
          }),
          { seed, numRuns: 60 },
        ),
      );
      expect(watch.maxStallMs).toBeLessThan(100);
      expect(watch.maxHealthMs).toBeLessThan(100);
    },
    120_000,
  );
});
