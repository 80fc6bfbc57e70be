/**
 * Every custom search attribute nblc sets, from each stage's model: the one list that the
 * embedded server, the compose setup service and the tests register.
 */
import { COPY_SA } from './copies/model.js';
import { RUN_SA } from './runs/model.js';
import { SYNC_SA } from './sync/model.js';

export const SEARCH_ATTRIBUTES = [...Object.values(SYNC_SA), ...Object.values(RUN_SA), ...Object.values(COPY_SA)];

/** The `temporal` CLI's names of the search attribute types (`--search-attribute Name=Type`). */
export const CLI_TYPE_NAMES: Record<string, string> = {
  KEYWORD: 'Keyword',
  TEXT: 'Text',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};
