/**
 * Adapters across hosts, over every artifact backend (docs/decisions/0009-artifact-storage.md): two hosts are two
 * ArtifactStores with their own artifacts/ folders and one shared backend, the real thing each time (a Redis, a
 * folder, moto's S3 server on a free port).
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { UnrecoverableError } from 'bullmq';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server, type S3TestServer } from '../../../test/helpers/s3-server.js';
import type { ArtifactBackend } from '../artifact-store/artifact-backend.js';
import { FileBackend } from '../artifact-store/file-backend.js';
import { openArtifactBackend } from '../artifact-store/open-artifact-backend.js';
import { RedisMirrorBackend } from '../artifact-store/redis-mirror-backend.js';
import { S3Backend } from '../artifact-store/s3-backend.js';
import { isControlPlaneError } from '../errors.js';
import { ArtifactStore } from './artifacts.js';
import { fetchVerifiedAdapter } from './process-eval.js';

const REDIS_URL = process.env.BSLORA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** One backend under test: how to open it, and how to plant bytes under a name behind its back. */
interface BackendCase {
  name: string;
  setUp(): Promise<void>;
  open(): ArtifactBackend;
  plant(sha256: string, data: Buffer): Promise<void>;
  tearDown(): Promise<void>;
}

const scratch = mkdtempSync(join(tmpdir(), 'art-backends-'));
const redis = new Redis(REDIS_URL);
const prefix = `bslora-test-artifacts-${process.pid}-${Date.now()}`;
let s3: S3TestServer;

const CASES: BackendCase[] = [
  {
    name: 'redis',
    setUp: async () => {},
    open: () => new RedisMirrorBackend(redis, prefix),
    plant: async (sha, data) => void (await redis.set(`${prefix}:adapter:${sha}`, data)),
    tearDown: async () => {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
    },
  },
  {
    name: 'file',
    setUp: async () => {},
    open: () => new FileBackend(join(scratch, 'shared')),
    plant: async (sha, data) => writeFileSync(join(scratch, 'shared', `${sha}.tar`), data),
    tearDown: async () => {},
  },
  {
    name: 's3',
    setUp: async () => {
      s3 = await startS3Server();
    },
    open: () => new S3Backend({ bucket: s3.bucket, prefix: 'sweeps/artifacts', env: s3.env }),
    plant: async (sha, data) =>
      void (await s3.client.send(
        new PutObjectCommand({ Bucket: s3.bucket, Key: `sweeps/artifacts/${sha}.tar`, Body: data }),
      )),
    tearDown: async () => s3?.stop(),
  },
];

let hostCount = 0;
function newHost(backend: ArtifactBackend): ArtifactStore {
  return new ArtifactStore(join(scratch, `host-${hostCount++}`), backend);
}

afterAll(() => {
  redis.disconnect();
  rmSync(scratch, { recursive: true, force: true });
});

describe.each(CASES)('adapters across hosts through the $name backend', (backend) => {
  beforeAll(() => backend.setUp(), 60_000);
  afterAll(() => backend.tearDown());

  it('lets another host fetch an adapter it never saw, verified and kept locally', async () => {
    const hostA = newHost(backend.open());
    const hostB = newHost(backend.open());
    const data = Buffer.from(`adapter bytes of ${backend.name} \u0000\u0001\u0002`.repeat(1000));
    const sha = await hostA.put(data);
    expect(hostB.get(sha)).toBeUndefined();
    expect((await hostB.fetch(sha))!.equals(data)).toBe(true);
    expect(hostB.get(sha)!.equals(data)).toBe(true);
  });

  it('refuses a shared copy whose bytes do not match its name, with an error naming the backend', async () => {
    const hostB = newHost(backend.open());
    const fake = createHash('sha256').update(`the real adapter ${backend.name}`).digest('hex');
    await backend.plant(fake, Buffer.from('not it'));
    const caught = await hostB.fetch(fake).catch((e: unknown) => e);
    expect(isControlPlaneError(caught) && caught.code).toBe('CP_ERR_ADAPTER_INVALID');
    expect((caught as Error).message).toContain(hostB.backend!.description);
    expect((caught as Error).message).toContain(fake);
    // Nothing was kept: the next fetch reads the backend again (a retry), never a damaged local copy.
    expect(hostB.get(fake)).toBeUndefined();
  });

  it('gives an eval job a retried error, not a wrong adapter, for a damaged or missing copy', async () => {
    const host = newHost(backend.open());
    const damaged = createHash('sha256').update(`damaged for eval ${backend.name}`).digest('hex');
    await backend.plant(damaged, Buffer.from('torn'));
    for (const sha of [damaged, '1'.repeat(64)]) {
      const caught = await fetchVerifiedAdapter(host, sha, 'trial-x').catch((e: unknown) => e);
      // A plain Error: BullMQ retries it (attempts and backoff of TRIAL_JOB_OPTIONS); UnrecoverableError would not.
      expect(caught).toBeInstanceOf(Error);
      expect(caught).not.toBeInstanceOf(UnrecoverableError);
      expect((caught as Error).message).toContain('trial-x');
      expect((caught as Error).message).toContain(sha);
      expect((caught as Error).message).toContain(host.backend!.description);
    }
  });

  it('answers undefined for an adapter no host stored, and names where it looked', async () => {
    const host = newHost(backend.open());
    expect(await host.fetch('0'.repeat(64))).toBeUndefined();
    expect(host.where).toBe(`artifacts/ nor ${host.backend!.description}`);
  });

  it('stores the same adapter from two hosts at once and replaces a damaged local copy from the backend', async () => {
    const [hostA, hostB, hostC] = [newHost(backend.open()), newHost(backend.open()), newHost(backend.open())];
    const data = Buffer.from(`same adapter ${backend.name}`.repeat(5000));
    const [shaA, shaB] = await Promise.all([hostA.put(data), hostB.put(data)]);
    expect(shaA).toBe(shaB);
    expect((await hostC.fetch(shaA))!.equals(data)).toBe(true);
    writeFileSync(hostC.pathOf(shaA), 'damaged on this host');
    expect((await hostC.fetch(shaA))!.equals(data)).toBe(true);
    expect(hostC.get(shaA)!.equals(data)).toBe(true);
  });
});

describe('artifact backends: atomic writes, the Redis cap, the setting', () => {
  it('a shared folder holds only whole archives: no temporary file is left behind', async () => {
    const dir = join(scratch, 'atomic');
    const backend = new FileBackend(dir);
    const data = Buffer.alloc(3 * 1024 * 1024, 7);
    const sha = createHash('sha256').update(data).digest('hex');
    await Promise.all([backend.put(sha, data), backend.put(sha, data), backend.put(sha, data)]);
    expect(readdirSync(dir)).toEqual([`${sha}.tar`]);
    expect((await backend.get(sha))!.equals(data)).toBe(true);
  });

  it('the Redis mirror refuses an adapter over its cap, naming the cap and the other backends', async () => {
    const store = newHost(new RedisMirrorBackend(redis, prefix, 1024));
    const caught = await store.put(Buffer.alloc(2048, 1)).catch((e: unknown) => e);
    expect(isControlPlaneError(caught) && caught.code).toBe('CP_ERR_ARTIFACT_TOO_LARGE');
    const message = (caught as Error).message;
    expect(message).toContain('2048 bytes');
    expect(message).toContain('cap of 1024 bytes');
    expect(message).toContain('BSLORA_ARTIFACTS_REDIS_MAX_BYTES');
    expect(message).toContain('file:///');
    expect(message).toContain('s3://');
    const sha = createHash('sha256').update(Buffer.alloc(2048, 1)).digest('hex');
    expect(await redis.exists(`${prefix}:adapter:${sha}`)).toBe(0);
  });

  it('opens the backend one setting names, and refuses a bad one with the forms that work', async () => {
    const mirror = { redis, prefix };
    expect((await openArtifactBackend(undefined, mirror, {})).description).toBe('the Redis mirror');
    expect((await openArtifactBackend('redis', mirror, {})).description).toBe('the Redis mirror');
    const folder = `file://${join(scratch, 'by-setting')}`;
    expect((await openArtifactBackend(folder, mirror, {})).description).toBe(folder);
    const s3Backend = await openArtifactBackend('s3://my-bucket/a/b/', mirror, {});
    expect(s3Backend.description).toBe('s3://my-bucket/a/b');
    await s3Backend.close?.();
    for (const bad of ['ftp://x', 'file:relative', 's3://', 's3://UPPER/x', '/plain/path']) {
      const caught = await openArtifactBackend(bad, mirror, {}).catch((e: unknown) => e);
      expect(isControlPlaneError(caught) && caught.code, bad).toBe('CP_ERR_ARTIFACTS_SETTING');
      expect((caught as Error).message).toContain(JSON.stringify(bad));
      expect((caught as Error).message).toContain('s3://bucket/prefix');
    }
    const cap = await openArtifactBackend('redis', mirror, { BSLORA_ARTIFACTS_REDIS_MAX_BYTES: 'lots' }).catch(
      (e: unknown) => e,
    );
    expect(isControlPlaneError(cap) && cap.code).toBe('CP_ERR_ARTIFACTS_SETTING');
  });

  it('writes a local artifact once and never overwrites it', async () => {
    const store = new ArtifactStore(join(scratch, 'local-only'));
    const sha = store.putLocal(Buffer.from('one'));
    writeFileSync(store.pathOf(sha), 'tampered');
    store.putLocal(Buffer.from('one'));
    expect(store.get(sha)!.toString()).toBe('tampered');
  });
});
