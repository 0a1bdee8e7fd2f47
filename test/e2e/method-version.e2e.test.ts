/**
 * Method versions against a real worker over gRPC: the worker reports the versions of proto/method-versions.json in
 * Describe, and a trial planned for another version is refused with FAILED_PRECONDITION naming both versions, which
 * the control plane's train job turns into a non-retryable failure (regression: such trials used to run).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { UnrecoverableError, type Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Method } from '../../control-plane/src/gen/bslora_api/worker/v1/worker_service.js';
import { processTrain } from '../../control-plane/src/queue/process-train.js';
import type { ArtifactStore } from '../../control-plane/src/queue/artifacts.js';
import type { TrainJobData, TrainJobResult } from '../../control-plane/src/queue/queues.js';
import {
  METHOD_VERSIONS,
  METHODS,
  expandSweep,
  loadSweepSpecFile,
  methodEnum,
  type Trial,
} from '../../control-plane/src/sweep-specs/index.js';
import { isGrpcServiceError, isPermanentGrpcError } from '../../control-plane/src/worker-process/grpc-errors.js';
import { spawnWorker, type WorkerProcess } from '../../control-plane/src/worker-process/spawn-worker.js';

describe('method versions between the control plane and a worker', () => {
  const home = mkdtempSync(join(tmpdir(), 'bslora-method-version-'));
  let worker: WorkerProcess;
  let lora: Trial;

  beforeAll(async () => {
    worker = await spawnWorker({ runDir: join(home, 'worker'), dryRun: true });
    lora = expandSweep(await loadSweepSpecFile('jobs/quickstart.yaml')).find((t) => t.method?.$case === 'lora')!;
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('the worker reports the method versions the planner puts into trial keys', async () => {
    const d = await worker.client.describe();
    expect(new Map(d.methodVersions.map((v) => [v.method, v.version]))).toEqual(
      new Map(METHODS.map((m) => [methodEnum(m), METHOD_VERSIONS[m]])),
    );
    expect(d.methodVersions.map((v) => v.method)).not.toContain(Method.METHOD_UNSPECIFIED);
  });

  it('a trial planned for the current version runs', async () => {
    const { result } = await worker.client.train(lora, { timeoutMs: 60_000 });
    expect(result.trialKey).toBe(lora.trialKey);
  });

  it('a trial planned for another version is refused by every call with FAILED_PRECONDITION naming both versions', async () => {
    const old = { ...lora, methodVersion: 'peft-lora/0' };
    const calls = [
      () => worker.client.train(old, { timeoutMs: 60_000 }),
      () => worker.client.evaluate(old, '', { timeoutMs: 60_000 }),
      () => worker.client.countParameters(old, { timeoutMs: 60_000 }),
    ];
    for (const call of calls) {
      const err = await call().then(
        () => null,
        (e: unknown) => e,
      );
      expect(isGrpcServiceError(err) && err.code).toBe(status.FAILED_PRECONDITION);
      expect((err as Error).message).toContain('peft-lora/0');
      expect((err as Error).message).toContain(METHOD_VERSIONS.lora);
      expect(isPermanentGrpcError(err)).toBe(true);
    }
  });

  it('the train job fails without retry, naming the trial and both versions', async () => {
    const job = {
      data: { sweepId: 'sw-x', plan: { ...lora, methodVersion: 'peft-lora/0' } },
      updateProgress: async () => {},
    };
    const err = await processTrain(
      job as unknown as Job<TrainJobData, TrainJobResult>,
      worker.client,
      {} as ArtifactStore,
    ).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect((err as Error).message).toMatch(
      new RegExp(`worker refused trial ${lora.name}: .*FAILED_PRECONDITION.*peft-lora/0.*${METHOD_VERSIONS.lora}`),
    );
  });
});
