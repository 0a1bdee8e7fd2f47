#!/usr/bin/env node
// Runs the CLI in this process, so that signals reach it directly (it stops what it started on Ctrl-C): the compiled
// JavaScript in dist/cli/js/ (built by `make setup`, infra/scripts/build-cli.sh) while it is newer than every
// source file, else the TypeScript through tsx's loader, so no build step stands between a clone or an edit and
// `bslora`. BSLORA_FROM_SOURCE=1 forces the TypeScript.
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const compiled = `${root}dist/cli/js/main.js`;

/** Whether the compiled CLI exists and no file under control-plane/src changed after it was built. */
function compiledIsFresh() {
  let built;
  try {
    built = statSync(compiled).mtimeMs;
  } catch {
    return false;
  }
  const dirs = [`${root}control-plane/src`];
  while (dirs.length) {
    const dir = dirs.pop();
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) dirs.push(path);
      else if (statSync(path).mtimeMs > built) return false;
    }
  }
  return true;
}

if (process.env.BSLORA_FROM_SOURCE !== '1' && compiledIsFresh()) {
  await import(compiled);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../control-plane/src/cli/main.ts');
}
