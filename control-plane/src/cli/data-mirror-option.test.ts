import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isControlPlaneError } from '../errors.js';
import { applyDataMirror } from './data-mirror-option.js';

describe('--data-mirror', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('exports the folder, absolute, to the workers started afterwards', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mirror-'));
    dirs.push(dir);
    const env: NodeJS.ProcessEnv = {};
    expect(applyDataMirror(dir, env)).toBe(dir);
    expect(env.BSLORA_DATA_MIRROR).toBe(dir);
    expect(applyDataMirror(undefined, { BSLORA_DATA_MIRROR: dir })).toBe(dir);
    expect(applyDataMirror(undefined, {})).toBeUndefined();
  });

  it('refuses a path that is not a folder, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mirror-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'file'), 'x');
    for (const bad of [join(dir, 'missing'), join(dir, 'file')]) {
      const env: NodeJS.ProcessEnv = {};
      let caught: unknown;
      try {
        applyDataMirror(bad, env);
      } catch (err) {
        caught = err;
      }
      expect(isControlPlaneError(caught) && caught.code).toBe('CP_ERR_DATA_MIRROR');
      expect((caught as Error).message).toContain(bad);
      expect(env.BSLORA_DATA_MIRROR).toBeUndefined();
    }
  });
});
