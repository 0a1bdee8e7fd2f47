/** Small helpers for end-to-end tests: inline specs, waiting on the store, process checks. */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { FINAL_SWEEP_STATUSES } from '../../control-plane/src/store/statuses.js';
import type { Store, SweepRow } from '../../control-plane/src/store/store.js';

/** Writes a tiny spec (tiny-llama, builtin:arith) with the given grid and training overrides; returns its path. */
export function writeTinySpec(
  dir: string,
  name: string,
  grid: string[],
  training: Record<string, number> = {},
): string {
  const t = { steps: 6, learning_rate: 0.003, batch_size: 4, seq_len: 64, seed: 0, eval_limit: 20, ...training };
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    [
      `name: ${name}`,
      'base_model: builtin:tiny-llama',
      'task_type: causal_lm',
      'train_data: builtin:arith',
      'eval_tasks: [builtin:arith]',
      'target_modules: [q_proj, v_proj]',
      `training: {${Object.entries(t)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')}}`,
      'grid:',
      ...grid.map((l) => `  ${l}`),
    ].join('\n'),
  );
  return path;
}

export async function waitFor<T>(
  fn: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null && (v as unknown) !== false) return v as T;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function waitForSweepEnd(store: Store, sweepId: string, timeoutMs: number): Promise<SweepRow> {
  return waitFor(
    () => {
      const s = store.getSweep(sweepId);
      return s && FINAL_SWEEP_STATUSES.has(s.status) ? s : undefined;
    },
    timeoutMs,
    `sweep ${sweepId} to end`,
  );
}

/** True while the process runs; an exited process not yet reaped (a zombie) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
