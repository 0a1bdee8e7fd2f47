/**
 * Planning `grid.peft` entries: spec rules, trial names and keys, and the submit-time validation's handling of the
 * worker's answers. The worker side (PEFT itself) runs for real in test/e2e/peft-baselines.e2e.test.ts; here the
 * worker's answers are given, to pin what the planner does with each.
 */
import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';

import { ControlPlaneError } from '../errors.js';
import { CountParametersResponse, type Trial } from '../gen/bslora_api/worker/v1/worker_service.js';
import { expandSweep } from '../sweep-specs/expand-sweep.js';
import { parseSweepSpec } from '../sweep-specs/parse-sweep-spec.js';
import { issuesOf, minimalSpec, toYaml } from '../sweep-specs/test-fixtures.js';
import { trialCoordinates } from '../sweep-specs/trial-coordinates.js';
import { METHOD_VERSIONS } from '../sweep-specs/trial-defaults.js';
import { validatePeftEntries } from './validate-peft-entries.js';

const PEFT_GRID = {
  method: ['lora', 'peft'],
  lora_ranks: [4],
  peft: [
    { name: 'lokr-r8', peft: { peft_type: 'LOKR', r: 8, alpha: 16 } },
    { name: 'fourierft', peft: { peft_type: 'FOURIERFT', n_frequency: 50, target_modules: ['q_proj'] } },
  ],
};
const spec = (grid: Record<string, unknown> = PEFT_GRID, extra: Record<string, unknown> = {}) =>
  parseSweepSpec(
    toYaml(
      minimalSpec({
        grid,
        training: { steps: 2, learning_rate: 0.001, batch_size: 2, seq_len: 16, seeds: [0, 1] },
        ...extra,
      }),
    ),
  );

function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(details), { code, details, metadata: new Metadata() });
}

describe('grid.peft in the plan', () => {
  it('runs each entry once per seed, named peft-<name>-s<seed>, with the written config and no PEFT version yet', () => {
    const trials = expandSweep(spec()).filter((t) => t.method?.$case === 'peft');
    expect(trials.map((t) => t.name)).toEqual([
      'peft-lokr-r8-s0',
      'peft-fourierft-s0',
      'peft-lokr-r8-s1',
      'peft-fourierft-s1',
    ]);
    const first = trials[0]!;
    expect(first.methodVersion).toBe(METHOD_VERSIONS.peft);
    expect(first.method).toEqual({
      $case: 'peft',
      value: {
        name: 'lokr-r8',
        configJson: '{"alpha":16,"peft_type":"LOKR","r":8,"target_modules":["q_proj","v_proj"]}',
        peftVersion: '',
      },
    });
    // An entry's own target_modules win over the spec's.
    expect(
      JSON.parse((trials[1]!.method as { value: { configJson: string } }).value.configJson).target_modules,
    ).toEqual(['q_proj']);
    expect(trialCoordinates(first)).toMatchObject({ method: 'peft', peftName: 'lokr-r8', rank: null });
  });

  it('keys a trial by the canonical config and PEFT version, not by the entry name', () => {
    const canonical = new Map([
      ['lokr-r8', { configJson: '{"alpha":16,"peft_type":"LOKR","r":8}', peftVersion: '0.21.2' }],
      ['fourierft', { configJson: '{"n_frequency":50,"peft_type":"FOURIERFT"}', peftVersion: '0.21.2' }],
    ]);
    const key = (m: Map<string, { configJson: string; peftVersion: string }>, s = spec()) =>
      expandSweep(s, m).find((t) => t.name === 'peft-lokr-r8-s0')!.trialKey;
    const base = key(canonical);
    expect(key(new Map())).not.toBe(base);
    expect(
      key(new Map([...canonical, ['lokr-r8', { ...canonical.get('lokr-r8')!, peftVersion: '0.22.0' }]])),
    ).not.toBe(base);
    const renamed = spec({ ...PEFT_GRID, peft: [{ ...PEFT_GRID.peft[0]!, name: 'other' }] });
    const renamedKey = expandSweep(renamed, new Map([['other', canonical.get('lokr-r8')!]])).find(
      (t) => t.name === 'peft-other-s0',
    )!.trialKey;
    expect(renamedKey).toBe(base);
  });

  it('refuses grid.peft without method peft, method peft without entries, duplicate names and entries without peft_type', () => {
    const paths = (grid: Record<string, unknown>) => issuesOf(() => spec(grid)).map((i) => `${i.path}: ${i.message}`);
    expect(paths({ method: ['lora'], lora_ranks: [4], peft: PEFT_GRID.peft })).toEqual([
      'grid.peft: applies only to method peft, which grid.method does not include',
    ]);
    expect(paths({ method: ['peft'] })).toEqual(['grid.peft: required when method includes peft']);
    expect(paths({ method: ['peft'], peft: [PEFT_GRID.peft[0], PEFT_GRID.peft[0]] })).toEqual([
      'grid.peft[1].name: duplicate peft entry name "lokr-r8"',
    ]);
    expect(paths({ method: ['peft'], peft: [{ name: 'x', peft: { r: 8 } }] })[0]).toMatch(
      /^grid\.peft\[0\]\.peft\.peft_type: /,
    );
    expect(paths({ method: ['peft'], peft: [{ name: 'Bad Name', peft: { peft_type: 'LOKR' } }] })[0]).toMatch(
      /^grid\.peft\[0\]\.name: /,
    );
  });

  it('accepts peft selectors in expect rules, and refuses one that names no entry', () => {
    expect(() => spec(PEFT_GRID, { expect: [{ best: 'peft:lokr-r8', at_least: 'lora:r4 - 1' }] })).not.toThrow();
    expect(issuesOf(() => spec(PEFT_GRID, { expect: [{ best: 'peft:loha', at_least: 50 }] }))).toEqual([
      { path: 'expect[0].best', message: 'matches no trial of this sweep (no peft loha trial)' },
    ]);
  });
});

describe('validatePeftEntries', () => {
  it("sends each entry once with the spec's settings and returns what the worker canonicalised", async () => {
    const sent: Trial[] = [];
    const out = await validatePeftEntries(spec(), async (trial) => {
      sent.push(trial);
      return CountParametersResponse.fromPartial({
        canonicalConfigJson: `{"n":"${trial.name}"}`,
        peftVersion: '0.21.2',
      });
    });
    expect(sent.map((t) => t.name)).toEqual(['peft-lokr-r8-s0', 'peft-fourierft-s0']);
    expect(sent[0]!.baseModel).toBe('builtin:tiny-llama');
    expect(out.get('fourierft')).toEqual({ configJson: '{"n":"peft-fourierft-s0"}', peftVersion: '0.21.2' });
  });

  it("refuses the spec naming every entry PEFT refused, with PEFT's message and the entry's path", async () => {
    const err = await validatePeftEntries(spec(), async (trial) => {
      throw grpcError(status.INVALID_ARGUMENT, `${trial.name}: \`r\` should be a positive integer value`);
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlPlaneError);
    expect((err as ControlPlaneError).code).toBe('CP_ERR_SPEC_INVALID');
    expect((err as ControlPlaneError).issues).toEqual([
      {
        path: 'grid.peft[0].peft',
        message: 'PEFT refuses entry "lokr-r8": peft-lokr-r8-s0: `r` should be a positive integer value',
      },
      {
        path: 'grid.peft[1].peft',
        message: 'PEFT refuses entry "fourierft": peft-fourierft-s0: `r` should be a positive integer value',
      },
    ]);
  });

  it("passes a transient worker failure on (it is not the spec's fault)", async () => {
    await expect(
      validatePeftEntries(spec(), async () => Promise.reject(grpcError(status.UNAVAILABLE, 'gone'))),
    ).rejects.toThrow('gone');
  });
});
