/**
 * infra/slurm/bslora-agents.sbatch end to end, as one array task would run it on a node without `srun` on PATH:
 * the Slurm variables set, the script started with bash, a real agent with a real (dry-run) worker process draining
 * a sweep of this test's control plane, then exiting with code 0 on its own (`--exit-when-idle`), its worker gone.
 */
import { execa } from 'execa';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ControlPlane } from '../../control-plane/src/control-plane.js';
import { parseSweepSpec } from '../../control-plane/src/sweep-specs/index.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { isAlive, waitFor, waitForSweepEnd } from '../helpers/sweep-helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(ROOT, 'infra/slurm/bslora-agents.sbatch');
const IDLE_SECONDS = 3;

/** PATH with node, bash and the usual tools, but no folder that holds an `srun`. */
function pathWithoutSrun(): string {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((d) => d && !existsSync(join(d, 'srun')));
  const node = dirname(process.execPath);
  return [...new Set([node, ...dirs])].join(delimiter);
}

describe('infra/slurm/bslora-agents.sbatch', () => {
  const prefix = uniquePrefix('slurm');
  const homes = [0, 1].map((i) => mkdtempSync(join(tmpdir(), `bslora-slurm-${i}-`)));
  let cp: ControlPlane | undefined;

  afterAll(async () => {
    await cp?.close();
    await deleteKeysWithPrefix(prefix);
    for (const h of homes) rmSync(h, { recursive: true, force: true });
  });

  it('runs one array task without srun: the agent drains a sweep and exits 0 once idle', async () => {
    const shared = `file://${join(homes[0], 'shared-artifacts')}`;
    cp = await ControlPlane.start({ redisUrl: TEST_REDIS_URL, prefix, homeDir: homes[0], artifacts: shared });
    const spec = {
      name: 'slurm-array',
      base_model: 'builtin:tiny-llama',
      train_data: 'builtin:arith',
      eval_tasks: ['builtin:arith'],
      target_modules: ['q_proj', 'v_proj'],
      training: { steps: 1, learning_rate: 0.001, batch_size: 2, seq_len: 32, eval_limit: 1 },
      grid: { method: ['bslora'], ranks: [{ local: 2, intra: 2, inter: 2 }], seeds: [0, 1, 2, 3] },
    };
    // Queued before the agent starts, as with `sbatch` after `bslora sweep submit`.
    const submitted = await cp.submit(parseSweepSpec(JSON.stringify(spec), { format: 'json' }));

    const PATH = pathWithoutSrun();
    expect((await execa('bash', ['-c', 'command -v srun'], { env: { PATH }, reject: false })).exitCode).not.toBe(0);
    const started = Date.now();
    const child = execa('bash', [SCRIPT], {
      cwd: homes[1],
      extendEnv: false,
      env: {
        PATH,
        HOME: homes[1],
        TMPDIR: homes[1],
        SLURM_JOB_ID: '4242',
        SLURM_ARRAY_JOB_ID: '4241',
        SLURM_ARRAY_TASK_ID: '1',
        SLURM_SUBMIT_DIR: ROOT,
        SLURM_JOB_NAME: 'bslora-agent',
        SLURM_GPUS_ON_NODE: '0',
        BSLORA_REDIS_URL: TEST_REDIS_URL,
        BSLORA_PREFIX: prefix,
        BSLORA_ARTIFACTS: shared,
        BSLORA_EXIT_WHEN_IDLE: String(IDLE_SECONDS),
        BSLORA_AGENT_ARGS: '--dry-run',
        BSLORA_LOCK_DURATION_MS: '5000',
      },
      reject: false,
      all: true,
      timeout: 150_000,
    });
    const sweep = await waitForSweepEnd(cp.store, submitted.sweepId, 120_000);
    expect(sweep.status).toBe('completed');
    const r = await child;
    const output = r.all ?? '';
    expect(r.exitCode, output).toBe(0);
    expect(output).toContain('task 1 of job 4241');
    expect(output).toContain('devices from SLURM_GPUS_ON_NODE: cpu');
    expect(output).toMatch(/no work for 3 s; exiting/);
    expect(output).toContain('workers stopped');
    expect(Date.now() - started).toBeGreaterThan(IDLE_SECONDS * 1000);
    for (const row of cp.store.trialsOfSweep(submitted.sweepId)) expect(row.status).toBe('completed');
    // Its home was the task's own folder under TMPDIR, and its worker is gone.
    expect(existsSync(join(homes[1], 'bslora-agent-4241-1'))).toBe(true);
    const pid = Number(/\(pid (\d+)\)/.exec(output)?.[1]);
    expect(pid).toBeGreaterThan(0);
    await waitFor(() => !isAlive(pid) || undefined, 10_000, `worker ${pid} to exit`);
  }, 180_000);
});
