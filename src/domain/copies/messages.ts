/**
 * The messages of the copy workflows (userCopy, userCopiesBulk), by name: the workflows handle them
 * and the client sends them, so they live below both and the client needs the workflows as types only.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { BulkProgress, CopyRequest, CopyResult, UserCopyStatus } from './model.js';

export const copyRequestUpdate = defineUpdate<CopyResult, [CopyRequest]>('copy');
export const userCopyStatusQuery = defineQuery<UserCopyStatus>('status');
export const bulkProgressQuery = defineQuery<BulkProgress>('progress');
