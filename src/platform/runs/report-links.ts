/**
 * Links to a run's report that a browser can open without the bearer token: the path carries
 * an expiry and an HMAC of (run, expiry) under NBLC_LINK_SECRET (or, unset, NBLC_API_TOKEN), as a folder, so the report's
 * relative links (executed/<notebook>) keep it. They are handed out only to holders of the
 * operator token (GET /runs/:id) and never enter workflow histories.
 */
import { macOf, sameToken, type Secret } from '../secret.js';

export const REPORT_LINK_TTL_S = 24 * 3600;
/** `~<expiry>.<mac>`: a path segment no results directory uses. */
const GRANT = /^~(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

const mac = (token: Secret, runId: string, expires: number) =>
  macOf(token, 'nblc report link v1', runId, String(expires));

/** The path of the run's report.html under a grant valid until now + ttl. */
export function reportLink(token: Secret, runId: string, nowMs = Date.now(), ttlS = REPORT_LINK_TTL_S): string {
  const expires = Math.floor(nowMs / 1000) + ttlS;
  return `/runs/${encodeURIComponent(runId)}/~${expires}.${mac(token, runId, expires)}/report.html`;
}

/** Why a grant segment does not open this run's files now, or null when it does. */
export function grantProblem(token: Secret, runId: string, grant: string, nowMs = Date.now()): string | null {
  const m = GRANT.exec(grant);
  if (!m) return 'malformed report link';
  const expires = Number(m[1]);
  if (!sameToken(m[2]!, mac(token, runId, expires))) return 'invalid report link';
  if (expires * 1000 < nowMs) return 'this report link has expired: GET /runs/:id gives a new one';
  return null;
}

export const isGrant = (segment: string | undefined) => !!segment && segment.startsWith('~');
