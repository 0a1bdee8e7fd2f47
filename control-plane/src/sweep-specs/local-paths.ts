/**
 * Where a spec's local paths may point, and what they may be. A path is accepted when, with every symlink resolved,
 * it lies under one of the configured roots and is a regular file or a folder. Paths outside the roots are refused
 * with the same message whether they exist or not, so a submitter learns nothing about the rest of the filesystem;
 * FIFOs, devices and sockets are refused by name, before anything opens them. Messages name the path as written and
 * what was expected, never anything read from a file.
 */
import { realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';

/** The kind of a filesystem entry, in words, for entries that are neither files nor folders. */
export function specialKind(st: Stats): string | null {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (!st.isFile() && !st.isDirectory()) return 'not a regular file or folder';
  return null;
}

function realOrResolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

function isUnder(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The roots as given and with their own symlinks resolved (a root may itself be a link, /tmp on macOS). */
export function normaliseRoots(roots: readonly string[]): string[] {
  return [...new Set(roots.flatMap((r) => [resolve(r), realOrResolved(r)]))];
}

/** `path` with symlinks resolved as far as it exists (the part that does not exist appended as written). */
function realPathAsFarAsExists(path: string): { real: string; exists: boolean } {
  let head = path;
  const tail: string[] = [];
  for (;;) {
    try {
      return { real: join(realpathSync(head), ...tail.reverse()), exists: tail.length === 0 };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      const parent = dirname(head);
      if (parent === head) return { real: path, exists: false };
      tail.push(head.slice(parent.length).replace(/^[/\\]/, ''));
      head = parent;
    }
  }
}

export type LocalPathCheck = { ok: true; realPath: string; kind: 'file' | 'folder' } | { ok: false; message: string };

/** How a refusal for a path outside the roots tells the user to fix it. */
export const OUTSIDE_ROOTS_HINT =
  'move it under one of them, or add a root (`--root` for the CLI, BSLORA_DATA_ROOTS for the server)';

/**
 * Checks one local path of a spec: under `roots` (when given) once symlinks are resolved, existing, and a regular
 * file or folder. `ref` is the path as written, for messages.
 */
export function checkLocalPath(ref: string, absPath: string, roots: readonly string[] | undefined): LocalPathCheck {
  const allowed = roots ? normaliseRoots(roots) : null;
  const outside = (): LocalPathCheck => ({
    ok: false,
    message: `local path "${ref}" is outside the folders this control plane reads (${roots!.join(', ')}); ${OUTSIDE_ROOTS_HINT}`,
  });
  // Lexically outside: refused without touching the filesystem.
  if (allowed && !allowed.some((root) => isUnder(absPath, root))) return outside();
  let resolved: { real: string; exists: boolean };
  try {
    resolved = realPathAsFarAsExists(absPath);
  } catch (err) {
    return {
      ok: false,
      message: `local path "${ref}" cannot be resolved (${(err as NodeJS.ErrnoException).code ?? 'error'}); give a readable file or folder`,
    };
  }
  if (allowed && !allowed.some((root) => isUnder(resolved.real, root))) return outside();
  // Said only for paths inside the roots: outside them, existence is never revealed.
  if (!resolved.exists) return { ok: false, message: `local path "${ref}" does not exist (resolved to ${absPath})` };
  let st: Stats;
  try {
    st = statSync(resolved.real);
  } catch (err) {
    return {
      ok: false,
      message: `local path "${ref}" cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); give a readable file or folder`,
    };
  }
  const special = specialKind(st);
  if (special) return { ok: false, message: `local path "${ref}" is ${special}; give a regular file or a folder` };
  return { ok: true, realPath: resolved.real, kind: st.isDirectory() ? 'folder' : 'file' };
}

/** Whether `path` (symlinks resolved) lies under one of `roots`; for request parameters such as a base folder. */
export function isUnderRoots(path: string, roots: readonly string[]): boolean {
  const allowed = normaliseRoots(roots);
  try {
    const { real } = realPathAsFarAsExists(resolve(path));
    return allowed.some((root) => isUnder(resolve(path), root)) && allowed.some((root) => isUnder(real, root));
  } catch {
    return false;
  }
}
