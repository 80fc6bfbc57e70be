/**
 * The demo's user-copy steps: after the first publish the user `ada` gets her copy and edits a
 * notebook; after the second publish (which changes that notebook upstream) her copy is updated
 * in place: her edit stays, the upstream version is written beside it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { requestCopy } from '../clients/copies/client.js';
import type { Stack } from '../process/stack.js';

const USER = 'ada';
const EDITED = '01_GettingStarted/Hello World.ipynb';

type Say = (s?: string) => void;

export async function provisionDemoUser(stack: Stack, say: Say): Promise<void> {
  // The platform creates the account's home before calling nblc (as root, nblc does not guess owners).
  await fs.mkdir(path.join(stack.config.usersDir, USER), { recursive: true });
  const res = await requestCopy(stack.client, stack.config, USER, { mode: 'provision' });
  say(`   user ${USER} provisioned (workflow ${res.workflowId}): ${res.message}`);
  say(`     ${res.path}`);
  if (res.link) say(`     ${res.link.path} -> ${res.link.target}`);
  const notebook = path.join(res.path, EDITED);
  const nb = JSON.parse(await fs.readFile(notebook, 'utf8')) as { cells: Array<Record<string, unknown>> };
  nb.cells.push({ id: 'ada-1', cell_type: 'markdown', metadata: {}, source: "Ada's notes: try this on M31 next." });
  await fs.writeFile(notebook, JSON.stringify(nb, null, 1));
  say(`   ${USER} edits notebooks/${EDITED} in her copy`);
}

export async function updateDemoUser(stack: Stack, say: Say): Promise<void> {
  const res = await requestCopy(stack.client, stack.config, USER, { mode: 'update' });
  say(`   update of ${USER}'s copy: ${res.message}`);
  for (const f of res.files) {
    const note =
      f.outcome === 'conflict'
        ? `  (her edit kept; the upstream version is beside it: ${path.posix.basename(f.upstreamCopy!)})`
        : '';
    say(`     ${f.outcome.padEnd(10)} ${f.path}${note}`);
  }
  const conflict = res.files.find((f) => f.path === EDITED);
  if (conflict?.outcome !== 'conflict') throw new Error(`expected a conflict on ${EDITED}, got ${conflict?.outcome}`);
  const mine = await fs.readFile(path.join(res.path, EDITED), 'utf8');
  if (!mine.includes("Ada's notes")) throw new Error(`${USER}'s edit was lost`);
}
