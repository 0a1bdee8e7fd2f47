/**
 * REST API load benchmark (issue 6 item 6; results in docs/benchmarks.md, "REST API load").
 *
 *   npx tsx test/bench/api-load-benchmark.ts [--duration 10] [--connections 10] [--trials 1000] [--wrk]
 *                                            [--only results,csv,...] [--json out.json]
 *                                            [--redis redis://127.0.0.1:6379]
 *
 * One ControlPlane (a unique queue prefix on the real Redis, deleted afterwards; a temporary store) and the API app
 * (buildApp) listening on 127.0.0.1:<ephemeral>, in this process. The store is seeded directly, without training: a
 * sweep spec that expands to --trials trials (LoRA r=8/16 baselines and BSLoRA rank triples over seeds, three eval
 * tasks, an `expect` rule) is expanded and stored with createSweep, a result (per-task metrics, parameter counts,
 * train record) is recorded for every trial, and the sweep is closed as the recorder closes it (finishSweep); 100
 * small finished sweeps are added so that the list endpoint serves a full page.
 *
 * Each endpoint is then loaded by autocannon for --duration seconds with --connections keep-alive connections,
 * autocannon running as a separate Node process (node_modules/autocannon/autocannon.js --json), so that the load
 * generator and the server each have their own event loop (they still share the machine's cores). Reported per
 * endpoint: requests per second (mean over the run), latency p50 / p99, errors (socket errors and timeouts),
 * non-2xx responses, response size, the server process's CPU use, and the 1-minute load average before the run.
 *
 * The submit endpoint is loaded twice: "submit" sends the same tiny one-trial spec with a fresh Idempotency-Key per
 * request (autocannon's [<id>] replacement), so every request validates, stores and enqueues a new sweep (a BullMQ
 * flow in Redis); "submit replay" sends one fixed key, so after the first request every request is the idempotent
 * replay (200, `Idempotent-Replayed: true`). The GET endpoints run first, before the submits add sweeps.
 *
 * GET results is also loaded with `Accept-Encoding: gzip` ("results gzip") and with the ETag in `If-None-Match`
 * ("results 304", the revalidation a polling client makes). With --wrk each GET is loaded by wrk too (Debian's
 * package, a C client with the same connections and duration): autocannon's JavaScript HTTP parser, not the server,
 * limits it on large bodies (the client's CPU use is reported alongside the server's).
 *
 * The "(uncached)" rows run against a second app on the same control plane built with
 * `cacheViews: false`, i.e. the code path before the view cache (control-plane/src/api/view-cache.ts), and
 * "results full" asks for every trial's whole plan and result (`?include=plan,result`, the document's shape before
 * its rows became table lines), so both before/after ratios are measured side by side in one run. The run fails
 * (exit 1) when any row has errors or GET results is under 2,000 req/s (with autocannon, and with wrk under --wrk).
 *
 * Not a vitest test and not part of `make test`. Other work on the machine skews every number: the load average is
 * printed with each row.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../control-plane/src/api/app.js';
import { ControlPlane } from '../../control-plane/src/control-plane.js';
import { finishSweep } from '../../control-plane/src/recorder/result-recorder.js';
import type { TrialResult } from '../../control-plane/src/store/store.js';
import { expandSweep, parseSweepSpec } from '../../control-plane/src/sweep-specs/index.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    trials: { type: 'string', default: '1000' },
    only: { type: 'string' },
    json: { type: 'string' },
    // Also load each GET with wrk (a C client: shows where autocannon's JS parser, not the server, is the limit).
    wrk: { type: 'boolean', default: false },
    redis: { type: 'string', default: TEST_REDIS_URL },
  },
});
const DURATION_S = Number(args.duration);
const CONNECTIONS = Number(args.connections);
const TRIALS = Number(args.trials);
const REDIS_URL = args.redis!;
const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon');
const TARGET_RPS = 2_000;

const log = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

// ------------------------------------------------------------------------------------------------------- seeding
const RANK_TRIPLES = [
  { local: 2, intra: 2, inter: 4 },
  { local: 4, intra: 2, inter: 2 },
  { local: 2, intra: 4, inter: 2 },
  { local: 1, intra: 1, inter: 6 },
  { local: 6, intra: 1, inter: 1 },
  { local: 0, intra: 4, inter: 4 },
  { local: 4, intra: 0, inter: 4 },
  { local: 8, intra: 4, inter: 4 },
];
const LORA_RANKS = [8, 16];
const TASKS = ['builtin:arith', 'hellaswag', 'arc_easy'];

/** A spec of --trials trials: (2 LoRA ranks + 8 BSLoRA triples) × seeds, with one `expect` rule. */
function bigSpec(trials: number): unknown {
  const seeds = Math.max(1, Math.round(trials / (LORA_RANKS.length + RANK_TRIPLES.length)));
  return {
    name: `api-load-${trials}`,
    description: 'REST API load benchmark: results recorded directly into the store, nothing trained.',
    base_model: 'builtin:tiny-llama',
    train_data: 'builtin:arith',
    eval_tasks: ['builtin:arith'],
    target_modules: ['q_proj', 'k_proj', 'v_proj', 'up_proj', 'down_proj'],
    training: { steps: 30, learning_rate: 0.003, batch_size: 8, seq_len: 64, eval_limit: 200 },
    grid: {
      method: ['lora', 'bslora'],
      lora_ranks: LORA_RANKS,
      share_mode: 'slice',
      ranks: RANK_TRIPLES,
      seeds: Array.from({ length: seeds }, (_, i) => i),
    },
    budget: { max_trials: seeds * (LORA_RANKS.length + RANK_TRIPLES.length) },
    expect: [
      {
        name: 'BSLoRA within 0.5 points of LoRA r=8 at half its parameters',
        best: 'bslora',
        at_least: 'lora:r8 - 0.5',
        max_param_share: 0.5,
      },
    ],
  };
}

/** A one-trial spec for the submit endpoint. */
const TINY_SPEC = JSON.stringify({
  name: 'api-load-submit',
  base_model: 'builtin:tiny-llama',
  train_data: 'builtin:arith',
  eval_tasks: ['builtin:arith'],
  target_modules: ['q_proj', 'v_proj'],
  training: { steps: 1, learning_rate: 0.001, batch_size: 2, seq_len: 32, eval_limit: 1 },
  grid: { method: ['bslora'], share_mode: 'slice', ranks: [{ local: 2, intra: 2, inter: 4 }] },
});

/** A deterministic pseudo-random number in [0, 1) per (i, salt). */
const rnd = (i: number, salt: number) => {
  const x = Math.sin(i * 12.9898 + salt * 78.233) * 43758.5453;
  return x - Math.floor(x);
};

/** A plausible trial result: parameter counts by part, three tasks' metrics, the train record. */
function fakeResult(
  i: number,
  plan: { method: string; rank?: number; ranks?: { local: number; intra: number; inter: number } },
): TrialResult {
  const perRank = 73_728; // tiny-llama, 5 target modules: trainable parameters per unit of rank
  const r = plan.ranks;
  const counts =
    plan.method === 'lora'
      ? { local: perRank * (plan.rank ?? 8), intra: 0, inter: 0, transform: 0, total: perRank * (plan.rank ?? 8) }
      : {
          local: perRank * r!.local,
          intra: (perRank * r!.intra) / 4,
          inter: (perRank * r!.inter) / 16,
          transform: 0,
          total: 0,
        };
  counts.total = counts.local + counts.intra + counts.inter + counts.transform;
  const metrics = Object.fromEntries(
    TASKS.map((t, k) => [t, { acc: 0.3 + 0.5 * rnd(i, k), accNorm: 0.3 + 0.5 * rnd(i, k + 10), n: 200 }]),
  );
  const initialLoss = 2 + rnd(i, 20);
  return {
    counts,
    initialLoss,
    finalLoss: initialLoss * (0.2 + 0.3 * rnd(i, 21)),
    metrics,
    adapterSha256: randomBytes(32).toString('hex'),
    train: {
      trialKey: '',
      counts,
      initialLoss,
      steps: 30,
      wallSeconds: 20 + 40 * rnd(i, 22),
      peakMemoryBytes: 400_000_000 + Math.round(1e8 * rnd(i, 23)),
      versions: { torch: '2.5.1', peft: '0.13.2', transformers: '4.46.3' },
      device: 'cpu',
      seed: i,
      adapterSize: counts.total * 4,
      resumedFromStep: 0,
      workerAddress: '127.0.0.1:50051',
    },
  };
}

function seedSweep(cp: ControlPlane, specObj: unknown, id: string): number {
  const spec = parseSweepSpec(JSON.stringify(specObj), { format: 'json', sourceName: 'bench spec' });
  const plans = expandSweep(spec);
  cp.store.createSweep({ id, name: spec.name, spec }, plans, new Set());
  cp.store.inTransaction(() =>
    plans.forEach((plan, i) => {
      const result = fakeResult(i, plan as never);
      result.train.trialKey = plan.trialKey;
      cp.store.recordResult(plan.trialKey, result);
    }),
  );
  finishSweep(cp.store, id);
  return plans.length;
}

// ------------------------------------------------------------------------------------------------------ loading
interface Target {
  name: string;
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** Replace [<id>] in the request with a fresh id per request. */
  idReplacement?: boolean;
  /** Status every response must have. */
  expectStatus: number;
}

interface Row {
  endpoint: string;
  request: string;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  timeouts: number;
  /** Responses with another status class than the one expected (non-2xx, or non-304 for the conditional GET). */
  non2xx: number;
  bytesPerResponse: number;
  /** CPU seconds per second of this process (the server) and of the autocannon process during the run. */
  serverCpu: number;
  clientCpu: number;
  /** The same target loaded by wrk (--wrk). */
  wrk?: { rps: number; p99: number; bad: number; errors: number };
  load1: number;
}

/**
 * Runs autocannon in its own Node process (its programmatic API, options passed as JSON: the CLI's argument parser
 * mangles bodies and headers with brackets) against one target and returns its result object.
 */
const RUNNER = `
const autocannon = require(process.env.AUTOCANNON);
autocannon(JSON.parse(process.env.AUTOCANNON_OPTS), (err, result) => {
  if (err) { console.error(err); process.exit(1); }
  const cpu = process.cpuUsage();
  process.stdout.write(JSON.stringify({ ...result, clientCpuSeconds: (cpu.user + cpu.system) / 1e6 }));
});`;
function autocannon(target: Target): Promise<Record<string, any>> {
  const opts = {
    url: target.url,
    method: target.method,
    headers: target.headers,
    body: target.body,
    idReplacement: target.idReplacement ?? false,
    connections: CONNECTIONS,
    duration: DURATION_S,
  };
  const env = { ...process.env, AUTOCANNON, AUTOCANNON_OPTS: JSON.stringify(opts) };
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['-e', RUNNER], { env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`autocannon failed: ${err.message}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new Error(`autocannon printed no JSON:\n${stdout}\n${stderr}`));
      }
    }),
  );
}

/** wrk (Debian's package) against one GET target: req/s and p99 in ms, non-2xx/3xx count. */
function wrk(target: Target): Promise<{ rps: number; p99: number; bad: number; errors: number }> {
  const argv = ['-t1', `-c${CONNECTIONS}`, `-d${DURATION_S}s`, '--latency'];
  for (const [k, v] of Object.entries(target.headers ?? {})) argv.push('-H', `${k}: ${v}`);
  argv.push(target.url);
  return new Promise((resolve, reject) =>
    execFile('wrk', argv, (err, stdout) => {
      if (err) return reject(err);
      const ms = (m: RegExpExecArray | null) =>
        m ? Number(m[1]) * ({ us: 1e-3, ms: 1, s: 1e3 } as Record<string, number>)[m[2]] : NaN;
      resolve({
        rps: Number(/Requests\/sec:\s+([0-9.]+)/.exec(stdout)?.[1]),
        p99: ms(/99%\s+([0-9.]+)(us|ms|s)/.exec(stdout)),
        bad: Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0),
        errors: [...stdout.matchAll(/(connect|read|write|timeout) (\d+)/g)].reduce((a, m) => a + Number(m[2]), 0),
      });
    }),
  );
}

async function load(target: Target): Promise<Row> {
  // One request first: the status must be the expected one, and its size is reported.
  const probe = await fetch(target.url.replace('[<id>]', 'probe'), {
    method: target.method,
    headers: {
      'accept-encoding': 'identity', // fetch asks for gzip by default; autocannon sends only the headers given
      ...Object.fromEntries(Object.entries(target.headers ?? {}).map(([k, v]) => [k, v.replace('[<id>]', 'probe')])),
    },
    body: target.body,
  });
  await probe.arrayBuffer();
  if (probe.status !== target.expectStatus && !(target.method === 'POST' && probe.status === 201)) {
    throw new Error(`${target.name}: probe answered ${probe.status}, expected ${target.expectStatus}`);
  }
  const load1 = loadavg()[0];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const out = await autocannon(target);
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // Responses of another status class than expected (autocannon's non2xx counts an expected 304 too).
  const unexpected = target.expectStatus === 304 ? out.requests.total - out['3xx'] : out.non2xx;
  // Bytes on the wire per response, headers included.
  const bytes = out.throughput.total / Math.max(1, out.requests.total);
  const row: Row = {
    endpoint: target.name,
    request: `${target.method} ${new URL(target.url).pathname}${new URL(target.url).search}`,
    rps: out.requests.average,
    p50: out.latency.p50,
    p99: out.latency.p99,
    requests: out.requests.total,
    errors: out.errors,
    timeouts: out.timeouts,
    non2xx: unexpected,
    bytesPerResponse: bytes,
    serverCpu: (cpu.user + cpu.system) / 1e6 / wallS,
    clientCpu: out.clientCpuSeconds / wallS,
    load1,
  };
  log(
    `  ${row.endpoint.padEnd(22)} ${fmt(row.rps, 0).padStart(7)} req/s  p50 ${row.p50} ms  p99 ${row.p99} ms  ` +
      `errors ${row.errors}  timeouts ${row.timeouts}  unexpected status ${row.non2xx}  ${fmt(bytes / 1024)} KiB  ` +
      `CPU server ${fmt(row.serverCpu, 2)} client ${fmt(row.clientCpu, 2)}  load ${fmt(load1, 2)}`,
  );
  if (args.wrk && target.method === 'GET') {
    const w = await wrk(target);
    row.wrk = w;
    log(
      `  ${(`${target.name} (wrk)`).padEnd(22)} ${fmt(w.rps, 0).padStart(7)} req/s  p99 ${fmt(w.p99)} ms  errors ${w.errors}  non-2xx/3xx ${w.bad}`,
    );
  }
  return row;
}

// --------------------------------------------------------------------------------------------------------- main
async function main(): Promise<number> {
  const prefix = uniquePrefix('apiload');
  const home = mkdtempSync(join(tmpdir(), 'bslora-apiload-'));
  const token = randomBytes(24).toString('hex');
  let cp: ControlPlane | undefined;
  const apps: FastifyInstance[] = [];
  async function cleanup(): Promise<void> {
    for (const app of apps.splice(0)) await app.close().catch(() => {});
    await cp?.close().catch(() => {});
    cp = undefined;
    await deleteKeysWithPrefix(prefix).catch(() => {});
    rmSync(home, { recursive: true, force: true });
  }
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

  try {
    cp = await ControlPlane.start({ redisUrl: REDIS_URL, prefix, homeDir: home });
    const listen = async (opts: { cacheViews?: boolean }) => {
      const app = buildApp({ controlPlane: cp!, token, ...opts });
      apps.push(app);
      await app.listen({ host: '127.0.0.1', port: 0 });
      return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    };
    const base = await listen({});
    const uncachedBase = await listen({ cacheViews: false });

    const t0 = performance.now();
    const sweepId = 'sw-apiload-big';
    const n = seedSweep(cp, bigSpec(TRIALS), sweepId);
    for (let i = 0; i < 100; i++) {
      const small = bigSpec(4) as { grid: Record<string, unknown>; budget: unknown; expect?: unknown; name: string };
      small.name = `api-load-small-${i}`;
      small.grid = {
        method: ['lora', 'bslora'],
        lora_ranks: [8],
        share_mode: 'slice',
        ranks: RANK_TRIPLES.slice(0, 1),
        seeds: [1000 + i, 2000 + i],
      };
      small.budget = { max_trials: 4 };
      seedSweep(cp, small, `sw-apiload-small-${String(i).padStart(3, '0')}`);
    }
    log(
      `seeded a ${n}-trial sweep and 100 small ones in ${fmt((performance.now() - t0) / 1000, 2)} s; prefix ${prefix}, home ${home}`,
    );
    const bigRows = (cp.store.getSweep(sweepId)!.summary as { trials: unknown[] }).trials;
    log(
      `the ${n}-trial sweep's summary rows (which the sweep list leaves out): ${fmt(Buffer.byteLength(JSON.stringify(bigRows)) / 1024, 1)} KiB`,
    );
    log(`autocannon (separate process): ${CONNECTIONS} connections, ${DURATION_S} s per endpoint`);

    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const resultsUrl = `${base}/api/v1/sweeps/${sweepId}/results`;
    const etag = (await fetch(resultsUrl)).headers.get('etag') ?? '"none"';
    const targets: Target[] = [
      { name: 'results', method: 'GET', url: resultsUrl, expectStatus: 200 },
      {
        name: 'results gzip',
        method: 'GET',
        url: resultsUrl,
        headers: { 'accept-encoding': 'gzip' },
        expectStatus: 200,
      },
      { name: 'results 304', method: 'GET', url: resultsUrl, headers: { 'if-none-match': etag }, expectStatus: 304 },
      // The document as it was before rows became table lines: every plan and recorded result (train report) inline.
      { name: 'results full', method: 'GET', url: `${resultsUrl}?include=plan,result`, expectStatus: 200 },
      {
        name: 'results full gzip',
        method: 'GET',
        url: `${resultsUrl}?include=plan,result`,
        headers: { 'accept-encoding': 'gzip' },
        expectStatus: 200,
      },
      {
        name: 'results (uncached)',
        method: 'GET',
        url: `${uncachedBase}/api/v1/sweeps/${sweepId}/results`,
        expectStatus: 200,
      },
      {
        name: 'results csv',
        method: 'GET',
        url: `${base}/api/v1/sweeps/${sweepId}/results?format=csv`,
        expectStatus: 200,
      },
      {
        name: 'results csv (uncached)',
        method: 'GET',
        url: `${uncachedBase}/api/v1/sweeps/${sweepId}/results?format=csv`,
        expectStatus: 200,
      },
      { name: 'sweep', method: 'GET', url: `${base}/api/v1/sweeps/${sweepId}`, expectStatus: 200 },
      { name: 'sweep (uncached)', method: 'GET', url: `${uncachedBase}/api/v1/sweeps/${sweepId}`, expectStatus: 200 },
      { name: 'sweeps list', method: 'GET', url: `${base}/api/v1/sweeps`, expectStatus: 200 },
      { name: 'sweeps list (uncached)', method: 'GET', url: `${uncachedBase}/api/v1/sweeps`, expectStatus: 200 },
      { name: 'healthz', method: 'GET', url: `${base}/healthz`, expectStatus: 200 },
      {
        name: 'submit',
        method: 'POST',
        url: `${base}/api/v1/sweeps`,
        headers: { ...auth, 'idempotency-key': 'bench-[<id>]' },
        body: TINY_SPEC,
        idReplacement: true,
        expectStatus: 201,
      },
      {
        name: 'submit replay',
        method: 'POST',
        url: `${base}/api/v1/sweeps`,
        headers: { ...auth, 'idempotency-key': 'bench-replay' },
        body: TINY_SPEC,
        expectStatus: 200,
      },
    ];
    const only = args.only ? new Set(args.only.split(',')) : undefined;
    const rows: Row[] = [];
    for (const target of targets) {
      if (only && !only.has(target.name)) continue;
      // The replay's probe stores the key; every request of the run is then a replay.
      rows.push(await load(target));
    }

    const sweepsAfter = cp.store.listSweepsPage({ limit: 1 }).total;
    const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, ${fmt(totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}`;
    log('');
    log(`machine: ${machine}`);
    log(
      `| endpoint | request | req/s | p50 ms | p99 ms | requests | errors | unexpected status | bytes/response | CPU server / client | load (1 min) | wrk req/s, p99 ms |`,
    );
    log(`| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
    for (const r of rows) {
      const size = r.bytesPerResponse >= 1024 ? `${fmt(r.bytesPerResponse / 1024)} KiB` : `${r.bytesPerResponse} B`;
      log(
        `| ${r.endpoint} | \`${r.request}\` | ${fmt(r.rps, 0)} | ${r.p50} | ${r.p99} | ${r.requests} | ` +
          `${r.errors + r.timeouts} | ${r.non2xx} | ${size} | ${fmt(r.serverCpu, 2)} / ${fmt(r.clientCpu, 2)} | ${fmt(r.load1, 2)} | ${r.wrk ? `${fmt(r.wrk.rps, 0)}, ${fmt(r.wrk.p99)}` : ''} |`,
      );
    }
    const byName = new Map(rows.map((r) => [r.endpoint, r]));
    const ratio = (a: string, b: string) =>
      byName.has(a) && byName.has(b)
        ? log(`${a}: ${fmt(byName.get(a)!.rps / byName.get(b)!.rps, 1)}× the req/s of ${b}`)
        : undefined;
    ratio('results', 'results (uncached)');
    ratio('results', 'results full');
    ratio('results gzip', 'results (uncached)');
    ratio('results 304', 'results (uncached)');
    ratio('results csv', 'results csv (uncached)');
    ratio('sweep', 'sweep (uncached)');
    ratio('sweeps list', 'sweeps list (uncached)');
    log(`sweeps in the store afterwards: ${sweepsAfter}`);

    const failures: string[] = [];
    for (const r of rows)
      if (r.errors + r.timeouts + r.non2xx > 0)
        failures.push(`${r.endpoint}: ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} unexpected status`);
    const results = byName.get('results');
    if (results && results.rps < TARGET_RPS)
      failures.push(`GET results: ${fmt(results.rps, 0)} req/s < ${TARGET_RPS}`);
    if (results?.wrk && results.wrk.rps < TARGET_RPS)
      failures.push(`GET results (wrk): ${fmt(results.wrk.rps, 0)} req/s < ${TARGET_RPS}`);
    if (args.json)
      writeFileSync(
        args.json,
        JSON.stringify(
          { machine, trials: n, durationS: DURATION_S, connections: CONNECTIONS, rows, failures },
          null,
          2,
        ),
      );
    for (const f of failures) log(`FAIL ${f}`);
    return failures.length ? 1 : 0;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
