/**
 * The one way nblc writes HTML: Hono's `html` tagged template, which escapes every interpolation.
 * Everything a notebook produced (paths, evalues, tracebacks, package names) is attacker-controlled
 * and only ever enters a page as an interpolation; the few `raw` strings are our own constants.
 * Shared by the report pages (src/views) and the dashboard (src/api/dashboard).
 */
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

export type Html = HtmlEscapedString;

/** hono's `html`, which is synchronous when nothing interpolated is a promise (never, here). */
export function h(strings: TemplateStringsArray, ...values: unknown[]): Html {
  const out = html(strings, ...values);
  if (out instanceof Promise) throw new Error('an HTML template interpolated a promise');
  return out;
}

export { raw };
