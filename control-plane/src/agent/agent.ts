/**
 * An agent: spawns one worker per device, runs that worker's consumers, restarts a worker that dies (with
 * backoff), and stops everything it started on close. Remote workers named by address are driven the same way,
 * minus spawning.
 */
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { openArtifactBackend } from '../artifact-store/open-artifact-backend.js';
import { newRedisClient, type RedisClient } from '../redis/redis-connection.js';
import { ArtifactStore } from '../queue/artifacts.js';
import type { QueueContext } from '../queue/queues.js';
import { spawnWorker, type WorkerProcess } from '../worker-process/spawn-worker.js';
import { WorkerClient } from '../worker-process/worker-client.js';
import { startTrialConsumers, type TrialConsumers } from './trial-consumers.js';
import { startWorkerHeartbeat, type WorkerHeartbeatHandle } from './worker-heartbeat.js';

export interface AgentOptions {
  ctx: QueueContext;
  homeDir: string;
  /**
   * Where adapters are stored by sha256 (shared with the control plane on one host). @defaultValue homeDir/artifacts
   */
  artifactsDir?: string;
  /**
   * Where adapters travel between hosts: 'redis', 'file:///path' or 's3://bucket/prefix' (artifacts-setting.ts).
   * @defaultValue BSLORA_ARTIFACTS, else 'redis'
   */
  artifacts?: string;
  /** Devices to spawn a worker for. @defaultValue ['cpu'] */
  devices?: string[];
  /** Addresses of already-running workers to drive instead of (or besides) spawned ones. */
  remoteWorkers?: string[];
  /**
   * Folders the spawned workers read local models and data from (data-roots.ts). @defaultValue none: builtin and hub
   * references only
   */
  allowedRoots?: readonly string[];
  /** Spawn dry-run workers (benchmarks). @defaultValue false */
  dryRun?: boolean;
  log?: (line: string) => void;
}

interface Slot {
  device: string;
  worker?: WorkerProcess;
  client: WorkerClient;
  consumers: TrialConsumers;
}

export class Agent {
  private slots: Slot[] = [];
  private closing = false;
  private mirrorRedis?: RedisClient;
  private artifacts?: ArtifactStore;
  private heartbeat?: WorkerHeartbeatHandle;

  private constructor(private readonly opts: AgentOptions) {}

  static async start(opts: AgentOptions): Promise<Agent> {
    const agent = new Agent(opts);
    agent.mirrorRedis = newRedisClient(opts.ctx.connection, { maxRetriesPerRequest: null });
    agent.mirrorRedis.on('error', (e) => opts.log?.(`artifact mirror: ${e.message}`));
    try {
      // A Cluster has the same commands as a Redis; the mirror uses SET and GET of one key.
      const mirror = { redis: agent.mirrorRedis as Redis, prefix: opts.ctx.prefix };
      const backend = await openArtifactBackend(opts.artifacts ?? process.env.BSLORA_ARTIFACTS, mirror);
      const artifacts = new ArtifactStore(opts.artifactsDir ?? join(opts.homeDir, 'artifacts'), backend);
      agent.artifacts = artifacts;
      for (const [i, device] of (opts.devices ?? ['cpu']).entries()) {
        agent.slots.push(await agent.startSlot(device, i, artifacts));
      }
      for (const address of opts.remoteWorkers ?? []) {
        const client = new WorkerClient(address);
        await client.waitForServing();
        const consumers = await startTrialConsumers(opts.ctx, client, artifacts, {
          onError: (e) => opts.log?.(`consumer: ${e.message}`),
        });
        agent.slots.push({ device: address, client, consumers });
      }
    } catch (err) {
      await agent.close();
      throw err;
    }
    agent.heartbeat = startWorkerHeartbeat(opts.ctx, () => agent.workers, {
      onError: (e) => opts.log?.(`heartbeat: ${e.message}`),
    });
    return agent;
  }

  /** gRPC clients of the current workers (one per slot). */
  get clients(): WorkerClient[] {
    return this.slots.map((s) => s.client);
  }

  get workers(): { device: string; address: string; pid: number | null }[] {
    return this.slots.map((s) => ({ device: s.device, address: s.client.address, pid: s.worker?.pid ?? null }));
  }

  private async startSlot(device: string, index: number, artifacts: ArtifactStore): Promise<Slot> {
    // Everything after `cuda:` is the device as CUDA_VISIBLE_DEVICES names it: an index or a GPU/MIG UUID
    // (discover-devices.ts), so the worker sees exactly that one device as its cuda:0.
    const env: Record<string, string> = device.startsWith('cuda')
      ? { CUDA_VISIBLE_DEVICES: device.slice('cuda:'.length) || '0' }
      : {};
    const worker = await spawnWorker({
      runDir: join(this.opts.homeDir, `worker-${index}`),
      device: device.startsWith('cuda') ? 'cuda:0' : device,
      env,
      dryRun: this.opts.dryRun,
      allowedRoots: this.opts.allowedRoots,
      onLog: (line) => this.opts.log?.(`worker-${index}: ${line}`),
    });
    const consumers = await startTrialConsumers(this.opts.ctx, worker.client, artifacts, {
      onError: (e) => this.opts.log?.(`consumer-${index}: ${e.message}`),
    });
    const slot: Slot = { device, worker, client: worker.client, consumers };
    void this.superviseSlot(slot, index, artifacts, 0);
    return slot;
  }

  /** Restarts a worker that exits on its own, with exponential backoff (1 s, 2 s, … capped at 30 s). */
  private async superviseSlot(slot: Slot, index: number, artifacts: ArtifactStore, restarts: number): Promise<void> {
    await slot.worker!.exited;
    if (this.closing) return;
    this.opts.log?.(`worker-${index} exited; restarting`);
    await slot.consumers.close();
    await new Promise((r) => setTimeout(r, Math.min(30_000, 1_000 * 2 ** restarts)));
    if (this.closing) return;
    try {
      const fresh = await this.startSlot(slot.device, index, artifacts);
      this.slots[this.slots.indexOf(slot)] = fresh;
    } catch (err) {
      this.opts.log?.(`worker-${index} failed to restart: ${(err as Error).message}`);
      void this.superviseSlot(slot, index, artifacts, restarts + 1);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.heartbeat?.stop();
    for (const s of this.slots) await s.consumers.close();
    await Promise.all(
      this.slots.map(async (s) => {
        if (s.worker) await s.worker.stop();
        else s.client.close();
      }),
    );
    this.slots = [];
    await this.artifacts?.close();
    this.mirrorRedis?.disconnect();
  }
}
