import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSweepSpec } from './parse-sweep-spec.js';
import { checkRefSyntax, classifyRef, normalizeRef } from './resource-refs.js';
import { issuesOf, minimalSpec, toYaml } from './test-fixtures.js';
import { refIdentity } from './trial-key.js';

describe('lm-eval eval task references', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lm-eval-refs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts task names and local task YAMLs, and rejects anything else', () => {
    expect(classifyRef('lm-eval:arc_easy')).toBe('lm-eval');
    expect(checkRefSyntax('lm-eval:arc_easy')).toBeNull();
    expect(checkRefSyntax('lm-eval:./tasks/boolq.yaml')).toBeNull();
    expect(checkRefSyntax('lm-eval:')).toMatch(/lm-eval:<task name>/);
    expect(checkRefSyntax('lm-eval:bad name')).toMatch(/not an lm-eval reference/);
  });

  it('resolves a task YAML against the spec folder, and names a missing one by its field', () => {
    expect(normalizeRef('lm-eval:./t/boolq.yaml', '/specs')).toBe('lm-eval:/specs/t/boolq.yaml');
    expect(normalizeRef('lm-eval:arc_easy', '/specs')).toBe('lm-eval:arc_easy');
    const issues = issuesOf(() =>
      parseSweepSpec(toYaml(minimalSpec({ eval_tasks: ['builtin:arith', 'lm-eval:./missing.yaml'] })), {
        baseDir: dir,
      }),
    );
    expect(issues.map((i) => i.path)).toEqual(['eval_tasks[1]']);
  });

  it('identifies a local task by the content of its folder, so editing it changes the trial key', () => {
    const yaml = join(dir, 'boolq.yaml');
    writeFileSync(yaml, 'task: boolq_local\n');
    const ref = `lm-eval:${yaml}`;
    const before = JSON.stringify(refIdentity(ref, (p) => `hash-of-${p}-${Date.now()}`));
    expect(before).toContain('"kind":"lm-eval"');
    expect(before).toContain('"file":"boolq.yaml"');
    const a = refIdentity(ref);
    writeFileSync(join(dir, 'rows.json'), '[{"q": 1}]');
    const b = refIdentity(ref);
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(b));
    expect(refIdentity('lm-eval:arc_easy')).toEqual({ kind: 'lm-eval', ref: 'lm-eval:arc_easy' });
  });
});
