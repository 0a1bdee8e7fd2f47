/**
 * Watching the event loop while something runs: `/healthz` is asked over and over through inject() (the same event
 * loop as the request under test), and a 10 ms timer records the longest time the loop was held.
 */
import type { FastifyInstance } from 'fastify';

export interface LoopWatch<T> {
  /** What the watched work resolved to (or the error it threw). */
  result: T;
  /** Slowest `/healthz` answer while the work ran, in ms. */
  maxHealthMs: number;
  /** Longest time a 10 ms timer fired late, in ms (how long the loop was held). */
  maxStallMs: number;
  /** How many `/healthz` requests were answered meanwhile. */
  healthChecks: number;
}

export async function watchEventLoop<T>(app: FastifyInstance, work: () => Promise<T>): Promise<LoopWatch<T>> {
  let maxStallMs = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    maxStallMs = Math.max(maxStallMs, now - last - 10);
    last = now;
  }, 10);
  let done = false;
  let maxHealthMs = 0;
  let healthChecks = 0;
  const probe = (async () => {
    while (!done) {
      const t = performance.now();
      const res = await app.inject('/healthz');
      if (res.statusCode !== 200) throw new Error(`/healthz answered ${res.statusCode}`);
      maxHealthMs = Math.max(maxHealthMs, performance.now() - t);
      healthChecks++;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    const result = await work();
    return { result, maxHealthMs, maxStallMs, healthChecks };
  } finally {
    done = true;
    clearInterval(timer);
    await probe;
  }
}
