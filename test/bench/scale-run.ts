/**
 * Scale run (issue 16 item 4; results in docs/benchmarks.md, "Scale run: 100 agents"):
 *
 *   nice -n 10 npx tsx test/bench/scale-run.ts [--agents 100] [--sweeps 1000,10000,100000] [--json out.json]
 *                                              [--start-parallel 4] [--timeout-s 7200]
 *
 * One Redis of its own (redis-server with the shipped infra/redis/redis.conf on a free port, in a temporary
 * directory, removed afterwards), one control plane in this process (store, recorder, flow producer: what
 * `bslora serve` runs, without the HTTP API), and `--agents` agents as processes: each is `bslora agent --no-spawn
 * --worker <address>` driving one dry-run Python worker started with `--dry-run --without-torch` (answers Train and
 * Evaluate at once, never imports torch, so a hundred fit in memory). Then each sweep of `--sweeps` runs in turn on
 * the same agents, with fresh seeds (nothing reused).
 *
 * Per sweep:
 * - enqueue: parse + validate the spec text and `ControlPlane.submit` (expand, store, BullMQ flow), with the train and
 *   eval queues paused so it is timed alone;
 * - Redis memory per queued trial: `used_memory` after the submit minus before, over the trials;
 * - dispatch, per job (the agents are other processes): BullMQ stamps each job with the consumer that took it
 *   (`processedBy`; trial-consumers.ts names each consumer) and when its processor returned (`finishedOn`); each
 *   dry-run worker logs when each Train or Evaluate call reached it (BSLORA_DRY_RUN_CALL_LOG). Per consumer, in the
 *   order it took its jobs:
 *     ready = max(job available, the same consumer's previous job finished); dispatch = call arrived - ready
 *   "available" is the resume of the queues for a train job, its train child's `finishedOn` for an eval job. This is
 *   scale-benchmark.ts's measure, ending where the call reaches the worker instead of where the agent sends it (the
 *   gRPC hop, under a millisecond, is in it). BullMQ's own `processedOn` is no use here: the script that finishes a
 *   job takes the next one with the same timestamp;
 * - trials per second: trials / (resume of the queues -> the store marks the sweep finished);
 * - Redis memory per finished trial: `used_memory` once the sweep has ended (completed jobs are kept a day) minus
 *   before the submit, over the trials;
 * - CPU per trial: this process (the control plane), the agents, the workers and Redis, from /proc and INFO;
 * - lost and duplicated: every trial `completed` with a result row; `result-recorded` events that inserted the row,
 *   exactly one per trial; jobs started more than once (BullMQ `attemptsStarted` > 1).
 *
 * Exit 1 when a trial is lost or duplicated. Not part of `make test`: 100 agents take minutes to start on 2 cores.
 */
import { Queue } from 'bullmq';
import { execa, type ResultPromise } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { ControlPlane } from '../../control-plane/src/control-plane.js';
import { trialJobId } from '../../control-plane/src/queue/job-ids.js';
import { EVAL_QUEUE, TRAIN_QUEUE } from '../../control-plane/src/queue/queues.js';
import { REDIS_CONF } from '../../control-plane/src/redis/ensure-redis.js';
import { parseSweepSpec } from '../../control-plane/src/sweep-specs/index.js';
import { freePort, waitFor, waitForSweepEnd } from '../helpers/sweep-helpers.js';

const { values: args } = parseArgs({
  options: {
    agents: { type: 'string', default: '100' },
    sweeps: { type: 'string', default: '1000,10000,100000' },
    json: { type: 'string' },
    'start-parallel': { type: 'string', default: '4' },
    'timeout-s': { type: 'string', default: '7200' },
  },
});
const AGENTS = Number(args.agents);
const SWEEPS = args.sweeps!.split(',').map(Number);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PYTHON = process.env.BSLORA_PYTHON ?? join(ROOT, '.venv/bin/python');
const BIN = join(ROOT, 'bin/bslora.js');
const PREFIX = 'bslora-scale-run';
const log = (s: string) => process.stderr.write(`[scale-run ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

// ------------------------------------------------------------------------------------------------ process stats
const CLK_TCK = 100;
/** CPU seconds (user + system) a process has used, from /proc (0 once it is gone). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}
/** Resident and proportional set size in KiB (PSS shares pages mapped by several processes among them). */
function memoryKiB(pid: number): { rss: number; pss: number } {
  try {
    const s = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const get = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0);
    return { rss: get('Rss'), pss: get('Pss') };
  } catch {
    return { rss: 0, pss: 0 };
  }
}
function memAvailableMiB(): number {
  const m = /MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'));
  return Math.round(Number(m?.[1] ?? 0) / 1024);
}
const quantile = (sorted: number[], q: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : Number.NaN;

// ------------------------------------------------------------------------------------------------------ set-up
interface AgentProc {
  agent: ResultPromise;
  worker: ResultPromise;
  address: string;
}

async function startRedis(dir: string): Promise<{ url: string; server: ResultPromise; port: number }> {
  const port = await freePort();
  const server = execa('redis-server', [REDIS_CONF, '--port', String(port), '--dir', dir], {
    reject: false,
    stdin: 'ignore',
    stdout: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  await waitFor(
    async () => {
      try {
        if (probe.status !== 'ready') await probe.connect();
        return (await probe.ping()) === 'PONG' || undefined;
      } catch {
        return undefined;
      }
    },
    10_000,
    'the scale run redis-server',
  );
  probe.disconnect();
  return { url, server, port };
}

async function startAgent(i: number, redisUrl: string, home: string): Promise<AgentProc> {
  const runDir = join(home, `worker-${i}`);
  mkdirSync(runDir, { recursive: true });
  const worker = execa(
    PYTHON,
    ['-m', 'bslora_worker', 'serve', '--listen', '127.0.0.1:0', '--run-dir', runDir, '--dry-run', '--without-torch'],
    {
      reject: false,
      buffer: false,
      stdin: 'ignore',
      stderr: 'ignore',
      env: { BSLORA_DRY_RUN_CALL_LOG: join(home, `calls-${i}.log`) },
    },
  );
  let out = '';
  worker.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const ready = await waitFor(
    () => /"address": "([^"]+)"/.exec(out) ?? undefined,
    120_000,
    `worker ${i} to print its ready line`,
  );
  const agent = execa(
    'node',
    [BIN, 'agent', '--redis', redisUrl, '--prefix', PREFIX, '--no-spawn', '--worker', ready[1]],
    {
      env: { BSLORA_HOME: join(home, `agent-${i}`) },
      reject: false,
      buffer: false,
      all: true,
      forceKillAfterDelay: 30_000,
    },
  );
  let aout = '';
  agent.all!.on('data', (d: Buffer) => (aout += d.toString()));
  await waitFor(() => /consuming from /.test(aout) || undefined, 300_000, `agent ${i} to start:\n${aout}`);
  return { agent, worker, address: ready[1] };
}

/**
 * `trials` dry-run BSLoRA trials: rank triples × seeds, with at most 1,000 seeds (a spec list's limit), so 10,000
 * trials are 10 triples × 1,000 seeds and 100,000 are 100 × 1,000. `firstSeed` keeps every sweep's keys new.
 */
function specText(trials: number, firstSeed: number): string {
  const triples = Math.max(1, Math.ceil(trials / 1_000));
  const ranks = Array.from({ length: triples }, (_, i) => ({
    local: 1 + (i % 10),
    intra: 1 + Math.floor(i / 10),
    inter: 2,
  }));
  return JSON.stringify({
    name: `scale-run-${trials}`,
    base_model: 'builtin:tiny-llama',
    train_data: 'builtin:arith',
    eval_tasks: ['builtin:arith'],
    target_modules: ['q_proj', 'v_proj'],
    training: { steps: 1, learning_rate: 0.001, batch_size: 2, seq_len: 32, eval_limit: 1 },
    grid: {
      method: ['bslora'],
      ranks,
      seeds: Array.from({ length: trials / triples }, (_, i) => firstSeed + i),
    },
  });
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
}
async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const v = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return v('used_cpu_sys') + v('used_cpu_user');
}

// ------------------------------------------------------------------------------------------ dispatch from Redis
interface JobStamp {
  queue: 'train' | 'eval';
  trialKey: string;
  processedOn: number;
  finishedOn: number;
  by: string;
  attemptsStarted: number;
}

async function readStamps(redis: Redis, sweepId: string, trialKeys: string[]): Promise<JobStamp[]> {
  const out: JobStamp[] = [];
  for (let i = 0; i < trialKeys.length; i += 2_000) {
    const pipeline = redis.pipeline();
    const asked: { queue: 'train' | 'eval'; trialKey: string }[] = [];
    for (const trialKey of trialKeys.slice(i, i + 2_000)) {
      for (const queue of [TRAIN_QUEUE, EVAL_QUEUE] as const) {
        pipeline.hmget(
          `${PREFIX}:${queue}:${trialJobId(sweepId, queue, trialKey)}`,
          'processedOn',
          'finishedOn',
          'pb',
          'ats',
        );
        asked.push({ queue, trialKey });
      }
    }
    const res = (await pipeline.exec()) ?? [];
    res.forEach(([, v], j) => {
      const [processedOn, finishedOn, by, ats] = v as (string | null)[];
      out.push({
        ...asked[j],
        processedOn: Number(processedOn),
        finishedOn: Number(finishedOn),
        by: by ?? '',
        attemptsStarted: Number(ats ?? 0),
      });
    });
  }
  return out;
}

/** When each call reached its worker, per `<queue> <trial key>` (the last one, if a job ran again). */
function readCallLogs(home: string, agents: number): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < agents; i++) {
    let text = '';
    try {
      text = readFileSync(join(home, `calls-${i}.log`), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const [kind, key, at] = line.split(' ');
      if (at) out.set(`${kind} ${key}`, Number(at));
    }
  }
  return out;
}

function dispatchOverheads(
  stamps: JobStamp[],
  resumedAt: number,
  calledAt: Map<string, number>,
): { all: number[]; idle: number[] } {
  const trainFinished = new Map(stamps.filter((s) => s.queue === 'train').map((s) => [s.trialKey, s.finishedOn]));
  const byConsumer = new Map<string, JobStamp[]>();
  for (const s of stamps) {
    const k = `${s.queue}|${s.by}`;
    if (!byConsumer.has(k)) byConsumer.set(k, []);
    byConsumer.get(k)!.push(s);
  }
  const all: number[] = [];
  const idle: number[] = [];
  for (const jobs of byConsumer.values()) {
    jobs.sort((a, b) => a.processedOn - b.processedOn || a.finishedOn - b.finishedOn);
    let prevFinished = 0;
    for (const j of jobs) {
      const available = j.queue === 'train' ? resumedAt : (trainFinished.get(j.trialKey) ?? resumedAt);
      const ready = Math.max(available, prevFinished);
      const called = calledAt.get(`${j.queue} ${j.trialKey}`) ?? Number.NaN;
      all.push(called - ready);
      if (available > prevFinished) idle.push(called - ready);
      prevFinished = j.finishedOn;
    }
  }
  return { all: all.sort((a, b) => a - b), idle: idle.sort((a, b) => a - b) };
}

// ----------------------------------------------------------------------------------------------------- the run
async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'bslora-scale-run-'));
  const redisDir = join(home, 'redis');
  mkdirSync(redisDir);
  const { url, server } = await startRedis(redisDir);
  const redis = new Redis(url);
  const agents: AgentProc[] = [];
  let cp: ControlPlane | undefined;
  const report: Record<string, unknown> = {
    agents: AGENTS,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    node: process.version,
  };
  const results: Record<string, unknown>[] = [];
  let failed = false;
  try {
    process.env.BSLORA_MAX_SWEEP_TRIALS = String(Math.max(...SWEEPS));
    cp = await ControlPlane.start({ redisUrl: url, prefix: PREFIX, homeDir: join(home, 'cp') });
    const memBefore = memAvailableMiB();
    const t0 = performance.now();
    const parallel = Number(args['start-parallel']);
    for (let i = 0; i < AGENTS; i += parallel) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(parallel, AGENTS - i) }, (_, j) => startAgent(i + j, url, home)),
      );
      agents.push(...batch);
      if ((i + parallel) % 20 === 0) log(`${agents.length} agents started (${memAvailableMiB()} MiB available)`);
    }
    const one = { agent: memoryKiB(agents[0].agent.pid!), worker: memoryKiB(agents[0].worker.pid!) };
    const sum = (pick: (a: AgentProc) => number) => agents.reduce((s, a) => s + pick(a), 0);
    report.start = {
      seconds: (performance.now() - t0) / 1000,
      oneAgentKiB: one.agent,
      oneWorkerKiB: one.worker,
      allAgentsRssMiB: Math.round(sum((a) => memoryKiB(a.agent.pid!).rss) / 1024),
      allAgentsPssMiB: Math.round(sum((a) => memoryKiB(a.agent.pid!).pss) / 1024),
      allWorkersRssMiB: Math.round(sum((a) => memoryKiB(a.worker.pid!).rss) / 1024),
      allWorkersPssMiB: Math.round(sum((a) => memoryKiB(a.worker.pid!).pss) / 1024),
      memAvailableDropMiB: memBefore - memAvailableMiB(),
    };
    log(`agents up: ${JSON.stringify(report.start)}`);
    // Let the start settle (heartbeats, stalled checks) before the first sweep.
    await new Promise((r) => setTimeout(r, 5_000));

    const queues = [TRAIN_QUEUE, EVAL_QUEUE].map(
      (n) => new Queue(n, { connection: cp!.ctx.connection, prefix: PREFIX }),
    );
    let firstSeed = 0;
    for (const trials of SWEEPS) {
      const text = specText(trials, firstSeed);
      firstSeed += trials;
      for (const q of queues) await q.pause();
      const memQueued0 = await usedMemory(redis);
      const cpCpu0 = process.cpuUsage();
      const tSubmit = performance.now();
      const spec = parseSweepSpec(text, { format: 'json' });
      const { sweepId, trials: planned } = await cp.submit(spec);
      const enqueueS = (performance.now() - tSubmit) / 1000;
      const cpCpuSubmit = process.cpuUsage(cpCpu0);
      const memQueued = await usedMemory(redis);
      log(
        `${trials} trials queued in ${enqueueS.toFixed(2)} s; Redis +${((memQueued - memQueued0) / trials).toFixed(0)} B per queued trial`,
      );

      const agentCpu0 = sum((a) => cpuSeconds(a.agent.pid!));
      const workerCpu0 = sum((a) => cpuSeconds(a.worker.pid!));
      const redisCpu0 = await redisCpu(redis);
      const cpCpuRun0 = process.cpuUsage();
      const load0 = loadavg()[0];
      const resumedAt = Date.now();
      for (const q of queues) await q.resume();
      // Progress every 30 s, so that a run stopped early still says how far it got and how fast.
      // Counted as eval jobs in BullMQ's completed set (one ZCARD), less those of earlier sweeps.
      const evalsBefore = await redis.zcard(`${PREFIX}:${EVAL_QUEUE}:completed`);
      const progress = setInterval(async () => {
        const done = (await redis.zcard(`${PREFIX}:${EVAL_QUEUE}:completed`)) - evalsBefore;
        const s = (Date.now() - resumedAt) / 1000;
        log(
          `  ${done}/${trials} evaluated after ${s.toFixed(0)} s (${(done / s).toFixed(1)}/s), load ${loadavg()[0]}`,
        );
      }, 30_000);
      const sweep = await waitForSweepEnd(cp.store, sweepId, Number(args['timeout-s']) * 1000).finally(() =>
        clearInterval(progress),
      );
      const runS = (Date.now() - resumedAt) / 1000;
      const cpCpuRun = process.cpuUsage(cpCpuRun0);
      const agentCpu = sum((a) => cpuSeconds(a.agent.pid!)) - agentCpu0;
      const workerCpu = sum((a) => cpuSeconds(a.worker.pid!)) - workerCpu0;
      const redisCpuRun = (await redisCpu(redis)) - redisCpu0;
      // The sweep job's close and the last recordings settle within a second or two after the store says ended.
      await new Promise((r) => setTimeout(r, 2_000));
      const memFinished = await usedMemory(redis);

      const keys = planned.map((t) => t.trialKey);
      const rows = cp.store.trialsOfSweep(sweepId);
      const completed = rows.filter((r) => r.status === 'completed' && r.result !== null).length;
      const insertedPerTrial = new Map<string, number>();
      for (const e of cp.store.db
        .prepare("SELECT trial_key, payload_json FROM events WHERE sweep_id = ? AND kind = 'result-recorded'")
        .all(sweepId) as { trial_key: string; payload_json: string }[]) {
        if ((JSON.parse(e.payload_json) as { inserted: boolean }).inserted)
          insertedPerTrial.set(e.trial_key, (insertedPerTrial.get(e.trial_key) ?? 0) + 1);
      }
      const stamps = await readStamps(redis, sweepId, keys);
      const { all, idle } = dispatchOverheads(stamps, resumedAt, readCallLogs(home, AGENTS));
      const lost = keys.filter((k) => (insertedPerTrial.get(k) ?? 0) === 0).length + (trials - completed);
      const duplicatedRecords = keys.filter((k) => (insertedPerTrial.get(k) ?? 0) > 1).length;
      const startedTwice = stamps.filter((s) => s.attemptsStarted > 1).length;
      const consumersUsed = new Set(stamps.map((s) => s.by.split(':').slice(0, 2).join(':'))).size;
      const r = {
        trials,
        sweepStatus: sweep.status,
        enqueueSeconds: enqueueS,
        submitCpuSeconds: (cpCpuSubmit.user + cpCpuSubmit.system) / 1e6,
        dispatchMs: { p50: quantile(all, 0.5), p99: quantile(all, 0.99), n: all.length },
        dispatchIdleMs: { p50: quantile(idle, 0.5), p99: quantile(idle, 0.99), n: idle.length },
        trialsPerSecond: trials / runS,
        runSeconds: runS,
        redisBytesPerQueuedTrial: (memQueued - memQueued0) / trials,
        redisBytesPerFinishedTrial: (memFinished - memQueued0) / trials,
        cpuMsPerTrial: {
          controlPlane:
            ((cpCpuRun.user + cpCpuRun.system) / 1e3 + (cpCpuSubmit.user + cpCpuSubmit.system) / 1e3) / trials,
          agents: (agentCpu * 1e3) / trials,
          workers: (workerCpu * 1e3) / trials,
          redis: (redisCpuRun * 1e3) / trials,
        },
        lost,
        duplicatedRecords,
        jobsStartedTwice: startedTwice,
        agentsThatRanJobs: consumersUsed,
        loadAverageAtStart: load0,
        loadAverageAtEnd: loadavg()[0],
      };
      results.push(r);
      log(JSON.stringify(r));
      if (lost || duplicatedRecords || startedTwice || sweep.status !== 'completed') failed = true;
    }
    for (const q of queues) await q.close();
  } finally {
    report.sweeps = results;
    if (args.json) writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(JSON.stringify(report, null, 2));
    for (const a of agents) a.agent.kill('SIGTERM');
    await Promise.all(agents.map((a) => a.agent));
    for (const a of agents) a.worker.kill('SIGTERM');
    await Promise.all(agents.map((a) => a.worker));
    await cp?.close();
    redis.disconnect();
    server.kill('SIGTERM');
    await server;
    rmSync(home, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
