// The workflow bundle's entry point: every workflow type the worker registers.
export { repoSync, beaconSignal, statusQuery } from './repoSync.js';
