/**
 * The compiled CLI (infra/scripts/build-cli.sh → dist/cli/js/, what bin/bslora.js runs when it is fresh) behaves as
 * the TypeScript does, reads its data files from the repository as the sources do, and starts without the heavy
 * modules: what main.js imports before any command runs is commander and Node's own modules only.
 */
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = join(ROOT, 'dist/cli/js');
const env = { BSLORA_API_URL: 'http://127.0.0.1:1', BSLORA_HOME: join(ROOT, 'test-artifacts/compiled-cli-home') };

/** Packages and files main.js loads statically (before any command runs), following its chunks. */
function staticImports(file: string, seen = new Set<string>()): Set<string> {
  for (const m of readFileSync(join(OUT, file), 'utf8').matchAll(/^(?:import|export)\s[^;]*?from\s*"([^"]+)"/gm)) {
    const spec = m[1];
    if (seen.has(spec)) continue;
    seen.add(spec);
    if (spec.startsWith('./')) staticImports(spec.slice(2), seen);
  }
  return seen;
}

describe('the compiled CLI', () => {
  beforeAll(async () => {
    await execa('bash', ['infra/scripts/build-cli.sh'], { cwd: ROOT });
  }, 60_000);

  it('is built into dist/cli/js and answers --help as the TypeScript does', async () => {
    expect(existsSync(join(OUT, 'main.js'))).toBe(true);
    const compiled = await execa('node', [join(OUT, 'main.js'), '--help'], { cwd: ROOT, env });
    const source = await execa('node', ['bin/bslora.js', '--help'], {
      cwd: ROOT,
      env: { ...env, BSLORA_FROM_SOURCE: '1' },
    });
    expect(compiled.stdout).toBe(source.stdout);
    expect(compiled.stdout).toContain('adapter');
  }, 60_000);

  it('loads only commander and node: modules before a command runs', () => {
    const packages = [...staticImports('main.js')].filter((s) => !s.startsWith('./'));
    expect(packages.length).toBeGreaterThan(0);
    for (const p of packages) expect(p, p).toMatch(/^(commander|node:[a-z_/]+)$/);
  });

  it('checks a spec on its own thread without tsx (the server side of a submission)', async () => {
    const worker = new Worker(join(OUT, 'parse-thread.mjs'));
    try {
      const replies: { ready?: boolean; id?: number; ok?: boolean; spec?: { name: string }; error?: unknown }[] = [];
      worker.on('message', (m) => replies.push(m));
      await new Promise<void>((resolve, reject) => {
        worker.once('error', reject);
        const tick = setInterval(() => {
          if (replies.some((r) => r.id === 1)) {
            clearInterval(tick);
            resolve();
          }
        }, 20);
        worker.postMessage({
          id: 1,
          text: readFileSync(join(ROOT, 'jobs/quickstart.yaml'), 'utf8'),
          opts: { baseDir: join(ROOT, 'jobs') },
        });
      });
      const reply = replies.find((r) => r.id === 1)!;
      expect(reply.error).toBeUndefined();
      expect(reply.ok).toBe(true);
      expect(reply.spec!.name).toBe('quickstart');
    } finally {
      await worker.terminate();
    }
  }, 60_000);

  it('finds the data files the sources name relative to themselves (builtin resources, jobs/)', async () => {
    // Validating the spec reads proto/builtin-resources.json; then the API is unreachable: exit 3, not a crash.
    const r = await execa('node', [join(OUT, 'main.js'), 'sweep', 'submit', 'jobs/quickstart.yaml'], {
      cwd: ROOT,
      env,
      reject: false,
    });
    expect(r.stderr).toContain('CP_ERR_API_UNREACHABLE');
    expect(r.exitCode).toBe(3);
  }, 60_000);
});
