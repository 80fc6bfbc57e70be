/**
 * The settings a notebook ran with, each beside where it came from (its contract, `.nblc.yml`,
 * the run, the service's defaults): in the report's row of every notebook, collapsed.
 */
import type { NotebookSettings, SettingKey } from '../../../domain/runs/contract.js';
import { skipText } from '../../../domain/runs/contract.js';
import { h, type Html } from '../../template.js';

/** The settings in the order pages list them, with how each value reads. */
const SHOWN: Array<[SettingKey, string, (s: NotebookSettings) => string]> = [
  ['timeoutS', 'timeout', (s) => `${s.timeoutS} s`],
  ['cellTimeoutS', 'cell timeout', (s) => `${s.cellTimeoutS} s`],
  ['retries', 'retries', (s) => String(s.retries)],
  ['memory', 'memory', (s) => (s.memory === '0' ? 'no limit' : s.memory)],
  ['allowErrors', 'errors allowed', (s) => (s.allowErrors ? 'yes' : 'no')],
  ['needs', 'needs', (s) => s.needs.join(', ') || '–'],
  [
    'parameters',
    'parameters',
    (s) =>
      Object.entries(s.parameters)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ') || '–',
  ],
  ['skip', 'skip', (s) => (s.skip ? skipText(s.skip) : '–')],
  ['interactive', 'interactive', (s) => (s.interactive ? 'yes' : 'no')],
];

/** One line per setting: name, value, source (settings no layer set are left out, but the defaults). */
export function settingsDetails(s: NotebookSettings | undefined): Html | '' {
  if (!s) return '';
  const rows = SHOWN.filter(([key]) => s.sources[key] !== undefined).map(
    ([key, name, value]) =>
      h`<tr><th>${name}</th><td>${value(s)}</td><td class="src">${s.sources[key] ?? ''}</td></tr>`,
  );
  return h`<details class="settings"><summary>settings</summary><table>${rows}</table></details>`;
}

export const SETTINGS_CSS = `
details.settings summary { color: var(--muted); font-size: 12px; }
details.settings table { font-size: 12px; border-collapse: collapse; margin: 2px 0 4px; }
details.settings th { text-align: left; font-weight: 500; padding: 1px 10px 1px 0; }
details.settings td { padding: 1px 10px 1px 0; }
details.settings td.src { color: var(--muted); }
tr.skipped td { opacity: 0.8; }
`;

/** Why a merge's or a pull request's change selected the notebook (impact.ts), on one line. */
export function selectionLine(why: readonly string[] | undefined): Html | '' {
  if (!why?.length) return '';
  return h`<div class="msg">selected: ${why.join('; ')}</div>`;
}

/** Beside the causes: datasets that several failures read (catalog.ts), a hint at the data service. */
export function sharedDatasetsLine(
  shared: ReadonlyArray<{ dataset: string; notebooks: string[] }> | undefined,
): Html | '' {
  if (!shared?.length) return '';
  const items = shared
    .slice(0, 10)
    .map((s) => h`<li>${s.notebooks.length} of the failures read <b>${s.dataset}</b></li>`);
  return h`<section class="changes causes shared-datasets"><h2>Shared datasets</h2><ul>${items}</ul></section>`;
}
