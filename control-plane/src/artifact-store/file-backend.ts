/**
 * A folder on a filesystem every host mounts (NFS, Lustre, GPFS: the usual case on Slurm). Each adapter is
 * written to a temporary file in the same folder, flushed, then renamed to `<sha256>.tar`, so that a reader on
 * any host sees the whole archive or none.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { access, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ArtifactBackend } from './artifact-backend.js';

export class FileBackend implements ArtifactBackend {
  readonly description: string;

  constructor(readonly dir: string) {
    // Owner only, like artifacts/: adapters are trained on the users' data.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.description = pathToFileURL(dir).href;
  }

  pathOf(sha256: string): string {
    return join(this.dir, `${sha256}.tar`);
  }

  async put(sha256: string, data: Buffer): Promise<void> {
    const path = this.pathOf(sha256);
    if (await exists(path)) return;
    // Unique per writer: two hosts storing the same adapter at once never share a temporary file.
    const tmp = join(this.dir, `.${sha256}.${randomUUID()}.tmp`);
    try {
      const handle = await open(tmp, 'wx', 0o600);
      try {
        await handle.writeFile(data);
        // On the disk before the rename publishes it: a crash never leaves a named, truncated archive.
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async get(sha256: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.pathOf(sha256));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
