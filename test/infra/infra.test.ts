/**
 * Everything in infra/ is exercised: the Redis configuration really gives noeviction and AOF, the systemd units
 * verify, and every variable of the environment example is one the code reads (or the unit itself expands).
 */
import { execa } from 'execa';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REDIS_CONF } from '../../control-plane/src/redis/ensure-redis.js';
import { freePort, waitFor } from '../helpers/sweep-helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SYSTEMD = join(ROOT, 'infra/systemd');

function sourcesUnder(dir: string, exts: string[]): string {
  let text = '';
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && !['node_modules', 'gen', '__pycache__'].includes(entry.name))
      text += sourcesUnder(path, exts);
    else if (exts.some((e) => entry.name.endsWith(e))) text += readFileSync(path, 'utf8');
  }
  return text;
}

describe('infra/', () => {
  it('redis.conf gives noeviction and an append-only file', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'bslora-conf-'));
    const server = execa('redis-server', [REDIS_CONF, '--port', String(port), '--dir', dir], { reject: false });
    try {
      const cli = (...args: string[]) => execa('redis-cli', ['-p', String(port), ...args], { reject: false });
      await waitFor(
        async () => ((await cli('ping')).stdout === 'PONG' ? true : undefined),
        10_000,
        'redis with infra/redis/redis.conf',
      );
      expect((await cli('config', 'get', 'maxmemory-policy')).stdout).toContain('noeviction');
      expect((await cli('config', 'get', 'appendonly')).stdout).toContain('yes');
      expect((await cli('config', 'get', 'bind')).stdout).toContain('127.0.0.1');
    } finally {
      server.kill('SIGTERM');
      await server;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('the systemd units verify', async () => {
    const units = readdirSync(SYSTEMD).filter((f) => f.endsWith('.service'));
    expect(units.sort()).toEqual(['bslora-agent.service', 'bslora-serve.service']);
    const r = await execa('systemd-analyze', ['verify', ...units.map((u) => join(SYSTEMD, u))], { reject: false });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    // They run commands the CLI has.
    expect(readFileSync(join(SYSTEMD, 'bslora-serve.service'), 'utf8')).toMatch(/ExecStart=.*bslora\.js serve$/m);
    expect(readFileSync(join(SYSTEMD, 'bslora-agent.service'), 'utf8')).toMatch(
      /ExecStart=.*bslora\.js agent --devices \$\{BSLORA_DEVICES\}$/m,
    );
  }, 30_000);

  it('every variable of bslora.env.example is read by the code or expanded by a unit, and documented', () => {
    const env = readFileSync(join(SYSTEMD, 'bslora.env.example'), 'utf8');
    const names = [...env.matchAll(/^(BSLORA_[A-Z_]+)=/gm)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(5);
    const code =
      sourcesUnder(join(ROOT, 'control-plane/src'), ['.ts']) + sourcesUnder(join(ROOT, 'worker-py/src'), ['.py']);
    const units = readdirSync(SYSTEMD)
      .map((f) => readFileSync(join(SYSTEMD, f), 'utf8'))
      .join('\n');
    const ops = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');
    for (const name of names) {
      expect(code.includes(name) || units.includes(`\${${name}}`), `${name} is neither read nor expanded`).toBe(true);
      expect(ops, `${name} is not documented in docs/operations.md`).toContain(`\`${name}\``);
    }
  });
});

describe('infra/scripts/sum-junit.py', () => {
  const PY = join(ROOT, '.venv/bin/python');
  const SUM = join(ROOT, 'infra/scripts/sum-junit.py');
  const report = (dir: string, cases: string) => {
    const path = join(dir, `r${Math.random().toString(36).slice(2)}.xml`);
    writeFileSync(path, `<?xml version="1.0"?><testsuites><testsuite name="s">${cases}</testsuite></testsuites>`);
    return path;
  };

  it('fails on a skip that test/skip-allowlist.txt does not allow, naming it, and counts skips in the closing line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bslora-junit-'));
    try {
      const ok = report(dir, '<testcase classname="tests.a" name="t1"/><testcase classname="tests.a" name="t2"/>');
      const clean = await execa(PY, [SUM, ok], { reject: false });
      expect(clean.stdout.trim()).toBe('tests: 2 passed, 0 failed, 0 skipped (0 unexpected)');
      expect(clean.exitCode).toBe(0);

      const missingData = report(
        dir,
        '<testcase classname="tests.worker.test_x" name="t3"><skipped message="commonsense test data not found"/></testcase>',
      );
      const r = await execa(PY, [SUM, ok, missingData], { reject: false });
      expect(r.stdout.trim()).toBe('tests: 2 passed, 0 failed, 1 skipped (1 unexpected)');
      expect(r.stderr).toContain('tests.worker.test_x::t3: commonsense test data not found');
      expect(r.exitCode).toBe(1);

      // A skip on the allowlist (GPU tests on a machine without CUDA) is counted but does not fail the run.
      const gpu = report(
        dir,
        '<testcase classname="worker-py.tests.worker.test_gpu" name="test_bf16"><skipped message="needs a CUDA device"/></testcase>',
      );
      const allowed = await execa(PY, [SUM, ok, gpu], { reject: false });
      expect(allowed.stdout.trim()).toBe('tests: 2 passed, 0 failed, 1 skipped (0 unexpected)');
      expect(allowed.exitCode).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('every allowlist entry gives its reason', () => {
    const lines = readFileSync(join(ROOT, 'test/skip-allowlist.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(/^\S+ # \S.{10,}/);
  });
});
