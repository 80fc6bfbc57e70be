// The workflow bundle's entry point: every workflow type the worker registers.
export { repoSync, beaconSignal, statusQuery } from './sync/repoSync.js';
export { testNotebooks, progressQuery } from './runs/testNotebooks.js';
export { userCopy, copyRequestUpdate, userCopyStatusQuery } from './copies/userCopy.js';
export { userCopiesBulk, bulkProgressQuery } from './copies/userCopiesBulk.js';
