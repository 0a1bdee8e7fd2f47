import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSweepSpec } from './parse-sweep-spec.js';
import { parseSweepSpecOffThread, stopSpecThread } from './parse-off-thread.js';
import { minimalSpec } from './test-fixtures.js';

describe('parseSweepSpecOffThread', () => {
  afterAll(() => stopSpecThread());

  it('gives what parseSweepSpec gives, and its errors with their code and issues', async () => {
    const text = stringify(minimalSpec());
    expect(await parseSweepSpecOffThread(text, { baseDir: '/tmp' })).toEqual(
      parseSweepSpec(text, { baseDir: '/tmp' }),
    );
    await expect(parseSweepSpecOffThread(stringify(minimalSpec({ priority: 0 })))).rejects.toMatchObject({
      code: 'CP_ERR_SPEC_INVALID',
      issues: [{ path: 'priority', message: 'must be >= 1 (got 0)' }],
    });
  });

  it('refuses a spec that takes longer than the timeout with CP_ERR_SPEC_TOO_COSTLY, and the next spec is checked by a fresh thread', async () => {
    const slow = `${stringify(minimalSpec())}${Array.from({ length: 20_000 }, (_, i) => `k${i}: 1`).join('\n')}\n`;
    await expect(parseSweepSpecOffThread(slow, {}, 5)).rejects.toMatchObject({
      code: 'CP_ERR_SPEC_TOO_COSTLY',
      message: expect.stringContaining('took longer than 5 ms'),
    });
    expect((await parseSweepSpecOffThread(stringify(minimalSpec()))).name).toBe('unit');
  });

  it('does not keep a process alive once idle', () => {
    const module = fileURLToPath(new URL('./parse-off-thread.ts', import.meta.url));
    const script = `const m = await import(${JSON.stringify(module)}); m.warmSpecThread(); await m.parseSweepSpecOffThread('name: x').catch(() => {}); console.log('idle');`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stdout).toContain('idle');
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
  });
});
