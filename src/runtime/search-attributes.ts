/**
 * Every custom search attribute nblc sets, from each stage's model: the one list that the
 * embedded server, the compose setup service and the tests register.
 */
import { COPY_SA } from '../copies/model.js';
import { RUN_SA } from '../runs/model.js';
import { SYNC_SA } from '../sync/model.js';

export const SEARCH_ATTRIBUTES = [...Object.values(SYNC_SA), ...Object.values(RUN_SA), ...Object.values(COPY_SA)];
