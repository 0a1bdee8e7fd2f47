/**
 * The live events of each sweep as deltas, numbered, with a bounded log per sweep, for GET /api/v1/sweeps/:id/events.
 *
 * The control plane's live feed (`cp.live`) says only which trial moved; a watcher would have to download the sweep
 * again to see how. This turns each into what changed: `trial-running` (the status), `trial-progress` (the step),
 * `trial-finished` (the trial's table row, built from the store at that moment) and `sweep-finished` (the final
 * status and summary). Every event gets an id `<epoch>-<n>`: n grows by one per event across all sweeps, and the
 * epoch is drawn when the log starts, so an id from an earlier server process is recognised as foreign.
 *
 * What a client that reconnects needs is kept: the state changes (running, finished, sweep finished) of each sweep,
 * up to `maxPerSweep` of them for each of the `maxSweeps` sweeps that changed last. Progress is not kept (it is
 * superseded by the next report; a connection's `snapshot` carries the latest progress of each running trial), and
 * is sent at most every `progressEveryMs` per trial, the latest report winning. `since(id)` answers the events after
 * an id, or null when some are no longer kept (or the id is foreign): the client then needs a fresh copy.
 */
import { randomBytes } from 'node:crypto';
import type { ControlPlane, LiveEvent } from '../control-plane.js';
import type { LIVE_EVENT_NAMES } from '../dashboard/static/live-events.js';
import { finishedTrialRow, summaryTotals } from './sweep-views.js';

export type LiveEventName = (typeof LIVE_EVENT_NAMES)[number];

export interface SweepEvent {
  id: string;
  seq: number;
  name: LiveEventName;
  data: unknown;
}

interface SweepLog {
  /** State-changing events, oldest first. */
  kept: SweepEvent[];
  /** seq of the newest event dropped from `kept` (0: none). */
  droppedUpTo: number;
  /** Trials whose `trial-running` was sent (train and eval jobs both report it; the second changes nothing). */
  running: Set<string>;
  /** Progress waiting for its trial's next slot. */
  pendingProgress: Map<string, { data: unknown; timer: NodeJS.Timeout }>;
  lastProgressAt: Map<string, number>;
}

export interface SweepEventLogOptions {
  maxPerSweep?: number;
  maxSweeps?: number;
  progressEveryMs?: number;
}

export class SweepEventLog {
  readonly epoch = randomBytes(4).toString('hex');
  private seq = 0;
  private readonly logs = new Map<string, SweepLog>();
  private readonly listeners = new Map<string, Set<(e: SweepEvent) => void>>();
  private readonly maxPerSweep: number;
  private readonly maxSweeps: number;
  private readonly progressEveryMs: number;
  private readonly onLive = (e: LiveEvent) => this.record(e);

  constructor(
    private readonly cp: ControlPlane,
    opts: SweepEventLogOptions = {},
  ) {
    this.maxPerSweep = opts.maxPerSweep ?? 50_000;
    this.maxSweeps = opts.maxSweeps ?? 8;
    this.progressEveryMs = opts.progressEveryMs ?? 500;
    cp.live.on('event', this.onLive);
  }

  close(): void {
    this.cp.live.off('event', this.onLive);
    for (const log of this.logs.values()) for (const p of log.pendingProgress.values()) clearTimeout(p.timer);
    this.logs.clear();
  }

  /** The id of the newest event so far: a client that has seen everything up to now resumes after it. */
  lastId(): string {
    return `${this.epoch}-${this.seq}`;
  }

  /** The sweep's kept events after `id`, or null when the log cannot tell (foreign id, or events dropped since). */
  since(sweepId: string, id: string): SweepEvent[] | null {
    const m = /^([0-9a-f]+)-(\d+)$/.exec(id);
    if (!m || m[1] !== this.epoch) return null;
    const after = Number(m[2]);
    if (after > this.seq) return null;
    const log = this.logs.get(sweepId);
    if (!log) return [];
    if (log.droppedUpTo > after) return null;
    return log.kept.filter((e) => e.seq > after);
  }

  /** Calls `fn` with each new event of the sweep until the returned function is called. */
  subscribe(sweepId: string, fn: (e: SweepEvent) => void): () => void {
    let set = this.listeners.get(sweepId);
    if (!set) this.listeners.set(sweepId, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.listeners.get(sweepId) === set) this.listeners.delete(sweepId);
    };
  }

  /** How many clients follow some sweep now. */
  subscriberCount(): number {
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }

  private logOf(sweepId: string): SweepLog {
    let log = this.logs.get(sweepId);
    if (log) {
      this.logs.delete(sweepId); // most recently changed last
    } else {
      log = { kept: [], droppedUpTo: 0, running: new Set(), pendingProgress: new Map(), lastProgressAt: new Map() };
    }
    this.logs.set(sweepId, log);
    if (this.logs.size > this.maxSweeps) {
      const [oldest, old] = this.logs.entries().next().value!;
      for (const p of old.pendingProgress.values()) clearTimeout(p.timer);
      this.logs.delete(oldest);
    }
    return log;
  }

  private emit(sweepId: string, name: LiveEventName, data: unknown, keep: boolean): void {
    const seq = ++this.seq;
    const event: SweepEvent = { id: `${this.epoch}-${seq}`, seq, name, data };
    if (keep) {
      const log = this.logOf(sweepId);
      log.kept.push(event);
      if (log.kept.length > this.maxPerSweep)
        log.droppedUpTo = log.kept.splice(0, log.kept.length - this.maxPerSweep).at(-1)!.seq;
    }
    for (const fn of this.listeners.get(sweepId) ?? []) fn(event);
  }

  private record(e: LiveEvent): void {
    const { sweepId } = e;
    const payload = (e.payload ?? {}) as { trialKey?: string; progress?: unknown; status?: string };
    switch (e.kind) {
      case 'trial-running': {
        const log = this.logOf(sweepId);
        if (!payload.trialKey || log.running.has(payload.trialKey)) return;
        log.running.add(payload.trialKey);
        this.emit(sweepId, 'trial-running', { trialKey: payload.trialKey, status: 'running' }, true);
        return;
      }
      case 'trial-progress': {
        if (payload.trialKey)
          this.progress(sweepId, payload.trialKey, { trialKey: payload.trialKey, progress: payload.progress ?? null });
        return;
      }
      case 'trial-finished': {
        const key = payload.trialKey;
        if (!key) return;
        const log = this.logOf(sweepId);
        log.running.delete(key);
        const pending = log.pendingProgress.get(key);
        if (pending) clearTimeout(pending.timer);
        log.pendingProgress.delete(key);
        log.lastProgressAt.delete(key);
        const row = this.cp.store.trialOfSweep(sweepId, key);
        if (row)
          this.emit(
            sweepId,
            'trial-finished',
            { trialKey: key, status: row.status, row: finishedTrialRow(row) },
            true,
          );
        return;
      }
      case 'sweep-finished': {
        const sweep = this.cp.store.getSweep(sweepId);
        // The summary without its per-trial rows: the client has those already.
        const data = {
          status: sweep?.status ?? payload.status ?? null,
          finishedAt: sweep?.finishedAt ?? null,
          summary: summaryTotals(sweep?.summary ?? null),
        };
        this.emit(sweepId, 'sweep-finished', data, true);
        return;
      }
      default:
        return;
    }
  }

  /** Sends a trial's progress now, or at its next slot (the latest report by then). */
  private progress(sweepId: string, trialKey: string, data: unknown): void {
    const log = this.logOf(sweepId);
    const pending = log.pendingProgress.get(trialKey);
    if (pending) {
      pending.data = data;
      return;
    }
    const wait = (log.lastProgressAt.get(trialKey) ?? -Infinity) + this.progressEveryMs - Date.now();
    const send = (d: unknown) => {
      log.lastProgressAt.set(trialKey, Date.now());
      this.emit(sweepId, 'trial-progress', d, false);
    };
    if (wait <= 0) return send(data);
    const entry = {
      data,
      timer: setTimeout(() => {
        log.pendingProgress.delete(trialKey);
        send(entry.data);
      }, wait),
    };
    entry.timer.unref?.();
    log.pendingProgress.set(trialKey, entry);
  }
}
