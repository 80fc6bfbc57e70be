// The workflow bundle's entry point: every workflow type the worker registers (their messages are in src/domain/<stage>/messages.ts).
export { repoSync } from './sync/repoSync.js';
export { testNotebooks } from './runs/testNotebooks.js';
export { userCopy } from './copies/userCopy.js';
export { userCopiesBulk } from './copies/userCopiesBulk.js';
