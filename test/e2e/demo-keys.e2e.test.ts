/**
 * `bslora demo` as a user runs it, against the shared Redis: whether it runs to the end or is stopped with Ctrl-C
 * (SIGINT) while its sweep trains, Redis holds no key under its queue prefix (`bslora-demo-<pid>`) afterwards.
 */
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { countKeysWithPrefix, deleteKeysWithPrefix, TEST_REDIS_URL } from '../helpers/redis.js';
import { tinySpecYaml } from '../helpers/tiny-spec.js';

const BIN = fileURLToPath(new URL('../../bin/bslora.js', import.meta.url));

describe('bslora demo leaves nothing in Redis', () => {
  const home = mkdtempSync(join(tmpdir(), 'bslora-demo-keys-'));
  const spec = join(home, 'tiny.yaml');
  writeFileSync(spec, tinySpecYaml({ name: 'demo-keys', steps: 2 }));
  const prefixes: string[] = [];
  afterAll(async () => {
    // Only if an assertion failed is there anything left to remove.
    for (const p of prefixes) await deleteKeysWithPrefix(p);
    rmSync(home, { recursive: true, force: true });
  });

  const startDemo = () => {
    const child = execa('node', [BIN, 'demo', spec, '--fresh'], {
      env: { BSLORA_HOME: home, BSLORA_REDIS_URL: TEST_REDIS_URL },
      reject: false,
      all: true,
      buffer: true,
    });
    const prefix = `bslora-demo-${child.pid}`;
    prefixes.push(prefix);
    let output = '';
    child.all!.on('data', (d: Buffer) => (output += d.toString()));
    return { child, prefix, output: () => output };
  };

  it('removes its queue keys when the sweep finishes', async () => {
    const { child, prefix, output } = startDemo();
    const result = await child;
    expect(result.exitCode, output()).toBe(0);
    expect(output()).toContain('lora-r8-s0');
    expect(await countKeysWithPrefix(prefix)).toBe(0);
  }, 180_000);

  it('removes its queue keys when stopped with SIGINT while the sweep runs', async () => {
    const { child, prefix, output } = startDemo();
    const deadline = Date.now() + 120_000;
    while (!/^sweep \S+ \(demo-keys\)/m.test(output()) && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(output()).toMatch(/^sweep \S+ \(demo-keys\)/m);
    // The sweep is queued: its keys exist now, so their absence afterwards is the demo's doing.
    expect(await countKeysWithPrefix(prefix)).toBeGreaterThan(0);
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode, output()).toBe(130);
    expect(await countKeysWithPrefix(prefix)).toBe(0);
  }, 180_000);
});
