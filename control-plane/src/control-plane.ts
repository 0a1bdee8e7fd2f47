/**
 * The control plane of one deployment: store, flow producer, result recorder and the live-progress feed.
 * `bslora up` and `bslora serve` run it; tests build it with a unique queue prefix and a temporary store.
 */
import { FlowProducer, Queue } from 'bullmq';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { ControlPlaneError } from './errors.js';
import { submitSweep, type SubmittedSweep } from './planner/submit-sweep.js';
import { hasPeftEntries, validatePeftEntries } from './planner/validate-peft-entries.js';
import { readWorkerHeartbeats } from './agent/worker-heartbeat.js';
import { WorkerClient } from './worker-process/worker-client.js';
import {
  EVAL_QUEUE,
  SWEEP_QUEUE,
  TRAIN_QUEUE,
  cancelledSweepKey,
  queueContextFromUrl,
  type QueueContext,
} from './queue/queues.js';
import { rungTrainJobId, trialJobId } from './queue/job-ids.js';
import { LiveProgress } from './recorder/live-progress.js';
import { reconcileSweeps, type ReconcileReport } from './recorder/reconcile-sweeps.js';
import { startResultRecorder, type ResultRecorder } from './recorder/result-recorder.js';
import { checkEvictionPolicy } from './redis/ensure-redis.js';
import { isUnfinished } from './store/statuses.js';
import { Store } from './store/store.js';
import { ArtifactStore } from './queue/artifacts.js';
import { openArtifactBackend } from './artifact-store/open-artifact-backend.js';
import type { SweepSpec } from './sweep-specs/index.js';
import { hashLocalRefs } from './sweep-specs/hash-local-refs.js';
import { cancelChannel } from './agent/trial-consumers.js';
import type { Redis } from 'ioredis';
import { closeConnection, newRedisClient, type RedisClient } from './redis/redis-connection.js';
import { startWebhookDispatcher, type WebhookDispatcher } from './webhooks/webhook-dispatcher.js';
import { refusedUrl, webhookPolicyFrom, type WebhookPolicy } from './webhooks/destination-policy.js';

export interface ControlPlaneOptions {
  redisUrl: string;
  /** Queue key prefix. @defaultValue 'bslora' */
  prefix?: string;
  /** Directory for the store (bslora.db) and artifacts/. */
  homeDir: string;
  /**
   * Where adapters travel between hosts: 'redis', 'file:///path' or 's3://bucket/prefix' (artifacts-setting.ts).
   * @defaultValue BSLORA_ARTIFACTS of `env`, else 'redis'
   */
  artifacts?: string;
  /** Where webhook secrets and the webhook destination policy are read. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
}

/** Unfinished (queued or running) sweeps one control plane takes at most (BSLORA_MAX_ACTIVE_SWEEPS overrides). */
export const DEFAULT_MAX_ACTIVE_SWEEPS = 1000;

export interface LiveEvent {
  sweepId: string;
  kind: string;
  payload: unknown;
}

export class ControlPlane {
  readonly store: Store;
  readonly ctx: QueueContext;
  readonly artifactsDir: string;
  /** Adapters by sha256; filled from the shared artifact backend as trials finish. */
  artifacts!: ArtifactStore;
  /** Emits 'event' with a LiveEvent for every trial progress, result and sweep end. */
  readonly live = new EventEmitter();
  /** Latest progress per trial key, for status views (versioned, so cached views know when it moved). */
  readonly progress = new LiveProgress();
  /** Sends each ended sweep's `notify` webhooks through their own queue. */
  webhooks?: WebhookDispatcher;
  private flows: FlowProducer;
  /** What the start-up reconciler repaired. */
  reconciled: ReconcileReport = { finished: [], requeued: [] };
  private recorder?: ResultRecorder;
  private queues: Queue[] = [];
  private publisher: RedisClient;
  /** Settings: webhook secrets and policy, BSLORA_MAX_ACTIVE_SWEEPS. */
  private readonly env: NodeJS.ProcessEnv;
  /** Where `notify` webhooks may go (BSLORA_WEBHOOK_ALLOW_HOSTS, BSLORA_WEBHOOK_ALLOW_NETWORKS). */
  readonly webhookPolicy: WebhookPolicy;

  private constructor(opts: ControlPlaneOptions) {
    // On a Redis Cluster the prefix becomes a hash tag (`{bslora}`): every key of the deployment shares one slot.
    this.ctx = queueContextFromUrl(opts.redisUrl, opts.prefix ?? 'bslora');
    this.store = new Store(join(opts.homeDir, 'bslora.db'));
    this.env = opts.env ?? process.env;
    this.webhookPolicy = webhookPolicyFrom(this.env);
    this.artifactsDir = join(opts.homeDir, 'artifacts');
    this.flows = new FlowProducer({ connection: this.ctx.connection, prefix: this.ctx.prefix });
    this.publisher = newRedisClient(this.ctx.connection, { maxRetriesPerRequest: 1 });
    // Connection errors while Redis restarts are retried by ioredis; they must not crash the process.
    this.publisher.on('error', () => {});
    this.flows.on('error', () => {});
    this.live.setMaxListeners(100);
  }

  static async start(opts: ControlPlaneOptions): Promise<ControlPlane> {
    await checkEvictionPolicy(opts.redisUrl);
    const cp = new ControlPlane(opts);
    const env = opts.env ?? process.env;
    try {
      // A Cluster has the same commands as a Redis; the mirror uses SET and GET of one key.
      const mirror = { redis: cp.publisher as Redis, prefix: cp.ctx.prefix };
      const backend = await openArtifactBackend(opts.artifacts ?? env.BSLORA_ARTIFACTS, mirror, env);
      cp.artifacts = new ArtifactStore(cp.artifactsDir, backend);
    } catch (err) {
      await cp.close();
      throw err;
    }
    cp.webhooks = await startWebhookDispatcher(cp.ctx, cp.store, {
      env: opts.env ?? process.env,
      policy: cp.webhookPolicy,
    });
    cp.recorder = await startResultRecorder(cp.ctx, cp.store, {
      onSweepEnded: (id) => cp.webhooks!.sweepEnded(id).then(() => undefined),
      onChange: (sweepId, kind, payload) => {
        if (kind === 'trial-finished') void cp.collectAdapter((payload as { trialKey: string }).trialKey);
        if (kind === 'trial-progress') {
          const p = payload as { trialKey: string; progress: unknown };
          cp.progress.set(p.trialKey, p.progress);
        }
        cp.live.emit('event', { sweepId, kind, payload } satisfies LiveEvent);
      },
    });
    cp.queues = [TRAIN_QUEUE, EVAL_QUEUE, SWEEP_QUEUE].map(
      (name) => new Queue(name, { connection: cp.ctx.connection, prefix: cp.ctx.prefix }),
    );
    for (const q of cp.queues) q.on('error', () => {});
    cp.reconciled = await reconcileSweeps(cp.store, cp.ctx, cp.flows);
    for (const id of cp.reconciled.finished) await cp.webhooks.sweepEnded(id);
    return cp;
  }

  /** Copies a finished trial's adapter into this control plane's artifacts/ (from the shared backend if needed). */
  private async collectAdapter(trialKey: string): Promise<void> {
    const sha = this.store.adapterSha256Of(trialKey);
    if (sha) await this.artifacts.fetch(sha).catch(() => undefined);
  }

  /**
   * Hashes the spec's local files (streamed), validates its PEFT entries, then expands and queues it
   * (planner/submit-sweep.ts).
   */
  async submit(spec: SweepSpec): Promise<SubmittedSweep> {
    const refused = (spec.notify ?? []).flatMap((n, i) => {
      const why = refusedUrl(n.url, this.webhookPolicy);
      return why ? [{ path: `notify[${i}].url`, message: `${JSON.stringify(n.url)} ${why}` }] : [];
    });
    if (refused.length > 0) {
      throw new ControlPlaneError(
        'CP_ERR_SPEC_INVALID',
        `sweep spec ${spec.name} is invalid:\n${refused.map((r) => `  ${r.path}: ${r.message}`).join('\n')}`,
        {
          issues: refused,
        },
      );
    }
    const env = this.env;
    const maxActive =
      Number(env.BSLORA_MAX_ACTIVE_SWEEPS) > 0 ? Number(env.BSLORA_MAX_ACTIVE_SWEEPS) : DEFAULT_MAX_ACTIVE_SWEEPS;
    const active = this.store.unfinishedSweepCount();
    if (active >= maxActive) {
      throw new ControlPlaneError(
        'CP_ERR_TOO_MANY_SWEEPS',
        `this control plane already holds ${active} unfinished sweeps, its limit (BSLORA_MAX_ACTIVE_SWEEPS); wait for some to end or cancel some`,
      );
    }
    await hashLocalRefs(spec);
    const peft = hasPeftEntries(spec) ? await this.validatePeft(spec) : undefined;
    return submitSweep(spec, { store: this.store, flows: this.flows, ctx: this.ctx }, { peft });
  }

  /** Validates the spec's `grid.peft` entries with a serving worker's PEFT (see validate-peft-entries.ts). */
  private async validatePeft(spec: SweepSpec) {
    const worker = (await readWorkerHeartbeats(this.publisher, this.ctx.prefix)).find((w) => w.status === 'serving');
    if (!worker) {
      throw new ControlPlaneError(
        'CP_ERR_NO_VALIDATING_WORKER',
        `sweep spec ${spec.name} has grid.peft entries, which a worker's PEFT validates at submit, but no worker is serving: start an agent (bslora agent, or bslora up) and submit again`,
      );
    }
    const client = new WorkerClient(worker.address);
    try {
      return await validatePeftEntries(spec, (trial) => client.validateAdapter(trial));
    } catch (err) {
      if (err instanceof ControlPlaneError) throw err;
      throw new ControlPlaneError(
        'CP_ERR_WORKER_UNREACHABLE',
        `worker ${worker.id} at ${worker.address} did not validate grid.peft: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    } finally {
      client.close();
    }
  }

  /** Removes the sweep's waiting jobs, aborts its running calls on every agent, and marks it cancelled. */
  async cancel(sweepId: string): Promise<void> {
    const sweep = this.store.getSweep(sweepId);
    if (!sweep) throw new ControlPlaneError('CP_ERR_SWEEP_NOT_FOUND', `no sweep has id '${sweepId}'`);
    if (!isUnfinished(sweep.status)) return;
    // 1. The store first: from here on every event about this sweep is too late to change it.
    this.store.setSweepStatus(sweepId, 'cancelled');
    const rows = this.store.trialsOfSweep(sweepId);
    for (const row of rows) {
      if (row.status !== 'completed' && row.status !== 'stopped')
        this.store.setTrialStatus(row.trialKey, 'cancelled', `sweep ${sweepId} cancelled`);
    }
    // 2. Every consumer refuses the sweep's jobs from now on, and aborts the one it runs (any host).
    await this.publisher.set(cancelledSweepKey(this.ctx.prefix, sweepId), '1', 'EX', 7 * 24 * 3600);
    await this.publisher.publish(cancelChannel(this.ctx.prefix), sweepId);
    // 3. Waiting jobs are removed; active ones end through the abort above (removal of a locked job is refused).
    const [trainQ, evalQ] = this.queues;
    for (const row of rows) {
      for (const [q, kind] of [
        [trainQ, TRAIN_QUEUE],
        [evalQ, EVAL_QUEUE],
      ] as const) {
        const job = await q.getJob(trialJobId(sweepId, kind, row.trialKey));
        if (job && !(await job.isActive())) await job.remove().catch(() => {});
      }
    }
    // A search's rung trainings too (their rung's parent job then finds the sweep cancelled and stops the search).
    const search = this.store.searchOf(sweepId)?.plan as { rungSteps: number[] } | undefined;
    for (let rung = 0; rung < (search?.rungSteps.length ?? 0); rung++) {
      for (const row of rows) {
        const job = await trainQ.getJob(rungTrainJobId(sweepId, rung, row.trialKey));
        if (job && !(await job.isActive())) await job.remove().catch(() => {});
      }
    }
    this.store.addEvent(sweepId, null, 'sweep-cancelled', {});
    this.live.emit('event', { sweepId, kind: 'sweep-finished', payload: { status: 'cancelled' } } satisfies LiveEvent);
    await this.webhooks?.sweepEnded(sweepId);
  }

  async queueCounts(): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    for (const q of this.queues)
      out[q.name] = await q.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'waiting-children');
    return out;
  }

  async close(): Promise<void> {
    await this.recorder?.close();
    await this.webhooks?.close();
    await Promise.all([this.flows.close(), ...this.queues.map((q) => q.close())]);
    this.publisher.disconnect();
    await this.artifacts?.close();
    closeConnection(this.ctx.connection);
    this.store.close();
  }
}
