/**
 * Enqueue benchmark (docs/benchmarks.md, "Control-plane scale"): one sweep's flow added as one `FlowProducer.add`
 * (what the planner did before) against `addSweepFlow` (gated parts, planner/submit-sweep.ts), alternating.
 *
 *   npx tsx test/bench/enqueue-benchmark.ts [--trials 10000] [--repeat 3] [--redis redis://127.0.0.1:6379]
 *
 * For each add: its wall time; the longest this process's event loop was held (a 5 ms timer's worst lateness);
 * and the longest a PING from another thread (its own event loop and connection) waited on Redis, i.e. how long
 * every other client of that Redis was stalled. No consumers run; each add goes under a fresh prefix, deleted after.
 */
import { FlowProducer, Queue, QueueEvents } from 'bullmq';
import { parseArgs } from 'node:util';
import { Worker as Thread } from 'node:worker_threads';
import { addSweepFlow, trialFlow } from '../../control-plane/src/planner/submit-sweep.js';
import { connectionFromUrl, EVAL_QUEUE, SWEEP_QUEUE, TRAIN_QUEUE } from '../../control-plane/src/queue/queues.js';
import type { Trial } from '../../control-plane/src/sweep-specs/index.js';
import { benchPlans } from './bench-plans.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

const { values: args } = parseArgs({
  options: {
    trials: { type: 'string', default: '10000' },
    repeat: { type: 'string', default: '3' },
    redis: { type: 'string', default: TEST_REDIS_URL },
    // Listen to the train and eval queues' events during the add, as the control plane's recorder does.
    events: { type: 'boolean', default: false },
    // Pause the train and eval queues before the add (as scale-benchmark.ts does while it submits).
    paused: { type: 'boolean', default: false },
  },
});
const TRIALS = Number(args.trials);
const REDIS_URL = args.redis!;

const plans = (n: number): Trial[] => benchPlans(n, 'enqueue-bench');

/** A thread that PINGs Redis every 5 ms on its own connection and reports the slowest answer. */
function startPinger(): { stop: () => Promise<number> } {
  const thread = new Thread(
    `const { parentPort, workerData } = require('node:worker_threads');
     const { Redis } = require(workerData.ioredis);
     const redis = new Redis(workerData.url);
     let worst = 0, running = true;
     parentPort.on('message', () => { running = false; });
     (async () => {
       while (running) {
         const t = performance.now();
         await redis.ping();
         worst = Math.max(worst, performance.now() - t);
         await new Promise((r) => setTimeout(r, 5));
       }
       redis.disconnect();
       parentPort.postMessage(worst);
     })();`,
    { eval: true, workerData: { url: REDIS_URL, ioredis: import.meta.resolve('ioredis').replace('file://', '') } },
  );
  return {
    stop: () =>
      new Promise<number>((resolve) => {
        thread.once('message', (worst: number) => void thread.terminate().then(() => resolve(worst)));
        thread.postMessage('stop');
      }),
  };
}

/** The worst lateness of a 5 ms timer in this thread while `fn` runs. */
async function withLoopLag<T>(fn: () => Promise<T>): Promise<{ value: T; worstLagMs: number }> {
  let worst = 0;
  let expected = performance.now() + 5;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - expected);
    expected = now + 5;
  }, 5);
  try {
    return { value: await fn(), worstLagMs: worst };
  } finally {
    clearInterval(timer);
  }
}

async function measure(mode: 'one add' | 'parts', trials: Trial[]) {
  const prefix = uniquePrefix('enqueue');
  const ctx = { connection: connectionFromUrl(REDIS_URL), prefix };
  const flows = new FlowProducer({ connection: ctx.connection, prefix });
  await flows.waitUntilReady();
  const events = args.events
    ? [TRAIN_QUEUE, EVAL_QUEUE].map((q) => new QueueEvents(q, { connection: ctx.connection, prefix }))
    : [];
  let seen = 0;
  for (const e of events) e.on('waiting', () => void seen++);
  await Promise.all(events.map((e) => e.waitUntilReady()));
  if (args.paused) {
    for (const name of [TRAIN_QUEUE, EVAL_QUEUE]) {
      const q = new Queue(name, { connection: ctx.connection, prefix });
      await q.pause();
      await q.close();
    }
  }
  await new Promise((r) => setTimeout(r, 200)); // let the pinger settle
  const pinger = startPinger();
  await new Promise((r) => setTimeout(r, 100));
  const t = performance.now();
  const { worstLagMs } = await withLoopLag(async () => {
    if (mode === 'parts') await addSweepFlow(flows, ctx, 'sw-bench', trials);
    else {
      // The planner before: the sweep job and every trial in one FlowProducer.add (one MULTI/EXEC).
      await flows.add({
        name: 'sweep',
        queueName: SWEEP_QUEUE,
        opts: { jobId: 'sweep.sw-bench' },
        data: { sweepId: 'sw-bench' },
        children: trials.map((p) => trialFlow('sw-bench', p)),
      });
    }
  });
  const wallMs = performance.now() - t;
  // With --events: until the listeners have read every train job's 'waiting' event, or heard none for 300 ms (the
  // stream is trimmed to about 10,000 events, so some may never arrive): the backlog an add leaves behind.
  let lastSeen = seen;
  let lastChange = performance.now();
  while (events.length && seen < trials.length && performance.now() - lastChange < 300) {
    await new Promise((r) => setTimeout(r, 5));
    if (seen !== lastSeen) [lastSeen, lastChange] = [seen, performance.now()];
  }
  const eventsDrainedMs = (seen < trials.length ? lastChange : performance.now()) - t;
  await Promise.all(events.map((e) => e.close()));
  const worstPingMs = await pinger.stop();
  await flows.close();
  await deleteKeysWithPrefix(prefix);
  return { mode, wallMs, eventsDrainedMs, seen, worstLagMs, worstPingMs };
}

const trials = plans(TRIALS);
const rows: Awaited<ReturnType<typeof measure>>[] = [];
for (let i = 0; i < Number(args.repeat); i++) {
  for (const mode of ['one add', 'parts'] as const) {
    const r = await measure(mode, trials);
    rows.push(r);
    console.log(
      `${TRIALS} trials, ${mode.padEnd(7)}: ${r.wallMs.toFixed(0).padStart(6)} ms; event loop held up to ${r.worstLagMs.toFixed(0)} ms; ` +
        `Redis answered another client after up to ${r.worstPingMs.toFixed(0)} ms` +
        (args.events ? `; listeners caught up after ${r.eventsDrainedMs.toFixed(0)} ms (${r.seen} events)` : ''),
    );
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const mode of ['one add', 'parts'] as const) {
  const mine = rows.filter((r) => r.mode === mode);
  console.log(
    `median ${mode.padEnd(7)}: ${median(mine.map((r) => r.wallMs)).toFixed(0)} ms, loop ${median(mine.map((r) => r.worstLagMs)).toFixed(0)} ms, ` +
      `Redis ${median(mine.map((r) => r.worstPingMs)).toFixed(0)} ms`,
  );
}
