/**
 * Links to a run's report that a browser can open without the bearer token: the path carries
 * an expiry and an HMAC of (run, expiry) under NBLC_API_TOKEN, as a folder, so the report's
 * relative links (executed/<notebook>) keep it. They are handed out only to holders of the
 * operator token (GET /runs/:id) and never enter workflow histories.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../secret.js';

export const REPORT_LINK_TTL_S = 24 * 3600;
/** `~<expiry>.<mac>`: a path segment no results directory uses. */
const GRANT = /^~(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

const mac = (token: Secret, runId: string, expires: number) =>
  createHmac('sha256', token.reveal()).update(`nblc report link v1\0${runId}\0${expires}`).digest('base64url');

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
  const expected = Buffer.from(mac(token, runId, expires));
  const given = Buffer.from(m[2]!);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid report link';
  if (expires * 1000 < nowMs) return 'this report link has expired: GET /runs/:id gives a new one';
  return null;
}

export const isGrant = (segment: string | undefined) => !!segment && segment.startsWith('~');
