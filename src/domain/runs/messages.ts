/**
 * The messages of the test-run workflow (testNotebooks), by name: the workflow answers them and the
 * client asks, so they live below both and the client needs the workflow's code as types only.
 */
import { defineQuery } from '@temporalio/workflow';
import type { TestRunProgress } from './model.js';

export const progressQuery = defineQuery<TestRunProgress>('progress');
