/**
 * The messages of the sync workflow (repoSync), by name: the workflow handles them and the client
 * sends them, so they live below both and the client needs the workflow's code as types only.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Beacon, SyncStatus } from './model.js';

export const beaconSignal = defineSignal<[Beacon]>('beacon');
export const statusQuery = defineQuery<SyncStatus>('status');
