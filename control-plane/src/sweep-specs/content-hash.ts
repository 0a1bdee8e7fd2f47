/**
 * sha256 content hashes of local files and folders, the data and model *identity* that goes into trial keys.
 *
 * A file hashes to the sha256 of its bytes. A folder (a Hugging Face model folder, a saved dataset) hashes to the
 * sha256 of its sorted listing, one line per regular file: `<relative path>\0<file sha256>\n`. Hashes are cached per
 * absolute path and reused while the size and modification time of every file are unchanged.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, readdirSync, statSync, type Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

interface CacheEntry {
  signature: string;
  hash: string;
}

const cache = new Map<string, CacheEntry>();

function fileSignature(st: Stats): string {
  return `${st.size}:${st.mtimeMs}:${st.ino}`;
}

function listFilesSync(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() || (entry.isSymbolicLink() && statSync(full).isFile())) out.push(full);
    }
  };
  walk(root);
  return out.sort();
}

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() || (entry.isSymbolicLink() && (await stat(full)).isFile())) out.push(full);
    }
  };
  await walk(root);
  return out.sort();
}

function relativeKey(root: string, file: string): string {
  return relative(root, file).split(sep).join('/');
}

function folderDigest(lines: string[]): string {
  const h = createHash('sha256');
  for (const line of lines) h.update(line);
  return h.digest('hex');
}

function hashFileSync(path: string): string {
  const st = statSync(path);
  const signature = fileSignature(st);
  const hit = cache.get(path);
  if (hit && hit.signature === signature) return hit.hash;
  const hash = createHash('sha256').update(readFileSync(path)).digest('hex');
  cache.set(path, { signature, hash });
  return hash;
}

async function hashFile(path: string): Promise<string> {
  const st = await stat(path);
  const signature = fileSignature(st);
  const hit = cache.get(path);
  if (hit && hit.signature === signature) return hit.hash;
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  const hash = h.digest('hex');
  cache.set(path, { signature, hash });
  return hash;
}

/**
 * The sha256 (hex) of a local file or folder, computed synchronously (cached). Throws the `fs` error when the path
 * does not exist. Prefer {@link contentHash} on a server; this one serves {@link expandSweep}, which is synchronous
 * and finds the cache warm after `loadSweepSpecFile`.
 */
export function contentHashSync(absPath: string): string {
  if (!statSync(absPath).isDirectory()) return hashFileSync(absPath);
  const lines = listFilesSync(absPath).map((f) => `${relativeKey(absPath, f)}\0${hashFileSync(f)}\n`);
  return folderDigest(lines);
}

/** The sha256 (hex) of a local file or folder, streamed (cached). Throws the `fs` error when the path is missing. */
export async function contentHash(absPath: string): Promise<string> {
  if (!(await stat(absPath)).isDirectory()) return hashFile(absPath);
  const lines: string[] = [];
  for (const f of await listFiles(absPath)) lines.push(`${relativeKey(absPath, f)}\0${await hashFile(f)}\n`);
  return folderDigest(lines);
}

/** Forgets every cached hash (tests). */
export function clearContentHashCache(): void {
  cache.clear();
}
