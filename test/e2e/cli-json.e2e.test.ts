/**
 * `--json` manners, through the real `bin/bslora.js` in its own process: for every command that offers `--json`,
 * stdout is one JSON document and nothing else (informational lines go to stderr). The list of commands is read
 * from the program itself, so a new command with `--json` fails this test until it is covered here.
 */
import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProgram } from '../../control-plane/src/cli/program.js';
import { startLocalStack, type LocalStack } from '../../control-plane/src/local-stack.js';
import { captureIo } from '../helpers/capture-io.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { writeTinySpec } from '../helpers/sweep-helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function commandsWithJson(cmd: Command, path: string[] = []): string[] {
  return cmd.commands.flatMap((c) => {
    const here = [...path, c.name()];
    return [...(c.options.some((o) => o.long === '--json') ? [here.join(' ')] : []), ...commandsWithJson(c, here)];
  });
}

describe('every --json command prints JSON alone on stdout', () => {
  const prefix = uniquePrefix('e2e-json');
  const home = mkdtempSync(join(tmpdir(), 'bslora-e2e-json-'));
  const covered = new Set<string>();
  const demoPids: number[] = [];
  let stack: LocalStack;
  let specPath: string;
  let sweepId: string;

  /** Runs the CLI binary; returns stdout parsed (the test fails when it is not JSON) and stderr. */
  const run = async (command: string, args: string[], opts: { exitCode?: number } = {}) => {
    covered.add(command);
    const child = execa('node', ['bin/bslora.js', ...command.split(' '), ...args, '--json'], {
      cwd: ROOT,
      reject: false,
      env: {
        BSLORA_HOME: home,
        BSLORA_API_URL: stack.apiUrl!,
        BSLORA_REDIS_URL: TEST_REDIS_URL,
        BSLORA_PREFIX: prefix,
        OMP_NUM_THREADS: '1',
      },
    });
    if (command === 'demo' && child.pid) demoPids.push(child.pid);
    const r = await child;
    expect(r.exitCode, `${command}: ${r.stderr}`).toBe(opts.exitCode ?? 0);
    let parsed: unknown;
    expect(() => (parsed = JSON.parse(r.stdout)), `${command} stdout: ${r.stdout.slice(0, 300)}`).not.toThrow();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each command has its own document
    return { json: parsed as any, stderr: r.stderr };
  };

  beforeAll(async () => {
    stack = await startLocalStack({ homeDir: home, redisUrl: TEST_REDIS_URL, prefix, port: 0 });
    specPath = writeTinySpec(
      home,
      'e2e-json',
      ['method: [lora, bslora]', 'lora_ranks: [4]', 'share_mode: slice', 'ranks: [{local: 1, intra: 1, inter: 2}]'],
      { steps: 3, eval_limit: 8, seed: 3 },
    );
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await deleteKeysWithPrefix(prefix);
    for (const pid of demoPids) await deleteKeysWithPrefix(`bslora-demo-${pid}`);
    rmSync(home, { recursive: true, force: true });
  });

  it('sweep submit (with and without --wait), status, list, results', async () => {
    const submitted = await run('sweep submit', [specPath]);
    expect(submitted.json).toMatchObject({ trials: 2 });
    sweepId = String(submitted.json.id);
    const waited = await run('sweep submit', [specPath, '--wait']);
    expect(waited.json).toMatchObject({ status: 'completed' });
    expect(waited.stderr).toContain('submitted sweep');
    expect((await run('sweep status', [sweepId])).json).toMatchObject({ id: sweepId });
    expect((await run('sweep list', [])).json.map((s: { id: string }) => s.id)).toContain(sweepId);
    expect((await run('sweep results', [sweepId])).json).toMatchObject({ sweepId });
    const compared = await run('compare', [sweepId, String(waited.json.id)]);
    expect(compared.json.sweeps.map((s: { id: string }) => s.id)).toEqual([sweepId, String(waited.json.id)]);
  }, 240_000);

  it('workers, params, adapter get', async () => {
    expect((await run('workers', [])).json.length).toBe(1);
    expect((await run('params', [specPath])).json).toMatchObject({ spec: 'e2e-json' });
    const got = await run('adapter get', [sweepId, 'lora-r4-s3', join(home, 'adapter')]);
    expect(got.json).toMatchObject({ trial: 'lora-r4-s3', method: 'lora' });
  }, 120_000);

  it('demo --tiny: the sweep, its chart and home as JSON; the progress and opening lines on stderr', async () => {
    const demo = await run('demo', ['--tiny']);
    expect(demo.json).toMatchObject({ name: 'quickstart', status: 'completed' });
    expect(String(demo.json.chart)).toMatch(/params-vs-accuracy\.svg$/);
    expect(demo.stderr).toContain('dashboard:');
  }, 300_000);

  it('covers every command that offers --json', () => {
    const all = commandsWithJson(
      makeProgram(
        { homeDir: home, redisUrl: TEST_REDIS_URL, prefix, apiUrl: 'http://127.0.0.1:1', host: '127.0.0.1', port: 0 },
        captureIo().io,
      ),
    );
    expect(all.length).toBeGreaterThan(5);
    expect([...covered].sort()).toEqual([...all].sort());
  });
});
