/** Where the worker's Python lives: `BSLORA_PYTHON`, else the repository's `.venv` made by `make setup`. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function workerPython(): string {
  const fromEnv = process.env.BSLORA_PYTHON;
  if (fromEnv) return fromEnv;
  const venv = `${REPO_ROOT}.venv/bin/python`;
  return existsSync(venv) ? venv : 'python3';
}
