/**
 * Control-plane scale benchmark (issue 5 item 8; results in docs/benchmarks.md, "Control-plane scale").
 *
 *   npx tsx test/bench/scale-benchmark.ts [--trials 1000] [--workers 8] [--rounds 1] [--overlap] [--json out.json]
 *                                         [--redis redis://127.0.0.1:6379 | --own-redis | --own-cluster]
 *                                         [--timeout-s 3600]
 *
 * One ControlPlane and one dry-run Agent (N Python workers started with `--dry-run`, which answer Train and
 * Evaluate at once without a model) in this process, on a real Redis under a unique queue prefix that is deleted
 * afterwards, with a temporary store. A spec of `--trials` BSLoRA trials (seeds × 4 rank triples on
 * builtin:tiny-llama) is validated, expanded, stored and enqueued, then run to the end. The train and eval queues
 * are paused during the submit (so it is timed alone) and resumed once it returns; `--overlap` leaves them running.
 * `--rounds N` runs N such sweeps one after another on the same workers (fresh seeds, so nothing is reused) and
 * prints the medians: the machine's other work makes single runs noisy.
 *
 * Measured:
 * - submit: parse + validate the spec text; expand into trials with keys (timed alone, then again inside submit);
 *   the store's lookups and sweep + trial rows; the enqueue (every FlowProducer.add / addBulk call, first start to
 *   last end). Each phase is timed by wrapping the function that does it.
 * - dispatch overhead, per job, from the moment the consumer that ran it could have started it to the moment that
 *   consumer invoked the gRPC call (`WorkerClient.train` / `evaluate`, wrapped here):
 *     ready = max(job available, the same consumer's previous job finished)
 *   "available" is, for a train job, the return of the FlowProducer call that added it (or the queues' resume, if
 *   later); for an eval job, its train child's `finishedOn` (BullMQ moves the parent to `wait` in the same script
 *   that finishes the child). "finished" is the previous job's `finishedOn` (stamped when its processor returned).
 *   A consumer is one BullMQ Worker: one per queue (train, eval) per Python worker. Jobs are split into "backlog"
 *   (already waiting when the consumer became free: the gap is BullMQ's finish-and-fetch-next plus our processor's
 *   set-up) and "idle" (the consumer was idle when the job became ready: the blocking fetch's wake-up is in it too).
 * - end to end: from submit start until the store marks the sweep finished (every result recorded, sweep job run);
 *   and from the last eval job finishing to that moment (the sweep job's aggregation).
 * - exactly once: gRPC Train and Evaluate calls per trial key (wrapped here), BullMQ `attemptsStarted` per job,
 *   rows inserted into `results` per trial key (wrapping `Store.recordResult`, which reports a first insert).
 * - cost: agent start time, the workers' resident memory, CPU seconds of the Python workers, this Node process and
 *   Redis over the run, the event-loop time of synchronous store writes, and the load average (other work on the
 *   machine skews every number).
 *
 * Not a vitest test and not part of `make test`: it takes minutes at 10,000 trials (starting 8 workers alone
 * takes about a minute on 2 cores).
 */
import { FlowProducer, Job, Queue, type JobNode } from 'bullmq';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent } from '../../control-plane/src/agent/agent.js';
import { ControlPlane } from '../../control-plane/src/control-plane.js';
import { trialJobId } from '../../control-plane/src/queue/job-ids.js';
import { EVAL_QUEUE, TRAIN_QUEUE } from '../../control-plane/src/queue/queues.js';
import { isUnfinished } from '../../control-plane/src/store/statuses.js';
import { Store } from '../../control-plane/src/store/store.js';
import { expandSweep, parseSweepSpec } from '../../control-plane/src/sweep-specs/index.js';
import { WorkerClient } from '../../control-plane/src/worker-process/worker-client.js';
import { deletePrefixKeys } from '../../control-plane/src/redis/delete-prefix-keys.js';
import { redisClientFromUrl, serversOf, type RedisClient } from '../../control-plane/src/redis/redis-connection.js';
import { REDIS_CONF, pingRedis } from '../../control-plane/src/redis/ensure-redis.js';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import { freePort, waitFor } from '../helpers/sweep-helpers.js';
import { execa } from 'execa';

const { values: args } = parseArgs({
  options: {
    trials: { type: 'string', default: '1000' },
    workers: { type: 'string', default: '8' },
    redis: { type: 'string', default: TEST_REDIS_URL },
    // A Redis of this run's own, with the shipped redis.conf (AOF everysec, noeviction), on a free port: one
    // redis-server, or a Redis Cluster of 3 masters with a replica each (test/helpers/redis-cluster.ts).
    'own-redis': { type: 'boolean', default: false },
    'own-cluster': { type: 'boolean', default: false },
    json: { type: 'string' },
    'timeout-s': { type: 'string', default: '3600' },
    // Let the consumers run while the sweep is still being enqueued (default: queues paused until it is in).
    overlap: { type: 'boolean', default: false },
    // Sweeps run one after another on the same workers (fresh seeds each time, so nothing is reused).
    rounds: { type: 'string', default: '1' },
  },
});
const TRIALS = Number(args.trials);
const WORKERS = Number(args.workers);
const ROUNDS = Number(args.rounds);
let REDIS_URL = args.redis!;
const RANK_TRIPLES = [
  { local: 2, intra: 2, inter: 4 },
  { local: 4, intra: 2, inter: 2 },
  { local: 2, intra: 4, inter: 2 },
  { local: 1, intra: 1, inter: 6 },
];

// ---------------------------------------------------------------------------------------------- instrumentation
type QueueName = 'train' | 'eval';
interface CallRecord {
  queue: QueueName;
  trialKey: string;
  address: string;
  startedAt: number;
}
const calls: CallRecord[] = [];
const phase: Record<string, number> = {};
const inserted = new Map<string, number>();

function wrap<T extends object, K extends keyof T>(proto: T, name: K, around: (orig: T[K]) => T[K]): void {
  proto[name] = around(proto[name]);
}
wrap(
  WorkerClient.prototype,
  'train',
  (orig) =>
    function (this: WorkerClient, trial, opts) {
      calls.push({ queue: 'train', trialKey: trial.trialKey, address: this.address, startedAt: Date.now() });
      return orig.call(this, trial, opts);
    },
);
wrap(
  WorkerClient.prototype,
  'evaluate',
  (orig) =>
    function (this: WorkerClient, trial, sha, opts) {
      calls.push({ queue: 'eval', trialKey: trial.trialKey, address: this.address, startedAt: Date.now() });
      return orig.call(this, trial, sha, opts);
    },
);
wrap(
  Store.prototype,
  'recordResult',
  (orig) =>
    function (this: Store, trialKey, result) {
      const first = orig.call(this, trialKey, result);
      if (first) inserted.set(trialKey, (inserted.get(trialKey) ?? 0) + 1);
      return first;
    },
);
function timed<T extends object, K extends keyof T>(proto: T, name: K, label: string): void {
  wrap(
    proto,
    name,
    (orig) =>
      function (this: unknown, ...a: unknown[]) {
        const t = performance.now();
        const out = (orig as (...x: unknown[]) => unknown).apply(this, a);
        const done = () => (phase[label] = (phase[label] ?? 0) + performance.now() - t);
        if (out instanceof Promise) return out.finally(done);
        done();
        return out;
      } as T[K],
  );
}
timed(Store.prototype, 'finishedTrialKeys', 'storeLookupMs');
timed(Store.prototype, 'createSweep', 'storeInsertMs');
// Synchronous store writes block the event loop that also dispatches jobs: add up the time they take.
const storeWrites = { calls: 0, ms: 0 };
for (const name of ['setTrialStatus', 'setSweepStatus', 'recordResult', 'addEvent'] as const) {
  wrap(
    Store.prototype,
    name,
    (orig) =>
      function (this: Store, ...a: unknown[]) {
        const t = performance.now();
        try {
          return (orig as (...x: unknown[]) => unknown).apply(this, a);
        } finally {
          storeWrites.calls += 1;
          storeWrites.ms += performance.now() - t;
        }
      } as never,
  );
}
// Enqueue: every FlowProducer.add / addBulk of the submit (one add, or a gate add and parts; planner/submit-sweep.ts).
// Each job is available to consumers from the moment the call that added it returned.
const enqueue = { first: Infinity, last: 0, calls: 0 };
const availableAt = new Map<string, number>();
function noteAdded(node: JobNode): void {
  if (node.job.id) availableAt.set(node.job.id, Date.now());
  for (const child of node.children ?? []) noteAdded(child);
}
for (const name of ['add', 'addBulk'] as const) {
  wrap(
    FlowProducer.prototype,
    name,
    (orig) =>
      async function (this: FlowProducer, ...a: unknown[]) {
        enqueue.first = Math.min(enqueue.first, performance.now());
        enqueue.calls += 1;
        const out = (await (orig as (...x: unknown[]) => Promise<JobNode | JobNode[]>).apply(this, a)) as
          | JobNode
          | JobNode[];
        enqueue.last = Math.max(enqueue.last, performance.now());
        for (const node of Array.isArray(out) ? out : [out]) noteAdded(node);
        return out;
      } as never,
  );
}

function resetInstrumentation(): void {
  calls.length = 0;
  for (const k of Object.keys(phase)) delete phase[k];
  inserted.clear();
  Object.assign(storeWrites, { calls: 0, ms: 0 });
  Object.assign(enqueue, { first: Infinity, last: 0, calls: 0 });
  availableAt.clear();
}

// ------------------------------------------------------------------------------------------------------ helpers
function specText(trials: number, round: number): { text: string; trials: number } {
  const triples = trials % RANK_TRIPLES.length === 0 ? RANK_TRIPLES : RANK_TRIPLES.slice(0, 1);
  const seeds = Math.ceil(trials / triples.length);
  const firstSeed = round * seeds;
  const spec = {
    name: `scale-bench-${trials}`,
    base_model: 'builtin:tiny-llama',
    train_data: 'builtin:arith',
    eval_tasks: ['builtin:arith'],
    target_modules: ['q_proj', 'v_proj'],
    training: { steps: 1, learning_rate: 0.001, batch_size: 2, seq_len: 32, eval_limit: 1 },
    grid: {
      method: ['bslora'],
      share_mode: 'slice',
      ranks: triples,
      seeds: Array.from({ length: seeds }, (_, i) => firstSeed + i),
    },
    budget: { max_trials: seeds * triples.length },
  };
  return { text: JSON.stringify(spec), trials: seeds * triples.length };
}

function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
function stats(xs: number[]): { n: number; p50: number; p90: number; p99: number; max: number; mean: number } {
  const s = [...xs].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: quantile(s, 0.5),
    p90: quantile(s, 0.9),
    p99: quantile(s, 0.99),
    max: s.at(-1) ?? NaN,
    mean: s.reduce((a, b) => a + b, 0) / (s.length || 1),
  };
}

/** utime + stime of a process in seconds (Linux /proc). */
function cpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks; USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}
function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}
/** CPU seconds of Redis: of every master on a cluster (replicas' replication work is not counted). */
async function redisCpuSeconds(redis: RedisClient): Promise<number> {
  let total = 0;
  for (const server of serversOf(redis)) {
    const info = await server.info('cpu');
    const get = (k: string) => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? NaN);
    total += get('used_cpu_sys') + get('used_cpu_user');
  }
  return total;
}

async function loadJobs(queue: Queue, ids: string[]): Promise<Map<string, Job>> {
  const out = new Map<string, Job>();
  for (let i = 0; i < ids.length; i += 500) {
    const batch = await Promise.all(ids.slice(i, i + 500).map((id) => Job.fromId(queue, id)));
    batch.forEach((j, k) => j && out.set(ids[i + k], j));
  }
  return out;
}

const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

// --------------------------------------------------------------------------------------------------------- main
async function main(): Promise<number> {
  const prefix = uniquePrefix('bench');
  const home = mkdtempSync(join(tmpdir(), 'bslora-bench-'));
  const redis = redisClientFromUrl(REDIS_URL);
  await redis.ping();
  let cp: ControlPlane | undefined;
  let agent: Agent | undefined;
  const onSignal = () => void cleanup().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  async function cleanup(): Promise<void> {
    await agent?.close().catch(() => {});
    await cp?.close().catch(() => {});
    agent = cp = undefined;
    await deletePrefixKeys(REDIS_URL, prefix).catch(() => {});
    redis.disconnect();
    rmSync(home, { recursive: true, force: true });
  }

  try {
    log(`${TRIALS} trials × ${ROUNDS} round(s), ${WORKERS} dry-run workers, prefix ${prefix}, home ${home}`);
    cp = await ControlPlane.start({ redisUrl: REDIS_URL, prefix, homeDir: home });
    const plane = cp;
    const agentStart = performance.now();
    agent = await Agent.start({
      ctx: cp.ctx,
      homeDir: home,
      devices: Array.from({ length: WORKERS }, () => 'cpu'),
      dryRun: true,
      log: (line) => (process.env.BENCH_VERBOSE ? log(line) : undefined),
    });
    const agentStartMs = performance.now() - agentStart;
    const pids = agent.workers.map((w) => w.pid!).filter(Boolean);
    const rss = pids.map(rssMiB);
    log(
      `agent up in ${fmt(agentStartMs / 1000, 2)} s; workers' RSS ${fmt(
        rss.reduce((a, b) => a + b, 0),
        0,
      )} MiB in all`,
    );

    // Settle: the workers finish importing in the background before we measure anything; their idle CPU use.
    await new Promise((r) => setTimeout(r, 2_000));
    const idle0 = pids.map(cpuSecondsOf);
    await new Promise((r) => setTimeout(r, 5_000));
    const idleCpuPerWorker = pids.map(cpuSecondsOf).reduce((s, v, i) => s + v - idle0[i], 0) / pids.length / 5;

    const reports: Awaited<ReturnType<typeof runRound>>[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      resetInstrumentation();
      reports.push(await runRound(round));
    }
    if (ROUNDS > 1) {
      const med = (f: (r: (typeof reports)[number]) => number) =>
        quantile(
          [...reports.map(f)].sort((a, b) => a - b),
          0.5,
        );
      log('');
      log(
        `median of ${ROUNDS} rounds: validate+submit ${fmt(med((r) => r.submit.validatePlusSubmitMs))} ms; dispatch p50 ` +
          `${fmt(
            med((r) => r.dispatchMs.all.p50),
            0,
          )} ms, p99 ${fmt(
            med((r) => r.dispatchMs.all.p99),
            0,
          )} ms; ` +
          `${fmt(med((r) => r.trialsPerSecond))} trials/s end to end; sweep closed ${fmt(
            med((r) => r.finishLagMs),
            0,
          )} ms after the last trial`,
      );
    }
    if (args.json) writeFileSync(args.json, JSON.stringify(ROUNDS > 1 ? reports : reports[0], null, 2));
    return reports.every((r) => r.exactlyOnce) ? 0 : 1;

    async function runRound(round: number) {
      const cp = plane;
      const { text, trials: nTrials } = specText(TRIALS, round);
      if (ROUNDS > 1) log(`\n--- round ${round + 1} of ${ROUNDS}`);
      const load0 = loadavg()[0];
      const cpu0 = { py: pids.map(cpuSecondsOf), node: process.cpuUsage(), redis: await redisCpuSeconds(redis) };
      const failures: string[] = [];

      // Submit: validate, expand, store, enqueue.
      const t0 = performance.now();
      const wall0 = Date.now();
      const spec = parseSweepSpec(text, { format: 'json', sourceName: 'bench spec' });
      const tParsed = performance.now();
      const tExpand = performance.now();
      expandSweep(spec); // timed on its own; submit expands again
      const expandMs = performance.now() - tExpand;
      // Without --overlap the train and eval queues are paused while the sweep is submitted, so that the submit is
      // timed on its own and dispatch is measured without the enqueue competing for this process.
      const runQueues = [TRAIN_QUEUE, EVAL_QUEUE].map(
        (n) => new Queue(n, { connection: cp!.ctx.connection, prefix: cp!.ctx.prefix }),
      );
      if (!args.overlap) await Promise.all(runQueues.map((q) => q.pause()));
      const tSubmit = performance.now();
      const submitted = await cp.submit(spec);
      const tQueued = performance.now();
      if (!args.overlap) await Promise.all(runQueues.map((q) => q.resume()));
      const resumedAt = Date.now();
      await Promise.all(runQueues.map((q) => q.close()));
      const validateMs = tParsed - t0;
      const submitMs = tQueued - tSubmit;
      log(
        `validate ${fmt(validateMs)} ms, expand ${fmt(expandMs)} ms, submit ${fmt(submitMs)} ms ` +
          `(store lookup ${fmt(phase.storeLookupMs)} ms, store insert ${fmt(phase.storeInsertMs)} ms, ` +
          `enqueue ${fmt(enqueue.last - enqueue.first)} ms in ${enqueue.calls} calls)`,
      );

      // Run to the end: the store says when.
      const deadline = Date.now() + Number(args['timeout-s']) * 1000;
      let lastLog = Date.now();
      let status = '';
      for (;;) {
        status = cp.store.getSweep(submitted.sweepId)!.status;
        if (!isUnfinished(status)) break;
        if (Date.now() > deadline) throw new Error(`sweep still ${status} after ${args['timeout-s']} s`);
        if (Date.now() - lastLog > 10_000) {
          lastLog = Date.now();
          log(`  ${calls.filter((c) => c.queue === 'eval').length}/${nTrials} evaluated, ${inserted.size} recorded`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      const tDone = performance.now();
      const doneAt = Date.now();
      const cpu1 = {
        py: pids.map(cpuSecondsOf),
        node: process.cpuUsage(cpu0.node),
        redis: await redisCpuSeconds(redis),
      };
      const e2eS = (tDone - t0) / 1000;

      // Read the jobs back from Redis.
      const keys = submitted.trials.map((t) => t.trialKey);
      const [trainQ, evalQ] = [TRAIN_QUEUE, EVAL_QUEUE].map(
        (n) => new Queue(n, { connection: cp!.ctx.connection, prefix: cp!.ctx.prefix }),
      );
      const trainJobs = await loadJobs(
        trainQ,
        keys.map((k) => trialJobId(submitted.sweepId, TRAIN_QUEUE, k)),
      );
      const evalJobs = await loadJobs(
        evalQ,
        keys.map((k) => trialJobId(submitted.sweepId, EVAL_QUEUE, k)),
      );
      await Promise.all([trainQ.close(), evalQ.close()]);
      const jobOf = (q: QueueName, key: string) =>
        (q === 'train' ? trainJobs : evalJobs).get(trialJobId(submitted.sweepId, q, key));

      // Exactly once.
      const count = (q: QueueName) => {
        const m = new Map<string, number>();
        for (const c of calls) if (c.queue === q) m.set(c.trialKey, (m.get(c.trialKey) ?? 0) + 1);
        return m;
      };
      const perKey = { train: count('train'), eval: count('eval') };
      const rows = cp.store.trialsOfSweep(submitted.sweepId);
      const resultRows = cp.store.resultCountOfSweep(submitted.sweepId);
      const check = (ok: boolean, what: string) => ok || failures.push(what);
      check(status === 'completed', `sweep ended '${status}'`);
      check(new Set(keys).size === nTrials, `${new Set(keys).size} distinct keys for ${nTrials} trials`);
      check(
        rows.length === nTrials && rows.every((r) => r.status === 'completed' && r.result),
        'a trial is not completed with a result',
      );
      check(resultRows === nTrials, `${resultRows} result rows for ${nTrials} trials`);
      for (const q of ['train', 'eval'] as const) {
        const bad = keys.filter((k) => perKey[q].get(k) !== 1);
        check(
          bad.length === 0,
          `${bad.length} trials with ≠1 ${q} calls (e.g. ${bad[0]}: ${perKey[q].get(bad[0]) ?? 0})`,
        );
        const jobs = keys.map((k) => jobOf(q, k));
        const lost = jobs.filter((j) => !j?.finishedOn || j.failedReason).length;
        check(lost === 0, `${lost} ${q} jobs missing, unfinished or failed`);
        const retried = jobs.filter((j) => j && j.attemptsStarted !== 1).length;
        check(retried === 0, `${retried} ${q} jobs started more than once`);
      }
      const badInserts = keys.filter((k) => inserted.get(k) !== 1);
      check(badInserts.length === 0, `${badInserts.length} trials not inserted into results exactly once`);

      // Dispatch overhead per consumer (one BullMQ Worker per queue per Python worker).
      const overhead = { backlog: [] as number[], idle: [] as number[] };
      const byConsumer = new Map<string, CallRecord[]>();
      for (const c of calls) {
        const id = `${c.queue}@${c.address}`;
        if (!byConsumer.has(id)) byConsumer.set(id, []);
        byConsumer.get(id)!.push(c);
      }
      for (const list of byConsumer.values()) {
        list.sort((a, b) => a.startedAt - b.startedAt);
        let prevFinished = 0;
        for (const c of list) {
          const job = jobOf(c.queue, c.trialKey);
          const available =
            c.queue === 'train'
              ? Math.max(
                  availableAt.get(trialJobId(submitted.sweepId, TRAIN_QUEUE, c.trialKey)) ?? NaN,
                  args.overlap ? 0 : resumedAt,
                )
              : (jobOf('train', c.trialKey)?.finishedOn ?? NaN);
          const ready = Math.max(available, prevFinished);
          (available <= prevFinished ? overhead.backlog : overhead.idle).push(c.startedAt - ready);
          prevFinished = job?.finishedOn ?? prevFinished;
        }
      }
      const all = stats([...overhead.backlog, ...overhead.idle]);
      const backlog = stats(overhead.backlog);
      const idle = stats(overhead.idle);
      const perConsumer = [...byConsumer.entries()].map(([id, l]) => `${id.split('@')[0]}:${l.length}`);
      const trainsPerWorker = [...byConsumer.entries()]
        .filter(([id]) => id.startsWith('train'))
        .map(([, l]) => l.length);

      const pyCpu = cpu1.py.reduce((s, v, i) => s + (v - cpu0.py[i]), 0);
      const nodeCpu = (cpu1.node.user + cpu1.node.system) / 1e6;
      const redisCpu = cpu1.redis - cpu0.redis;
      const firstCall = Math.min(...calls.map((c) => c.startedAt));
      const lastEvalFinish = Math.max(...[...evalJobs.values()].map((j) => j.finishedOn ?? 0));
      const report = {
        machine: `${cpus().length} × ${cpus()[0]?.model.trim()}, ${fmt(totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}`,
        trials: nTrials,
        round: round + 1,
        workers: WORKERS,
        agentStartS: agentStartMs / 1000,
        /** CPU seconds per second of an idle worker. */
        idleCpuPerWorker,
        workerRssMiB: rss,
        submit: {
          validateMs,
          expandMs,
          submitMs,
          validatePlusSubmitMs: validateMs + submitMs,
          storeLookupMs: phase.storeLookupMs,
          storeInsertMs: phase.storeInsertMs,
          enqueueMs: enqueue.last - enqueue.first,
          enqueueCalls: enqueue.calls,
        },
        dispatchMs: { all, backlog, idle },
        overlap: args.overlap,
        // From submit start to the first Train call (with --overlap: how soon trials start while the rest is queued).
        firstCallMs: Math.min(...calls.map((c) => c.startedAt)) - wall0,
        endToEndS: e2eS,
        trialsPerSecond: nTrials / e2eS,
        steadyTrialsPerSecond: nTrials / ((lastEvalFinish - firstCall) / 1000),
        // From the last eval job finishing to the store marking the sweep finished (the sweep job's work; ±20 ms
        // poll).
        finishLagMs: doneAt - lastEvalFinish,
        cpuSeconds: { pythonWorkers: pyCpu, node: nodeCpu, redis: redisCpu },
        // The 1-minute load average before and after the run: other work on the machine skews every number.
        loadAverage: [load0, loadavg()[0]],
        storeWrites: { ...storeWrites },
        trainsPerWorker,
        consumers: perConsumer.length,
        exactlyOnce: failures.length === 0,
        failures,
        wallStart: new Date(wall0).toISOString(),
      };
      log('');
      log(`machine: ${report.machine}`);
      log(
        `${nTrials} trials on ${WORKERS} dry-run workers (agent start ${fmt(report.agentStartS, 2)} s, RSS/worker ≈ ${fmt(rss[0], 0)} MiB, idle CPU/worker ${fmt(idleCpuPerWorker * 100, 1)} %)`,
      );
      log(
        `validate ${fmt(validateMs)} ms + expand/store/enqueue ${fmt(submitMs)} ms = ${fmt(validateMs + submitMs)} ms`,
      );
      log(
        `  (expand alone ${fmt(expandMs)} ms; store ${fmt((phase.storeLookupMs ?? 0) + (phase.storeInsertMs ?? 0))} ms; enqueue ${fmt(enqueue.last - enqueue.first)} ms in ${enqueue.calls} FlowProducer calls)`,
      );
      const line = (n: string, s: ReturnType<typeof stats>) =>
        log(
          `dispatch ${n.padEnd(8)} n=${s.n} p50 ${fmt(s.p50, 0)} ms, p90 ${fmt(s.p90, 0)} ms, p99 ${fmt(s.p99, 0)} ms, max ${fmt(s.max, 0)} ms`,
        );
      line('all', all);
      line('backlog', backlog);
      line('idle', idle);
      log(
        `first Train call ${fmt(report.firstCallMs, 0)} ms after submit start${args.overlap ? ' (--overlap)' : ' (queues paused during submit)'}`,
      );
      log(`last trial done → sweep finished in the store: ${fmt(report.finishLagMs, 0)} ms`);
      log(
        `end to end ${fmt(e2eS, 1)} s = ${fmt(report.trialsPerSecond, 1)} trials/s (first call → last eval: ${fmt(report.steadyTrialsPerSecond, 1)} trials/s)`,
      );
      log(`load average (1 min) before → after: ${fmt(load0, 2)} → ${fmt(loadavg()[0], 2)} on ${cpus().length} CPUs`);
      log(`CPU seconds over the run: python workers ${fmt(pyCpu)}, node ${fmt(nodeCpu)}, redis ${fmt(redisCpu)}`);
      log(
        `store writes during the run: ${storeWrites.calls} calls, ${fmt(storeWrites.ms / 1000, 2)} s of event-loop time`,
      );
      log(`train jobs per worker: ${trainsPerWorker.join(', ')}`);
      log(
        failures.length
          ? `NOT exactly once:\n  ${failures.join('\n  ')}`
          : 'exactly once: every trial trained, evaluated and recorded once, no job retried',
      );
      return report;
    }
  } finally {
    process.off('SIGINT', onSignal);
    await cleanup();
  }
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Starts the Redis asked for by --own-redis / --own-cluster; returns how to stop it. */
async function startOwnRedis(): Promise<() => Promise<void>> {
  if (args['own-cluster']) {
    const cluster = await startRedisCluster({ masters: 3, replicas: 1 });
    REDIS_URL = cluster.url;
    log(`own Redis Cluster: ${cluster.url} (3 masters, 1 replica each)`);
    return () => cluster.stop();
  }
  if (args['own-redis']) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'bslora-bench-redis-'));
    const server = execa('redis-server', [REDIS_CONF, '--port', String(port), '--dir', dir], { reject: false });
    REDIS_URL = `redis://127.0.0.1:${port}`;
    await waitFor(() => pingRedis(REDIS_URL, 200).then((ok) => ok || undefined), 10_000, 'own redis-server');
    log(`own redis-server: ${REDIS_URL}`);
    return async () => {
      server.kill('SIGTERM');
      await server;
      rmSync(dir, { recursive: true, force: true });
    };
  }
  return async () => {};
}

startOwnRedis()
  .then(async (stopRedis) => {
    try {
      return await main();
    } finally {
      await stopRedis();
    }
  })
  .then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
