/** The parts of GitHub webhook payloads nblc relies on, validated with zod. */
import { z } from 'zod';

const sha = z.string().regex(/^[0-9a-f]{40}$/, 'a full 40-hex commit SHA');
export const ZERO_SHA = '0'.repeat(40);

export const pushPayload = z.object({
  ref: z.string().min(1),
  before: sha,
  after: sha,
  deleted: z.boolean().optional(),
  repository: z.object({ full_name: z.string().min(1) }),
  pusher: z.object({ name: z.string() }).optional(),
  sender: z.object({ login: z.string() }).optional(),
});
export type PushPayload = z.infer<typeof pushPayload>;

/** GitHub's X-GitHub-Delivery is a GUID; accept any short token-like ID, nothing that could inject. */
export const deliveryId = z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/);

/** Why an authentic push is not for us, or null when it should be synced. */
export function ignoreReason(p: PushPayload, repoFullName: string, branch: string): string | null {
  if (p.repository.full_name.toLowerCase() !== repoFullName.toLowerCase()) {
    return `repository ${p.repository.full_name} is not ${repoFullName}`;
  }
  if (p.ref.startsWith('refs/tags/')) return `tag push ${p.ref}`;
  if (p.deleted || p.after === ZERO_SHA) return `branch deletion of ${p.ref}`;
  if (p.ref !== `refs/heads/${branch}`) return `push to ${p.ref}, not refs/heads/${branch}`;
  return null;
}
