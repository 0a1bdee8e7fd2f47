/**
 * The devices of this host, as the worker's own torch sees them: one per CUDA device, or the CPU where there is none.
 * `bslora up` and `bslora agent` start one worker per device found (`--devices auto`, the default).
 */
import { execa } from 'execa';
import { REPO_ROOT, workerPython } from '../worker-process/python-path.js';

export async function discoverDevices(): Promise<string[]> {
  const r = await execa(
    workerPython(),
    ['-c', 'import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)'],
    {
      cwd: REPO_ROOT,
      reject: false,
    },
  );
  const count = Number(r.stdout.trim());
  if (r.exitCode !== 0 || !Number.isInteger(count)) {
    throw new Error(`could not ask torch for the devices (exit ${r.exitCode}): ${String(r.stderr).slice(-300)}`);
  }
  return count > 0 ? Array.from({ length: count }, (_, i) => `cuda:${i}`) : ['cpu'];
}

/** `auto` → discovered devices; otherwise the comma-separated list as given. */
export async function resolveDevices(spec: string): Promise<string[]> {
  const list = spec
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean);
  return list.length === 1 && list[0] === 'auto' ? discoverDevices() : list;
}
