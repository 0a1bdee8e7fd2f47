/** The signature-verification snippets in docs/ci.md work against what the dispatcher sends. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signWebhookPayload } from './webhook-signature.js';

const DOC = readFileSync(new URL('../../../docs/ci.md', import.meta.url), 'utf8');

function snippet(marker: string, lang: string): string {
  const after = DOC.split(`<!-- ${marker} -->`)[1];
  expect(after, marker).toBeDefined();
  return after.split(`\`\`\`${lang}\n`)[1].split('```\n')[0];
}

describe('receiver snippets in docs/ci.md', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bslora-snippets-'));
  const body = JSON.stringify({ event: 'sweep.completed', note: 'ünïcode <b>' });
  const good = signWebhookPayload('s3cret', body);
  const stale = signWebhookPayload('s3cret', body, Math.floor(Date.now() / 1000) - 3600);
  const cases = [
    [good, body, true],
    [good, `${body} `, false],
    [signWebhookPayload('other', body), body, false],
    [stale, body, false],
    ['', body, false],
  ] as const;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('Node: verifySignature accepts a real signature and refuses tampering, other secrets and stale timestamps', () => {
    const file = join(dir, 'verify.mjs');
    const checks = cases
      .map(([h, b]) => `verifySignature('s3cret', ${JSON.stringify(b)}, ${JSON.stringify(h)})`)
      .join(', ');
    writeFileSync(file, `${snippet('receiver:node', 'js')}\nconsole.log(JSON.stringify([${checks}]));\n`);
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(cases.map((c) => c[2]));
  });

  it('Python: verify_signature does the same', () => {
    const file = join(dir, 'verify.py');
    const checks = cases
      .map(([h, b]) => `verify_signature("s3cret", ${JSON.stringify(b)}.encode(), ${JSON.stringify(h)})`)
      .join(', ');
    writeFileSync(file, `${snippet('receiver:python', 'python')}\nimport json\nprint(json.dumps([${checks}]))\n`);
    const r = spawnSync('python3', [file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(cases.map((c) => c[2]));
  });
});
