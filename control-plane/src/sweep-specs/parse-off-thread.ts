/**
 * `parseSweepSpec` on a thread of its own, for the server: parsing YAML, validating and counting a spec cost time
 * in proportion to its size, and none of that may hold the event loop that answers `/healthz` and every other
 * request. One long-lived thread checks specs one after the
 * other; a spec that takes longer than the timeout, or more memory than the thread may use, is refused and the
 * thread replaced.
 */
import { Worker } from 'node:worker_threads';

import { ControlPlaneError, type ErrorCode, type SpecIssue } from '../errors.js';
import type { ParseSweepSpecOptions } from './parse-sweep-spec.js';
import type { SweepSpec } from './sweep-spec.js';

const ENTRY = new URL('./parse-thread.mjs', import.meta.url);
/** Memory the checking thread may use; a spec needing more is refused. */
const THREAD_HEAP_MB = 512;

/** How long one spec may take to check (BSLORA_SPEC_CHECK_TIMEOUT_MS overrides). */
export function specCheckTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.BSLORA_SPEC_CHECK_TIMEOUT_MS);
  return Number.isInteger(n) && n > 0 ? n : 20_000;
}

interface Pending {
  resolve(spec: SweepSpec): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  sourceName: string;
}

type Reply =
  | { id: number; ok: true; spec: SweepSpec }
  | { id: number; ok: false; error: { code: ErrorCode; message: string; issues: SpecIssue[] } }
  | { ready: true };

class SpecThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  dead = false;
  /** Settles once the thread has loaded its modules (or has failed to). */
  readonly ready: Promise<void>;
  private markReady!: () => void;

  constructor() {
    this.ready = new Promise<void>((resolve) => (this.markReady = resolve));
    this.worker = new Worker(ENTRY, { resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB } });
    this.worker.on('message', (msg: Reply) => {
      if ('ready' in msg) return this.markReady();
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.settle(msg.id);
      if (msg.ok) p.resolve(msg.spec);
      else p.reject(new ControlPlaneError(msg.error.code, msg.error.message, { issues: msg.error.issues }));
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', () => this.fail(new Error('the spec-checking thread exited')));
    // The idle thread never keeps the process alive (after the listeners: adding a 'message' listener refs it again).
    this.worker.unref();
  }

  private settle(id: number): void {
    const p = this.pending.get(id);
    if (p) clearTimeout(p.timer);
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  private fail(err: Error): void {
    this.dead = true;
    this.markReady();
    const outOfMemory = (err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
    for (const [id, p] of [...this.pending]) {
      this.settle(id);
      p.reject(
        outOfMemory
          ? new ControlPlaneError(
              'CP_ERR_SPEC_TOO_COSTLY',
              `${p.sourceName} needs more than ${THREAD_HEAP_MB} MB to check; send a smaller spec`,
            )
          : new ControlPlaneError(
              'CP_ERR_SPEC_TOO_COSTLY',
              `checking ${p.sourceName} was stopped (${err.message}), most likely behind a costlier spec that was refused; send it again`,
            ),
      );
    }
  }

  parse(text: string, opts: ParseSweepSpecOptions, timeoutMs: number): Promise<SweepSpec> {
    const id = this.nextId++;
    const sourceName = opts.sourceName ?? 'sweep spec';
    return new Promise<SweepSpec>((resolve, reject) => {
      const timer = setTimeout(() => {
        // The thread is stuck on this spec: replace it, and refuse the spec (and any queued behind it: retry them).
        this.pending
          .get(id)
          ?.reject(
            new ControlPlaneError(
              'CP_ERR_SPEC_TOO_COSTLY',
              `${sourceName} took longer than ${timeoutMs} ms to check; send a smaller spec`,
            ),
          );
        this.settle(id);
        this.dead = true;
        void this.worker.terminate();
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, sourceName });
      this.worker.ref();
      this.worker.postMessage({ id, text, opts: { ...opts, roots: opts.roots ? [...opts.roots] : undefined } });
    });
  }

  close(): Promise<number> {
    this.dead = true;
    return this.worker.terminate();
  }
}

let thread: SpecThread | null = null;

/**
 * Parses and validates a spec as `parseSweepSpec` does, on the checking thread.
 *
 * @throws ControlPlaneError `CP_ERR_SPEC_INVALID` as parseSweepSpec; `CP_ERR_SPEC_TOO_COSTLY` when checking takes
 *   longer than {@link specCheckTimeoutMs} or more memory than the thread has.
 */
export function parseSweepSpecOffThread(
  text: string,
  opts: ParseSweepSpecOptions = {},
  timeoutMs = specCheckTimeoutMs(),
): Promise<SweepSpec> {
  if (!thread || thread.dead) thread = new SpecThread();
  return thread.parse(text, opts, timeoutMs);
}

/**
 * Starts the checking thread now, and resolves once it has loaded (a server waits for it before it listens, so that
 * its first submission does not pay for the start).
 */
export function warmSpecThread(): Promise<void> {
  if (!thread || thread.dead) thread = new SpecThread();
  return thread.ready;
}

/** Stops the checking thread (it is started again on the next parse). */
export async function stopSpecThread(): Promise<void> {
  const t = thread;
  thread = null;
  await t?.close();
}
