/** The body of the spec-checking thread: parses and validates each spec it is sent (see parse-off-thread.ts). */
import { parentPort } from 'node:worker_threads';

import { isControlPlaneError } from '../errors.js';
import { parseSweepSpec, type ParseSweepSpecOptions } from './parse-sweep-spec.js';

interface Request {
  id: number;
  text: string;
  opts: ParseSweepSpecOptions;
}

parentPort!.on('message', ({ id, text, opts }: Request) => {
  try {
    parentPort!.postMessage({ id, ok: true, spec: parseSweepSpec(text, opts) });
  } catch (err) {
    const error = isControlPlaneError(err)
      ? { code: err.code, message: err.message, issues: err.issues }
      : { code: 'CP_ERR_INTERNAL', message: `checking the spec failed: ${(err as Error).message}`, issues: [] };
    parentPort!.postMessage({ id, ok: false, error });
  }
});
parentPort!.postMessage({ ready: true });
