/**
 * Adapters stored by sha256: on local disk under artifacts/ (written once, temp file + rename, never overwritten),
 * and, when a shared backend is given (the Redis mirror, a shared folder or S3; `--artifacts`), also there, so that
 * an eval job on another host, or the control plane, can fetch an adapter that a different agent trained
 * (docs/decisions/0009-artifact-storage.md). Every copy is checked against its sha256 before it is used: a missing
 * or damaged copy is an error the caller retries, never a wrong adapter.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ArtifactBackend } from '../artifact-store/artifact-backend.js';
import { ControlPlaneError } from '../errors.js';

function sha256Of(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export class ArtifactStore {
  constructor(
    readonly dir: string,
    readonly backend?: ArtifactBackend,
  ) {
    // Owner only: adapters are trained on the users' data.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** Where adapters are looked for, for messages: `artifacts/ nor s3://bucket/prefix`. */
  get where(): string {
    return this.backend ? `artifacts/ nor ${this.backend.description}` : 'artifacts/';
  }

  pathOf(sha256: string): string {
    return join(this.dir, `${sha256}.tar`);
  }

  /** Stores locally and in the shared backend; returns the sha256. */
  async put(data: Buffer): Promise<string> {
    const sha = this.putLocal(data);
    if (this.backend) await this.backend.put(sha, data);
    return sha;
  }

  putLocal(data: Buffer): string {
    const sha = sha256Of(data);
    const path = this.pathOf(sha);
    if (!existsSync(path)) {
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, data, { mode: 0o600 });
      renameSync(tmp, path);
    }
    return sha;
  }

  get(sha256: string): Buffer | undefined {
    const path = this.pathOf(sha256);
    return existsSync(path) ? readFileSync(path) : undefined;
  }

  /**
   * The local copy, else the backend's (verified, then kept locally); undefined when neither has it. A local copy
   * that no longer matches its name is removed and fetched again; a backend copy that does not match throws
   * CP_ERR_ADAPTER_INVALID (the caller retries: a later read may succeed, a wrong adapter is never returned).
   */
  async fetch(sha256: string): Promise<Buffer | undefined> {
    const local = this.get(sha256);
    if (local) {
      if (sha256Of(local) === sha256) return local;
      rmSync(this.pathOf(sha256), { force: true });
    }
    if (!this.backend) return undefined;
    const data = await this.backend.get(sha256);
    if (!data) return undefined;
    const actual = sha256Of(data);
    if (actual !== sha256) {
      throw new ControlPlaneError(
        'CP_ERR_ADAPTER_INVALID',
        `the copy of adapter ${sha256} in ${this.backend.description} is damaged (${data.length} bytes with sha256 ` +
          `${actual}): not used; retry, and if it persists remove that object and rerun the trial`,
      );
    }
    this.putLocal(data);
    return data;
  }

  async close(): Promise<void> {
    await this.backend?.close?.();
  }
}
