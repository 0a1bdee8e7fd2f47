/**
 * Hashing the local files and folders of a validated spec before it is expanded: streamed, off the event loop's
 * critical path, so that `expandSweep` (synchronous) finds every hash cached. A reference that cannot be hashed
 * (gone since validation, grown past the cap, swapped for a FIFO) fails the submission with its field's path.
 */
import { ControlPlaneError, type SpecIssue } from '../errors.js';
import { LocalFileError, contentHash } from './content-hash.js';
import { localRefsOf } from './parse-sweep-spec.js';
import type { SweepSpec } from './sweep-spec.js';

/** Hashes every local reference of `spec` (cached); throws `CP_ERR_SPEC_INVALID` naming each that failed. */
export async function hashLocalRefs(spec: SweepSpec, sourceName = `sweep spec ${spec.name}`): Promise<void> {
  const failed: SpecIssue[] = [];
  // One at a time: the reads share one disk, and a failure stops nothing else from being reported.
  for (const ref of localRefsOf(spec)) {
    try {
      await contentHash(ref.absPath);
    } catch (err) {
      const message =
        err instanceof LocalFileError
          ? err.message
          : `cannot read ${ref.absPath} (${(err as NodeJS.ErrnoException).code ?? 'error'}); give a readable regular file or folder`;
      failed.push({ path: ref.path, message });
    }
  }
  if (failed.length > 0) {
    throw new ControlPlaneError(
      'CP_ERR_SPEC_INVALID',
      `${sourceName} is invalid:\n${failed.map((f) => `  ${f.path}: ${f.message}`).join('\n')}`,
      {
        issues: failed,
      },
    );
  }
}
