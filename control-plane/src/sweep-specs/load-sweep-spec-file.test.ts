import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ControlPlaneError } from '../errors.js';
import { expandSweep } from './expand-sweep.js';
import { loadSweepSpecFile } from './load-sweep-spec-file.js';
import { minimalSpec, toYaml } from './test-fixtures.js';

async function rejection(promise: Promise<unknown>): Promise<ControlPlaneError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ControlPlaneError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('loadSweepSpecFile', () => {
  it('throws CP_ERR_SPEC_UNREADABLE for a missing file', async () => {
    const err = await rejection(loadSweepSpecFile('/nonexistent/spec.yaml'));
    expect(err.code).toBe('CP_ERR_SPEC_UNREADABLE');
    expect(err.message).toContain('/nonexistent/spec.yaml');
  });

  it('resolves local paths relative to the spec file, not the working directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'load-'));
    mkdirSync(join(dir, 'specs'));
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'train.json'), '[]');
    writeFileSync(join(dir, 'specs', 'sweep.yaml'), toYaml(minimalSpec({ train_data: '../data/train.json' })));
    const spec = await loadSweepSpecFile(join(dir, 'specs', 'sweep.yaml'));
    expect(spec.train_data).toBe(join(dir, 'data', 'train.json'));
    expect(expandSweep(spec)[0]!.trainData).toBe(join(dir, 'data', 'train.json'));
  });

  it('names the field of a missing local file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'load-'));
    writeFileSync(join(dir, 'sweep.yaml'), toYaml(minimalSpec({ base_model: './missing-model' })));
    const err = await rejection(loadSweepSpecFile(join(dir, 'sweep.yaml')));
    expect(err.code).toBe('CP_ERR_SPEC_INVALID');
    expect(err.issues).toEqual([{ path: 'base_model', message: expect.stringContaining('does not exist') }]);
    expect(err.message).toContain('sweep.yaml is invalid');
  });

  it('reads .json spec files as JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'load-'));
    writeFileSync(join(dir, 'sweep.json'), JSON.stringify(minimalSpec()));
    expect((await loadSweepSpecFile(join(dir, 'sweep.json'))).name).toBe('unit');
  });
});
