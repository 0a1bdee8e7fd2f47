import { describe, expect, it } from 'vitest';
import { devicesFromEnvironment, findDevices, resolveDevices } from './discover-devices.js';

describe('resolveDevices', () => {
  it('asks the worker Python for its devices on auto when no scheduler set any (the CPU without CUDA)', async () => {
    const found = await findDevices('auto', {});
    expect(found.source).toBe('torch');
    expect(found.devices.length).toBeGreaterThan(0);
    expect(found.devices.every((d) => d === 'cpu' || /^cuda:\d+$/.test(d))).toBe(true);
  }, 60_000);

  it('keeps an explicit list as given, whatever the environment says', async () => {
    expect(await resolveDevices('cuda:0, cuda:1', { CUDA_VISIBLE_DEVICES: '5' })).toEqual(['cuda:0', 'cuda:1']);
  });

  it('takes the devices a scheduler assigned on auto, without asking torch', async () => {
    expect(await findDevices('auto', { SLURM_JOB_GPUS: '2,3' })).toEqual({
      devices: ['cuda:2', 'cuda:3'],
      source: 'SLURM_JOB_GPUS',
    });
  });
});

describe('devicesFromEnvironment', () => {
  const cases: [string, NodeJS.ProcessEnv, string[] | undefined][] = [
    ['nothing set', {}, undefined],
    [
      'Slurm gres: CUDA_VISIBLE_DEVICES first',
      { CUDA_VISIBLE_DEVICES: '1,3', SLURM_JOB_GPUS: '5,7' },
      ['cuda:1', 'cuda:3'],
    ],
    ['GPU UUIDs as given', { CUDA_VISIBLE_DEVICES: 'GPU-8f2a,MIG-77c1' }, ['cuda:GPU-8f2a', 'cuda:MIG-77c1']],
    ['no GPU: empty', { CUDA_VISIBLE_DEVICES: '' }, ['cpu']],
    ['no GPU: -1', { CUDA_VISIBLE_DEVICES: '-1' }, ['cpu']],
    ['k8s device plugin', { NVIDIA_VISIBLE_DEVICES: 'GPU-aa11' }, ['cuda:GPU-aa11']],
    ['k8s: all means ask torch', { NVIDIA_VISIBLE_DEVICES: 'all' }, undefined],
    ['k8s: none', { NVIDIA_VISIBLE_DEVICES: 'none' }, ['cpu']],
    ['k8s: device files mounted', { NVIDIA_VISIBLE_DEVICES: '/var/run/nvidia-container-devices' }, undefined],
    ['Slurm step before job', { SLURM_STEP_GPUS: '4', SLURM_JOB_GPUS: '4,5' }, ['cuda:4']],
    ['Slurm job GPUs', { SLURM_JOB_GPUS: '0,1,2' }, ['cuda:0', 'cuda:1', 'cuda:2']],
    ['Slurm count only', { SLURM_GPUS_ON_NODE: '2' }, ['cuda:0', 'cuda:1']],
    ['Slurm job without GPUs', { SLURM_GPUS_ON_NODE: '0' }, ['cpu']],
    ['Slurm count that is no number', { SLURM_GPUS_ON_NODE: 'two' }, undefined],
  ];
  it.each(cases)('%s', (_name, env, expected) => {
    expect(devicesFromEnvironment(env)?.devices).toEqual(expected);
  });
});
