/**
 * A typed client for one worker's `WorkerService` and health service, over a real gRPC channel.
 *
 * @example
 * const client = new WorkerClient('127.0.0.1:50123');
 * await client.waitForServing();
 * const { result, adapter } = await client.train(spec, { onProgress: (p) => console.log(p.step, p.loss) });
 */
import { createHash } from 'node:crypto';
import { credentials, Metadata, type ClientReadableStream } from '@grpc/grpc-js';
import {
  WorkerServiceClient,
  type CountParametersResponse,
  type DescribeResponse,
  type EvaluateEvent,
  type EvaluateProgress,
  type EvaluateResult,
  type ParameterCounts,
  type TrainEvent,
  type TrainProgress,
  type TrainResult,
  type Trial,
} from '../gen/bslora_api/worker/v1/worker_service.js';
import { HealthClient, HealthCheckResponse_ServingStatus } from '../gen/grpc/health/v1/health.js';
import { clientChannelOptions } from '../grpc/channel-settings.js';

export interface CallOptions {
  /** Abort to cancel the call; the worker stops at its next optimizer step. */
  signal?: AbortSignal;
  /** Deadline in milliseconds from now. @defaultValue no deadline for Train/Evaluate, 10 s for unary calls */
  timeoutMs?: number;
}

export interface TrainOutput {
  result: TrainResult;
  /** The adapter archive (empty for method `base`), verified against `result.adapterSha256`. */
  adapter: Buffer;
}

function deadline(ms: number | undefined): Date | undefined {
  return ms === undefined ? undefined : new Date(Date.now() + ms);
}

export class WorkerClient {
  readonly address: string;
  private readonly client: WorkerServiceClient;
  private readonly health: HealthClient;

  constructor(address: string) {
    this.address = address;
    const opts = clientChannelOptions();
    this.client = new WorkerServiceClient(address, credentials.createInsecure(), opts);
    this.health = new HealthClient(address, credentials.createInsecure(), opts);
  }

  close(): void {
    this.client.close();
    this.health.close();
  }

  /** Resolves once health reports SERVING; rejects after `timeoutMs`. */
  async waitForServing(timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < until) {
      try {
        const status = await new Promise<number>((resolve, reject) =>
          this.health.check({ service: '' }, new Metadata(), { deadline: deadline(2_000) }, (err, res) =>
            err ? reject(err) : resolve(res.status),
          ),
        );
        if (status === HealthCheckResponse_ServingStatus.SERVING) return;
      } catch (err) {
        lastError = err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`worker at ${this.address} did not report SERVING within ${timeoutMs} ms`, { cause: lastError });
  }

  describe(opts: CallOptions = {}): Promise<DescribeResponse> {
    return new Promise((resolve, reject) =>
      this.client.describe({}, new Metadata(), { deadline: deadline(opts.timeoutMs ?? 10_000) }, (err, res) =>
        err ? reject(err) : resolve(res),
      ),
    );
  }

  countParameters(trial: Trial, opts: CallOptions = {}): Promise<ParameterCounts> {
    return new Promise((resolve, reject) =>
      this.client.countParameters(
        { trial },
        new Metadata(),
        { deadline: deadline(opts.timeoutMs ?? 60_000) },
        (err, res) => (err ? reject(err) : resolve(res.counts!)),
      ),
    );
  }

  /**
   * Counts a trial's parameters and, for a `peft` trial, validates its config with the worker's PEFT: the response
   * holds the canonical config and PEFT's version (an invalid config rejects with INVALID_ARGUMENT).
   */
  validateAdapter(trial: Trial, opts: CallOptions = {}): Promise<CountParametersResponse> {
    return new Promise((resolve, reject) =>
      this.client.countParameters(
        { trial },
        new Metadata(),
        { deadline: deadline(opts.timeoutMs ?? 60_000) },
        (err, res) => (err ? reject(err) : resolve(res)),
      ),
    );
  }

  /** Trains one trial, reporting progress; resolves with the result and the reassembled adapter. */
  train(trial: Trial, opts: CallOptions & { onProgress?: (p: TrainProgress) => void } = {}): Promise<TrainOutput> {
    const call = this.client.train({ trial }, new Metadata(), { deadline: deadline(opts.timeoutMs) });
    const chunks: Buffer[] = [];
    let received = 0;
    return consumeStream<TrainEvent, TrainOutput>(call, opts.signal, (event, finish) => {
      const e = event.event;
      if (e?.$case === 'progress') opts.onProgress?.(e.value);
      if (e?.$case === 'adapterChunk') {
        if (e.value.offset !== received) {
          throw new Error(`adapter chunk at offset ${e.value.offset}, expected ${received}`);
        }
        chunks.push(Buffer.from(e.value.data));
        received += e.value.data.length;
      }
      if (e?.$case === 'result') {
        const adapter = Buffer.concat(chunks);
        const sha = adapter.length ? createHash('sha256').update(adapter).digest('hex') : '';
        if (sha !== e.value.adapterSha256) {
          throw new Error(`adapter arrived corrupted: sha256 ${sha} != ${e.value.adapterSha256}`);
        }
        finish({ result: e.value, adapter });
      }
    });
  }

  /** Evaluates a trial's adapter (held by the worker under its sha256). */
  evaluate(
    trial: Trial,
    adapterSha256: string,
    opts: CallOptions & { onProgress?: (p: EvaluateProgress) => void } = {},
  ): Promise<EvaluateResult> {
    const call = this.client.evaluate({ trial, adapterSha256 }, new Metadata(), {
      deadline: deadline(opts.timeoutMs),
    });
    return consumeStream<EvaluateEvent, EvaluateResult>(call, opts.signal, (event, finish) => {
      const e = event.event;
      if (e?.$case === 'progress') opts.onProgress?.(e.value);
      if (e?.$case === 'result') finish(e.value);
    });
  }

  /** Sends an adapter archive the worker does not hold yet, in chunks of the shared size. */
  uploadAdapter(adapter: Buffer, chunkBytes: number, opts: CallOptions = {}): Promise<string> {
    const sha = createHash('sha256').update(adapter).digest('hex');
    return new Promise((resolve, reject) => {
      const call = this.client.uploadAdapter(
        new Metadata(),
        { deadline: deadline(opts.timeoutMs ?? 120_000) },
        (err, res) =>
          err
            ? reject(err)
            : res.sha256 === sha
              ? resolve(sha)
              : reject(new Error(`upload arrived as ${res.sha256}, sent ${sha}`)),
      );
      for (let offset = 0; offset < adapter.length; offset += chunkBytes) {
        call.write({
          sha256: sha,
          offset,
          data: adapter.subarray(offset, offset + chunkBytes),
          totalSize: adapter.length,
        });
      }
      call.end();
    });
  }
}

/** Reads a server stream until `finish` is called; the stream's error, abort or an early end rejects. */
function consumeStream<E, R>(
  call: ClientReadableStream<E>,
  signal: AbortSignal | undefined,
  onEvent: (event: E, finish: (r: R) => void) => void,
): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    let done = false;
    let value: R | undefined;
    const onAbort = () => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) call.cancel();
    const settle = (fn: () => void) => {
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    call.on('data', (event: E) => {
      try {
        onEvent(event, (r) => {
          done = true;
          value = r;
        });
      } catch (err) {
        call.cancel();
        settle(() => reject(err));
      }
    });
    call.on('error', (err) => settle(() => reject(err)));
    call.on('end', () =>
      settle(() => (done ? resolve(value as R) : reject(new Error('worker stream ended without a result')))),
    );
  });
}
