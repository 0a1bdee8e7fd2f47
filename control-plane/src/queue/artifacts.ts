/**
 * Adapters stored by sha256: on local disk under artifacts/ (written once, temp file + rename, never overwritten),
 * and, when a Redis mirror is given, also in Redis for a week, so that an eval job on another host, or the control
 * plane on its own host, can fetch an adapter that a different agent trained
 * (docs/decisions/0006-adapter-transfer.md).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';

const MIRROR_TTL_SECONDS = 7 * 24 * 3600;

export interface ArtifactMirror {
  redis: Redis;
  prefix: string;
}

export class ArtifactStore {
  constructor(
    readonly dir: string,
    private readonly mirror?: ArtifactMirror,
  ) {
    // Owner only: adapters are trained on the users' data.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  pathOf(sha256: string): string {
    return join(this.dir, `${sha256}.tar`);
  }

  private mirrorKey(sha256: string): string {
    return `${this.mirror!.prefix}:adapter:${sha256}`;
  }

  /** Stores locally (and in the mirror); returns the sha256. */
  async put(data: Buffer): Promise<string> {
    const sha = this.putLocal(data);
    if (this.mirror) await this.mirror.redis.set(this.mirrorKey(sha), data, 'EX', MIRROR_TTL_SECONDS, 'NX');
    return sha;
  }

  putLocal(data: Buffer): string {
    const sha = createHash('sha256').update(data).digest('hex');
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

  /** The local copy, else the mirror's (verified, then kept locally); undefined when neither has it. */
  async fetch(sha256: string): Promise<Buffer | undefined> {
    const local = this.get(sha256);
    if (local || !this.mirror) return local;
    const data = await this.mirror.redis.getBuffer(this.mirrorKey(sha256));
    if (!data) return undefined;
    if (createHash('sha256').update(data).digest('hex') !== sha256) return undefined;
    this.putLocal(data);
    return data;
  }
}
