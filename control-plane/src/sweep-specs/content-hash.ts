/**
 * sha256 content hashes of local files and folders, the data and model *identity* that goes into trial keys.
 *
 * A file hashes to the sha256 of its bytes. A folder (a Hugging Face model folder, a saved dataset) hashes to the
 * sha256 of its sorted listing, one line per regular file: `<relative path>\0<file sha256>\n`. Hashes are cached
 * per path and reused while the file's size, modification time and inode are unchanged.
 *
 * Only regular files are read, and only up to a size cap per reference ({@link hashLimits}): FIFOs, devices and
 * sockets are refused by name before they are opened (and a file is opened non-blocking and checked again through
 * its descriptor, so one swapped for a FIFO in between cannot block). The server hashes with {@link contentHash},
 * which streams and never holds the event loop for more than one chunk.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync, readdirSync, statSync, type Stats } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

import { specialKind } from './local-paths.js';

interface CacheEntry {
  signature: string;
  hash: string;
}

const cache = new Map<string, CacheEntry>();
const CHUNK = 1 << 20;

/** Bytes and files one local reference may hash to (BSLORA_HASH_MAX_BYTES, BSLORA_HASH_MAX_FILES override). */
export function hashLimits(env: NodeJS.ProcessEnv = process.env): { maxBytes: number; maxFiles: number } {
  const bytes = Number(env.BSLORA_HASH_MAX_BYTES);
  const files = Number(env.BSLORA_HASH_MAX_FILES);
  return {
    maxBytes: Number.isSafeInteger(bytes) && bytes > 0 ? bytes : 32 * 1024 ** 3,
    maxFiles: Number.isSafeInteger(files) && files > 0 ? files : 100_000,
  };
}

/** A local file or folder that cannot be hashed; the message names the path and what was expected. */
export class LocalFileError extends Error {}

function fileSignature(st: Stats): string {
  return `${st.size}:${st.mtimeMs}:${st.ino}:${st.dev}`;
}

function refuseSpecial(path: string, st: Stats): void {
  const special = specialKind(st);
  if (special) throw new LocalFileError(`${path} is ${special}; give a regular file or a folder`);
}

function tooLarge(path: string, size: number, maxBytes: number): LocalFileError {
  return new LocalFileError(
    `${path} holds ${size} bytes, more than the ${maxBytes} bytes a local reference may hash to (BSLORA_HASH_MAX_BYTES)`,
  );
}

const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

async function listFiles(root: string, maxFiles: number): Promise<{ path: string; st: Stats }[]> {
  const out: { path: string; st: Stats }[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(full);
        continue;
      }
      const st = await stat(full).catch(() => null);
      // A dangling link or a linked folder is not part of the content (links to folders could loop).
      if (!st || st.isDirectory()) continue;
      refuseSpecial(full, st);
      out.push({ path: full, st });
      if (out.length > maxFiles)
        throw new LocalFileError(
          `${root} holds more than ${maxFiles} files (BSLORA_HASH_MAX_FILES); point at a smaller folder`,
        );
    }
  };
  await walk(root);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function listFilesSync(root: string, maxFiles: number): { path: string; st: Stats }[] {
  const out: { path: string; st: Stats }[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(full);
        continue;
      }
      let st: Stats;
      try {
        st = statSync(full);
      } catch {
        continue;
      }
      if (st.isDirectory()) continue;
      refuseSpecial(full, st);
      out.push({ path: full, st });
      if (out.length > maxFiles)
        throw new LocalFileError(
          `${root} holds more than ${maxFiles} files (BSLORA_HASH_MAX_FILES); point at a smaller folder`,
        );
    }
  };
  walk(root);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function relativeKey(root: string, file: string): string {
  return relative(root, file).split(sep).join('/');
}

function folderDigest(lines: string[]): string {
  const h = createHash('sha256');
  for (const line of lines) h.update(line);
  return h.digest('hex');
}

async function hashFile(path: string, maxBytes: number): Promise<string> {
  const handle = await open(path, OPEN_FLAGS);
  try {
    const st = await handle.stat();
    refuseSpecial(path, st);
    if (st.size > maxBytes) throw tooLarge(path, st.size, maxBytes);
    const signature = fileSignature(st);
    const hit = cache.get(path);
    if (hit && hit.signature === signature) return hit.hash;
    const h = createHash('sha256');
    const buffer = Buffer.allocUnsafe(CHUNK);
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      // A file that grows while it is read is stopped at the cap too.
      if (total > maxBytes) throw tooLarge(path, total, maxBytes);
      h.update(buffer.subarray(0, bytesRead));
    }
    const hash = h.digest('hex');
    cache.set(path, { signature, hash });
    return hash;
  } finally {
    await handle.close();
  }
}

function hashFileSync(path: string, maxBytes: number): string {
  const fd = openSync(path, OPEN_FLAGS);
  try {
    const st = fstatSync(fd);
    refuseSpecial(path, st);
    if (st.size > maxBytes) throw tooLarge(path, st.size, maxBytes);
    const signature = fileSignature(st);
    const hit = cache.get(path);
    if (hit && hit.signature === signature) return hit.hash;
    const h = createHash('sha256');
    const buffer = Buffer.allocUnsafe(CHUNK);
    let total = 0;
    for (;;) {
      const n = readSync(fd, buffer, 0, CHUNK, null);
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw tooLarge(path, total, maxBytes);
      h.update(buffer.subarray(0, n));
    }
    const hash = h.digest('hex');
    cache.set(path, { signature, hash });
    return hash;
  } finally {
    closeSync(fd);
  }
}

function checkFolderSize(root: string, files: { st: Stats }[], maxBytes: number): void {
  const total = files.reduce((sum, f) => sum + f.st.size, 0);
  if (total > maxBytes) throw tooLarge(root, total, maxBytes);
}

/**
 * The sha256 (hex) of a local file or folder, computed synchronously (cached). Refuses what {@link contentHash}
 * refuses. Prefer {@link contentHash} on a server; this one serves {@link expandSweep}, which is synchronous and
 * finds the cache warm after `loadSweepSpecFile` or `ControlPlane.submit`.
 */
export function contentHashSync(absPath: string): string {
  const limits = hashLimits();
  const st = statSync(absPath);
  refuseSpecial(absPath, st);
  if (!st.isDirectory()) return hashFileSync(absPath, limits.maxBytes);
  const files = listFilesSync(absPath, limits.maxFiles);
  checkFolderSize(absPath, files, limits.maxBytes);
  return folderDigest(files.map((f) => `${relativeKey(absPath, f.path)}\0${hashFileSync(f.path, limits.maxBytes)}\n`));
}

/**
 * The sha256 (hex) of a local file or folder, streamed in 1 MiB reads (cached). Throws {@link LocalFileError} for
 * FIFOs, devices, sockets and anything over the size cap, and the `fs` error when the path is missing.
 */
export async function contentHash(absPath: string): Promise<string> {
  const limits = hashLimits();
  const st = await stat(absPath);
  refuseSpecial(absPath, st);
  if (!st.isDirectory()) return hashFile(absPath, limits.maxBytes);
  const files = await listFiles(absPath, limits.maxFiles);
  checkFolderSize(absPath, files, limits.maxBytes);
  const lines: string[] = [];
  for (const f of files) lines.push(`${relativeKey(absPath, f.path)}\0${await hashFile(f.path, limits.maxBytes)}\n`);
  return folderDigest(lines);
}

/** Forgets every cached hash (tests). */
export function clearContentHashCache(): void {
  cache.clear();
}
