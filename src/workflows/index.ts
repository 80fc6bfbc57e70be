// The workflow bundle's entry point: every workflow type the worker registers.
export { repoSync, beaconSignal, statusQuery } from './repoSync.js';
export { testNotebooks, progressQuery } from './testNotebooks.js';
export { userCopy, copyRequestUpdate, userCopyStatusQuery } from './userCopy.js';
export { userCopiesBulk, bulkProgressQuery } from './userCopiesBulk.js';
