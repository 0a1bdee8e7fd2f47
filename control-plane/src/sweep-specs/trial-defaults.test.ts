import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { METHOD_VERSIONS, TRIAL_DEFAULTS } from './trial-defaults.js';
import { METHODS } from './trial-enums.js';

const DOC = fileURLToPath(new URL('../../../docs/sweep-spec.md', import.meta.url));

/** `training.warmup_steps` → 0 for every setting of the defaults file (section.setting; a setting's value may be an
 * object, as `adapter.scaling`'s `{"fixed": 2}`). */
function leaves(obj: Record<string, unknown>, prefix = ''): [string, unknown][] {
  return Object.entries(obj).flatMap(([k, v]) =>
    prefix === '' && v !== null && typeof v === 'object' && !Array.isArray(v)
      ? leaves(v as Record<string, unknown>, `${k}.`)
      : [[`${prefix}${k}`, v]],
  );
}

describe('proto/trial-defaults.json and proto/method-versions.json', () => {
  it('docs/sweep-spec.md states every default, in the file order, with the file value', () => {
    const doc = readFileSync(DOC, 'utf8');
    const table = /<!-- trial-defaults:begin -->([\s\S]*?)<!-- trial-defaults:end -->/.exec(doc)![1]!;
    const rows = [...table.matchAll(/^\| `([^`]+)` \| `([^`]+)` \|$/gm)].map((m) => [m[1], m[2]]);
    expect(rows).toEqual(
      leaves(TRIAL_DEFAULTS as unknown as Record<string, unknown>).map(([k, v]) => [
        k,
        typeof v === 'string' ? v : JSON.stringify(v),
      ]),
    );
  });

  it('has a version for every method and nothing else', () => {
    expect(Object.keys(METHOD_VERSIONS).sort()).toEqual([...METHODS].sort());
    for (const v of Object.values(METHOD_VERSIONS)) expect(v).toMatch(/^[a-z-]+\/\d+$/);
  });
});
