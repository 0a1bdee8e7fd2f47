#!/usr/bin/env node
/**
 * Entry point of the `bslora` CLI: the only place that exits. ControlPlaneErrors become their documented exit code
 * and a message naming what went wrong (and every spec issue by its path).
 */
import { CommanderError } from 'commander';
import { isControlPlaneError } from '../errors.js';
import { readConfig } from './config.js';
import { makeProgram } from './program.js';

const io = { out: process.stdout, err: process.stderr };
const program = makeProgram(readConfig(), io).exitOverride();

try {
  await program.parseAsync(process.argv);
  process.exitCode = 0;
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else if (isControlPlaneError(err)) {
    io.err.write(`error ${err.code}: ${err.message}\n`);
    for (const issue of err.issues) io.err.write(`  ${issue.path}: ${issue.message}\n`);
    process.exitCode = err.exitCode;
  } else {
    io.err.write(`unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 70;
  }
}
