/**
 * The S3 artifact backend across real processes: a control plane in this process and a `bslora agent` process with
 * its own home and a real PyTorch worker share nothing but Redis and an S3 bucket (moto's server on a free port).
 * The agent trains a tiny LoRA, stores the adapter in S3, evaluates it, and the control plane takes its own copy
 * from S3, verified against the sha256 the result names.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { execa, type ResultPromise } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane } from '../../control-plane/src/control-plane.js';
import { parseSweepSpec } from '../../control-plane/src/sweep-specs/index.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';
import { waitFor, waitForSweepEnd, writeTinySpec } from '../helpers/sweep-helpers.js';

const BIN = fileURLToPath(new URL('../../bin/bslora.js', import.meta.url));

describe('adapters through S3 between an agent process and the control plane', () => {
  const prefix = uniquePrefix('s3-e2e');
  const homes = [0, 1].map((i) => mkdtempSync(join(tmpdir(), `bslora-s3-${i}-`)));
  const setting = 's3://bslora-e2e/runs/artifacts';
  let s3: S3TestServer;
  let cp: ControlPlane;
  let agent: ResultPromise | undefined;
  let output = '';

  beforeAll(async () => {
    s3 = await startS3Server('bslora-e2e');
    cp = await ControlPlane.start({
      redisUrl: TEST_REDIS_URL,
      prefix,
      homeDir: homes[0],
      artifacts: setting,
      env: { ...process.env, ...s3.env },
    });
    agent = execa('node', [BIN, 'agent', '--redis', TEST_REDIS_URL, '--prefix', prefix, '--devices', 'cpu'], {
      env: { ...s3.env, BSLORA_HOME: homes[1], BSLORA_ARTIFACTS: setting },
      reject: false,
      all: true,
      buffer: false,
      forceKillAfterDelay: 30_000,
    });
    agent.all!.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor(() => /consuming from/.test(output) || undefined, 120_000, `the agent to start:\n${output}`);
  }, 180_000);

  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await agent;
    }
    await cp?.close();
    await s3?.stop();
    await deleteKeysWithPrefix(prefix);
    for (const h of homes) rmSync(h, { recursive: true, force: true });
  });

  it('trains and evaluates through the agent; the adapter lands in S3 and, verified, on the control plane', async () => {
    const specPath = writeTinySpec(homes[0], 's3-e2e', ['method: [lora]', 'lora_ranks: [4]'], {
      steps: 2,
      eval_limit: 4,
    });
    const submitted = await cp.submit(parseSweepSpec(readFileSync(specPath, 'utf8'), { format: 'yaml' }));
    const sweep = await waitForSweepEnd(cp.store, submitted.sweepId, 150_000);
    expect(sweep.status, output).toBe('completed');
    const [row] = cp.store.trialsOfSweep(submitted.sweepId);
    const sha = (row.result!.train as { adapterSha256: string }).adapterSha256;
    expect(sha).toMatch(/^[0-9a-f]{64}$/);

    const object = await s3.client.send(
      new GetObjectCommand({ Bucket: 'bslora-e2e', Key: `runs/artifacts/${sha}.tar` }),
    );
    const stored = Buffer.from(await object.Body!.transformToByteArray());
    expect(createHash('sha256').update(stored).digest('hex')).toBe(sha);

    // The control plane's home shares no folder with the agent's: its copy came from S3.
    const local = await waitFor(() => existsSync(cp.artifacts.pathOf(sha)) || undefined, 10_000, 'the copy');
    expect(local).toBe(true);
    expect(readFileSync(cp.artifacts.pathOf(sha)).equals(stored)).toBe(true);
  }, 180_000);
});
