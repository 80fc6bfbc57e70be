/**
 * A notebook's badge (`/public/badge/<path>.svg`): a small flat SVG, "notebook | passing", in
 * the colours users know from CI badges. Pure; every text is escaped.
 */
import { UNKNOWN, type NotebookHealth } from '../../domain/runs/health.js';
import { xmlAttr } from './report/text.js';

const COLOURS: Record<string, string> = { passing: '#2e7d32', skipped: '#757575', unknown: '#9e9e9e' };
const FAILING = '#c62828';

/** What the badge says of a notebook's health (null: not in the status). */
export function badgeMessage(health: NotebookHealth | null): string {
  if (!health || health.status === UNKNOWN) return 'unknown';
  if (health.status === 'passed') return 'passing';
  if (health.status === 'skipped') return 'skipped';
  return 'failing';
}

/** Text width estimate for Verdana 11px (what shields-style badges use). */
const width = (s: string) => Math.round(s.length * 6.5 + 10);

/** The SVG of a badge with `label` on the left and the health's word on the right. */
export function renderBadge(label: string, health: NotebookHealth | null): string {
  const message = badgeMessage(health);
  const colour = COLOURS[message] ?? FAILING;
  const l = xmlAttr(label.length > 40 ? `${label.slice(0, 39)}…` : label);
  const m = xmlAttr(message);
  const lw = width(label.length > 40 ? label.slice(0, 40) : label);
  const mw = width(message);
  const title = health?.skipReason ? `${m}: ${xmlAttr(health.skipReason)}` : m;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${lw + mw}" height="20" role="img" aria-label="${l}: ${m}">
<title>${l}: ${title}</title>
<rect width="${lw}" height="20" fill="#555"/><rect x="${lw}" width="${mw}" height="20" fill="${colour}"/>
<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">
<text x="${lw / 2}" y="14">${l}</text><text x="${lw + mw / 2}" y="14">${m}</text>
</g>
</svg>
`;
}
