#!/usr/bin/env node
// Runs the TypeScript CLI in this process through tsx's loader, so no build step stands between a clone and
// `bslora`, and signals reach the CLI directly (it stops what it started on Ctrl-C).
import { register } from 'tsx/esm/api';

register();
await import('../control-plane/src/cli/main.ts');
