/**
 * The devices of this host. Under a scheduler they come from the environment it sets (Slurm's gres plugin and the
 * NVIDIA device plugin of Kubernetes set CUDA_VISIBLE_DEVICES; Slurm also sets SLURM_STEP_GPUS / SLURM_JOB_GPUS /
 * SLURM_GPUS_ON_NODE); elsewhere they are what the worker's own torch sees: one per CUDA device, or the CPU where
 * there is none. `bslora up` and `bslora agent` start one worker per device found (`--devices auto`, the default).
 */
import { execa } from 'execa';
import { REPO_ROOT, workerPython } from '../worker-process/python-path.js';

export interface DevicesFound {
  devices: string[];
  /** Where they came from, for the agent's start-up line: a variable's name, or `torch`. */
  source: string;
}

function entries(value: string): string[] {
  return value
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean);
}

/**
 * The devices the environment assigns, first match wins: CUDA_VISIBLE_DEVICES, NVIDIA_VISIBLE_DEVICES,
 * SLURM_STEP_GPUS, SLURM_JOB_GPUS, SLURM_GPUS_ON_NODE. Each entry becomes `cuda:<entry>`, where the entry is an index
 * or a GPU/MIG UUID exactly as the variable names it; the agent hands that to its worker as CUDA_VISIBLE_DEVICES, so
 * the worker uses that device and no other. An empty CUDA_VISIBLE_DEVICES, `-1` or NVIDIA's `none`/`void` mean no
 * GPU (the CPU). Undefined when nothing is set, or NVIDIA_VISIBLE_DEVICES is `all` or a path (then torch is asked).
 */
export function devicesFromEnvironment(env: NodeJS.ProcessEnv = process.env): DevicesFound | undefined {
  const cpu = (source: string) => ({ devices: ['cpu'], source });
  const cuda = env.CUDA_VISIBLE_DEVICES;
  if (cuda !== undefined) {
    const list = entries(cuda);
    // CUDA stops at the first invalid entry; -1 is the usual way to hide every GPU.
    if (list.length === 0 || list[0] === '-1' || list[0] === 'NoDevFiles') return cpu('CUDA_VISIBLE_DEVICES');
    return { devices: list.map((d) => `cuda:${d}`), source: 'CUDA_VISIBLE_DEVICES' };
  }
  const nvidia = env.NVIDIA_VISIBLE_DEVICES;
  if (nvidia !== undefined) {
    const list = entries(nvidia);
    // `all`, or a folder of device files (the device plugin's volume-mounts strategy): the container sees only its
    // own GPUs, so torch's count is the answer.
    if ((list.length === 1 && list[0] === 'all') || list[0]?.startsWith('/')) return undefined;
    if (list.length === 0 || list[0] === 'none' || list[0] === 'void') return cpu('NVIDIA_VISIBLE_DEVICES');
    return { devices: list.map((d) => `cuda:${d}`), source: 'NVIDIA_VISIBLE_DEVICES' };
  }
  for (const name of ['SLURM_STEP_GPUS', 'SLURM_JOB_GPUS']) {
    const list = entries(env[name] ?? '');
    if (list.length > 0) return { devices: list.map((d) => `cuda:${d}`), source: name };
  }
  const count = Number(env.SLURM_GPUS_ON_NODE ?? '');
  if (env.SLURM_GPUS_ON_NODE && Number.isInteger(count) && count >= 0) {
    if (count === 0) return cpu('SLURM_GPUS_ON_NODE');
    return { devices: Array.from({ length: count }, (_, i) => `cuda:${i}`), source: 'SLURM_GPUS_ON_NODE' };
  }
  return undefined;
}

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

/** `auto` → the scheduler's devices, else torch's; otherwise the comma-separated list as given. */
export async function findDevices(spec: string, env: NodeJS.ProcessEnv = process.env): Promise<DevicesFound> {
  const list = entries(spec);
  if (!(list.length === 1 && list[0] === 'auto')) return { devices: list, source: '--devices' };
  return devicesFromEnvironment(env) ?? { devices: await discoverDevices(), source: 'torch' };
}

/** `auto` → discovered devices (findDevices); otherwise the comma-separated list as given. */
export async function resolveDevices(spec: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  return (await findDevices(spec, env)).devices;
}
