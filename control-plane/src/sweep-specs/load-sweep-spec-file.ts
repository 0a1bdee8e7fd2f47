/** Loading a sweep spec from a file. */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { ControlPlaneError } from '../errors.js';
import { contentHash } from './content-hash.js';
import { localRefsOf, parseSweepSpec } from './parse-sweep-spec.js';
import type { SweepSpec } from './sweep-spec.js';

/**
 * Reads, parses and validates a sweep spec file (YAML, or JSON when it ends in `.json`). Relative local paths in
 * the spec are resolved against the file's folder and must exist. The content hashes of local files are computed
 * here, off the event loop's critical path, so that `expandSweep` finds them cached.
 *
 * @throws ControlPlaneError `CP_ERR_SPEC_UNREADABLE` when the file cannot be read; `CP_ERR_SPEC_INVALID` with
 *   every problem named by its path.
 * @example
 * const spec = await loadSweepSpecFile('jobs/quickstart.yaml');
 * const trials = expandSweep(spec);
 */
export async function loadSweepSpecFile(path: string): Promise<SweepSpec> {
  const absPath = resolve(path);
  let text: string;
  try {
    text = await readFile(absPath, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new ControlPlaneError('CP_ERR_SPEC_UNREADABLE', `cannot read sweep spec ${path}: ${reason}`, { cause: err });
  }
  const spec = parseSweepSpec(text, { sourceName: path, baseDir: dirname(absPath) });
  const failed: { path: string; message: string }[] = [];
  await Promise.all(
    localRefsOf(spec).map(async (ref) => {
      try {
        await contentHash(ref.absPath);
      } catch (err) {
        failed.push({ path: ref.path, message: `cannot read ${ref.absPath}: ${(err as Error).message}` });
      }
    }),
  );
  if (failed.length > 0) {
    throw new ControlPlaneError('CP_ERR_SPEC_INVALID', `${path} is invalid:\n${failed.map((f) => `  ${f.path}: ${f.message}`).join('\n')}`, {
      issues: failed,
    });
  }
  return spec;
}
