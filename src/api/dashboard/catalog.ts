/**
 * A notebook's catalog entry on the dashboard (storage/runs/catalog.ts): its header cell's fields
 * and its contract, in its page's facts and beside it in the list, and the list's filters by
 * dataset and keyword.
 */
import { skipText } from '../../domain/runs/contract.js';
import type { CatalogEntry } from '../../storage/runs/catalog.js';
import { h, type Html } from './layout.js';

/** The entry matches the filters (case-insensitive, whole dataset / keyword). */
export function matchesCatalog(entry: CatalogEntry | undefined, dataset?: string, keyword?: string): boolean {
  const has = (list: string[] | undefined, want: string) =>
    (list ?? []).some((x) => x.toLowerCase() === want.toLowerCase());
  return (!dataset || has(entry?.header?.datasets, dataset)) && (!keyword || has(entry?.header?.keywords, keyword));
}

/** Every dataset and keyword of the catalog, sorted, for the filters' choices. */
export function catalogChoices(catalog: Readonly<Record<string, CatalogEntry>>): {
  datasets: string[];
  keywords: string[];
} {
  const datasets = new Set<string>();
  const keywords = new Set<string>();
  for (const e of Object.values(catalog)) {
    e.header?.datasets?.forEach((d) => datasets.add(d));
    e.header?.keywords?.forEach((k) => keywords.add(k));
  }
  const sorted = (s: Set<string>) => [...s].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { datasets: sorted(datasets), keywords: sorted(keywords) };
}

/** Under the notebook's name in the list: its datasets, keywords and skip reason. */
export function catalogLine(entry: CatalogEntry | undefined): Html | null {
  const header = entry?.header;
  const skip = entry?.contract?.skip;
  if (!header?.datasets?.length && !header?.keywords?.length && !skip) return null;
  return h`<div class="muted">${header?.datasets?.length ? h`datasets: ${header.datasets.join(', ')} ` : null}${
    header?.keywords?.length ? h`· keywords: ${header.keywords.join(', ')} ` : null
  }${skip ? h`· skipped: ${skipText(skip)}` : null}</div>`;
}

/** The notebook page's facts from its header cell and its contract (settings it last ran with). */
export function catalogFacts(entry: CatalogEntry | undefined): Html | null {
  if (!entry) return null;
  const { header, contract } = entry;
  const fact = (name: string, value: string | undefined) => (value ? h`<dt>${name}</dt><dd>${value}</dd>` : null);
  const declared = contract
    ? Object.entries(contract.sources ?? {})
        .filter(([, source]) => /metadata|\.nblc\.yml/.test(String(source)))
        .map(([key, source]) => `${key} (${String(source)})`)
        .join('; ')
    : '';
  return h`${fact('Author', header?.author)}${fact('Version', header?.version)}${fact(
    'Datasets',
    header?.datasets?.join(', '),
  )}${fact('Keywords', header?.keywords?.join(', '))}${fact('Skipped', contract?.skip ? skipText(contract.skip) : undefined)}${fact(
    'Contract',
    contract
      ? `timeout ${contract.timeoutS} s, cell timeout ${contract.cellTimeoutS} s, retries ${contract.retries}, memory ${contract.memory === '0' ? 'no limit' : contract.memory}${contract.needs?.length ? `, needs ${contract.needs.join(', ')}` : ''}${declared ? `; declared: ${declared}` : ''}`
      : undefined,
  )}`;
}
