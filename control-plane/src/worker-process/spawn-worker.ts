/**
 * Spawns one Python worker with execa, waits for its JSON ready line and for health SERVING, and stops it (and
 * anything it started) on request.
 *
 * @example
 * const worker = await spawnWorker({ runDir: '.bslora/worker-0' });
 * // ... worker.client.train(...)
 * await worker.stop();
 */
import { execa, type ResultPromise } from 'execa';
import { createInterface } from 'node:readline';
import { ControlPlaneError } from '../errors.js';
import { REPO_ROOT, workerPython } from './python-path.js';
import { WorkerClient } from './worker-client.js';

export interface SpawnWorkerOptions {
  /** Directory for checkpoints and held adapters. */
  runDir: string;
  /** torch device. @defaultValue 'cpu' */
  device?: string;
  /** Address to bind. @defaultValue '127.0.0.1:0' (a free port) */
  listen?: string;
  /** Extra environment (CUDA_VISIBLE_DEVICES, say). */
  env?: Record<string, string>;
  /** How long to wait for ready + SERVING. @defaultValue 120000 */
  startTimeoutMs?: number;
  /** Answer Train/Evaluate at once without a model (control-plane benchmarks). @defaultValue false */
  dryRun?: boolean;
  /**
   * Folders local models and data must lie under (`--allowed-root`, symlinks resolved by the worker). Empty or
   * unset: the worker accepts no local path, only builtin and hub references.
   */
  allowedRoots?: readonly string[];
  /** Called with each stderr line of the worker. */
  onLog?: (line: string) => void;
}

export interface WorkerProcess {
  address: string;
  pid: number;
  client: WorkerClient;
  /** Resolves when the process exits, with its exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export async function spawnWorker(options: SpawnWorkerOptions): Promise<WorkerProcess> {
  const args = [
    '-m',
    'bslora_worker',
    'serve',
    '--listen',
    options.listen ?? '127.0.0.1:0',
    '--run-dir',
    options.runDir,
  ];
  args.push('--device', options.device ?? 'cpu');
  if (options.dryRun) args.push('--dry-run');
  for (const root of options.allowedRoots ?? []) args.push('--allowed-root', root);
  const child: ResultPromise = execa(workerPython(), args, {
    cwd: REPO_ROOT,
    // BSLORA_ALLOWED_ROOTS from this process's environment would widen the roots given here: it is cleared.
    env: { PYTHONUNBUFFERED: '1', TOKENIZERS_PARALLELISM: 'false', BSLORA_ALLOWED_ROOTS: '', ...options.env },
    stdin: 'ignore',
    buffer: false,
    reject: false,
    // Kill the whole process tree on stop: PyTorch may start helpers of its own.
    cleanup: true,
    forceKillAfterDelay: 5_000,
  });
  const exited = child.then((r) => r.exitCode ?? null);
  const stderrTail: string[] = [];
  if (child.stderr) {
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderrTail.push(line);
      if (stderrTail.length > 40) stderrTail.shift();
      options.onLog?.(line);
    });
  }

  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new ControlPlaneError(
            'CP_ERR_WORKER_START',
            `worker printed no ready line within ${options.startTimeoutMs ?? 120_000} ms`,
          ),
        ),
      options.startTimeoutMs ?? 120_000,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { event?: string; address?: string };
        if (msg.event === 'ready' && msg.address) {
          clearTimeout(timer);
          resolve(msg.address);
        }
      } catch {
        // not a ready line: ordinary output
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(
        new ControlPlaneError(
          'CP_ERR_WORKER_START',
          `worker exited (code ${code}) before it was ready; last stderr:\n${stderrTail.join('\n')}`,
        ),
      );
    });
  });

  const client = new WorkerClient(address);
  const stop = async () => {
    client.close();
    if (child.exitCode === null && !child.killed) child.kill('SIGTERM');
    await exited;
  };
  try {
    await client.waitForServing(options.startTimeoutMs ?? 120_000);
  } catch (err) {
    await stop();
    throw new ControlPlaneError('CP_ERR_WORKER_START', `worker at ${address} never reported SERVING`, { cause: err });
  }
  return { address, pid: child.pid!, client, exited, stop };
}
