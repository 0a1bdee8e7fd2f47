/** Loading a sweep spec from a file. */
import { open } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { ControlPlaneError } from '../errors.js';
import { hashLocalRefs } from './hash-local-refs.js';
import { specialKind } from './local-paths.js';
import { parseSweepSpec } from './parse-sweep-spec.js';
import type { SweepSpec } from './sweep-spec.js';

/** Largest spec file read (the same as the API's default body limit). */
export const MAX_SPEC_FILE_BYTES = 1024 * 1024;

async function readSpecText(absPath: string, shown: string): Promise<string> {
  const unreadable = (reason: string, cause?: unknown) =>
    new ControlPlaneError('CP_ERR_SPEC_UNREADABLE', `cannot read sweep spec ${shown}: ${reason}`, { cause });
  let handle;
  try {
    // Non-blocking, so that a FIFO given as the spec is refused instead of waited on.
    handle = await open(absPath, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw unreadable(code === 'ENOENT' ? 'no such file' : (code ?? (err as Error).message), err);
  }
  try {
    const st = await handle.stat();
    const special = st.isDirectory() ? 'a folder' : specialKind(st);
    if (special) throw unreadable(`it is ${special}; give a YAML or JSON file`);
    if (st.size > MAX_SPEC_FILE_BYTES) throw unreadable(`it holds ${st.size} bytes, more than ${MAX_SPEC_FILE_BYTES}`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Reads, parses and validates a sweep spec file (YAML, or JSON when it ends in `.json`). Relative local paths in
 * the spec are resolved against the file's folder and must exist (and lie under `opts.roots` when given). The
 * content hashes of local files are computed here, streamed, so that `expandSweep` finds them cached.
 *
 * @throws ControlPlaneError `CP_ERR_SPEC_UNREADABLE` when the file cannot be read; `CP_ERR_SPEC_INVALID` with
 *   every problem named by its path.
 * @example
 * const spec = await loadSweepSpecFile('jobs/quickstart.yaml', { roots: ['jobs'] });
 * const trials = expandSweep(spec);
 */
export async function loadSweepSpecFile(path: string, opts: { roots?: readonly string[] } = {}): Promise<SweepSpec> {
  const absPath = resolve(path);
  const text = await readSpecText(absPath, path);
  const spec = parseSweepSpec(text, { sourceName: path, baseDir: dirname(absPath), roots: opts.roots });
  await hashLocalRefs(spec, path);
  return spec;
}
