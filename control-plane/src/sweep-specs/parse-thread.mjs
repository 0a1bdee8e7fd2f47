// Entry of the spec-checking thread (parse-off-thread.ts): loads the TypeScript through tsx, as bin/bslora.js does.
import { register } from 'tsx/esm/api';

register();
await import('./parse-thread.ts');
