import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ControlPlaneError, ERROR_CODES, isControlPlaneError } from './errors.js';

const DOC = readFileSync(new URL('../../docs/reference/errors.md', import.meta.url), 'utf8');

describe('error registry', () => {
  it('documents every code with its exit and HTTP status in docs/reference/errors.md', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      const row = DOC.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
      expect(row, `${code} is missing from docs/reference/errors.md`).toBeDefined();
      const cells = row!.split('|').map((c) => c.trim());
      expect(Number(cells[2])).toBe(info.exitCode);
      expect(Number(cells[3])).toBe(info.httpStatus);
    }
  });

  it('documents no code that does not exist', () => {
    const documented = [...DOC.matchAll(/^\| `(CP_ERR_[A-Z_]+)`/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('carries code, exit code, HTTP status and issues', () => {
    const err = new ControlPlaneError('CP_ERR_SPEC_INVALID', 'bad', {
      issues: [{ path: 'grid.ranks[0]', message: 'x' }],
    });
    expect(isControlPlaneError(err)).toBe(true);
    expect(err.exitCode).toBe(2);
    expect(err.httpStatus).toBe(400);
    expect(err.issues[0].path).toBe('grid.ranks[0]');
    expect(isControlPlaneError(new Error('plain'))).toBe(false);
  });
});
