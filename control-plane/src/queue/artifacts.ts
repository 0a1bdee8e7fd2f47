/** Adapters stored by sha256 under artifacts/: written once (temp file + rename), never overwritten. */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class ArtifactStore {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  pathOf(sha256: string): string {
    return join(this.dir, `${sha256}.tar`);
  }

  put(data: Buffer): string {
    const sha = createHash('sha256').update(data).digest('hex');
    const path = this.pathOf(sha);
    if (!existsSync(path)) {
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, data);
      renameSync(tmp, path);
    }
    return sha;
  }

  get(sha256: string): Buffer | undefined {
    const path = this.pathOf(sha256);
    return existsSync(path) ? readFileSync(path) : undefined;
  }
}
