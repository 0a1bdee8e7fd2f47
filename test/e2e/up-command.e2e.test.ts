/**
 * `bslora up` as a user runs it: a real process that starts its own Redis (none answers on the chosen port), a
 * worker and the API, then stops every one of them on Ctrl-C (SIGINT).
 */
import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, isAlive as alive } from '../helpers/sweep-helpers.js';

const BIN = fileURLToPath(new URL('../../bin/bslora.js', import.meta.url));

describe('bslora up', () => {
  const home = mkdtempSync(join(tmpdir(), 'bslora-up-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('starts Redis, a worker and the API, serves requests, and leaves nothing running after SIGINT', async () => {
    const redisPort = await freePort();
    const child = execa('node', [BIN, 'up'], {
      env: {
        BSLORA_HOME: home,
        BSLORA_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        BSLORA_PORT: '0',
        BSLORA_API_TOKEN: 'test-token',
      },
      reject: false,
      all: true,
      buffer: true,
    });
    let output = '';
    child.all!.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 120_000;
    while (!output.includes('bslora is up') && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(output).toContain('bslora is up');
    const apiUrl = /API (http:\/\/\S+),/.exec(output)![1];
    const workerPid = Number(/\(pid (\d+)\)/.exec(output.split('bslora is up')[1])![1]);
    const redisPid = Number(/started redis-server at \S+ \(pid (\d+)\)/.exec(output)![1]);
    expect(alive(workerPid)).toBe(true);
    expect(alive(redisPid)).toBe(true);

    const health = await fetch(`${apiUrl}/healthz`);
    expect(health.status).toBe(200);
    const unauthorized = await fetch(`${apiUrl}/api/v1/sweeps`, {
      method: 'POST',
      body: 'name: x',
      headers: { 'content-type': 'application/yaml' },
    });
    expect(unauthorized.status).toBe(401);

    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(alive(workerPid)).toBe(false);
    expect(alive(redisPid)).toBe(false);
  }, 180_000);
});
