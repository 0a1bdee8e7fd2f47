import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from './artifacts.js';

const REDIS_URL = process.env.BSLORA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('ArtifactStore with a Redis mirror (real Redis)', () => {
  const redis = new Redis(REDIS_URL);
  const prefix = `bslora-test-artifacts-${process.pid}-${Date.now()}`;
  const dirs = [mkdtempSync(join(tmpdir(), 'art-a-')), mkdtempSync(join(tmpdir(), 'art-b-'))];

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('lets another host fetch an adapter it never saw, verified and kept locally', async () => {
    const hostA = new ArtifactStore(dirs[0], { redis, prefix });
    const hostB = new ArtifactStore(dirs[1], { redis, prefix });
    const data = Buffer.from('adapter bytes \u0000\u0001\u0002'.repeat(1000));
    const sha = await hostA.put(data);
    expect(hostB.get(sha)).toBeUndefined();
    expect((await hostB.fetch(sha))!.equals(data)).toBe(true);
    expect(hostB.get(sha)!.equals(data)).toBe(true);
  });

  it('refuses a mirrored copy whose bytes do not match its name', async () => {
    const hostB = new ArtifactStore(dirs[1], { redis, prefix });
    const fake = 'a'.repeat(64);
    await redis.set(`${prefix}:adapter:${fake}`, Buffer.from('not it'));
    expect(await hostB.fetch(fake)).toBeUndefined();
  });

  it('writes a local artifact once and never overwrites it', async () => {
    const store = new ArtifactStore(dirs[0]);
    const sha = store.putLocal(Buffer.from('one'));
    writeFileSync(store.pathOf(sha), 'tampered');
    store.putLocal(Buffer.from('one'));
    expect(store.get(sha)!.toString()).toBe('tampered');
  });
});
