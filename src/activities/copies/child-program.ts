/**
 * The program the child of as-owner.ts runs, and how to start it.
 *
 * Run from the TypeScript sources (as nblc is, through tsx), a child would load tsx and then
 * compile and load its modules: ~0.45 CPU-seconds per update. Instead the first update that needs
 * one bundles update-child.ts and what it imports into one plain JavaScript file, with the esbuild
 * that tsx itself uses (~0.2 s, once per process); a child then starts in ~0.1 s. The bundle goes
 * to a new directory of the worker's user (mkdtemp, then readable by all, writable by none else),
 * so no user can change what another user's child runs. Without esbuild, the child runs through
 * tsx, with its disk cache off: that cache lives in /tmp/tsx-<uid>, which any other user could
 * create first and fill with code this user's child would run.
 */
import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const ENTRY = path.join(path.dirname(here), `update-child${path.extname(here)}`);
const fromSources = path.extname(here) === '.ts';

export interface ChildProgram {
  args: string[];
  env: NodeJS.ProcessEnv;
}

interface Esbuild {
  build(opts: object): Promise<{ outputFiles: Array<{ contents: Uint8Array }> }>;
}

async function bundle(): Promise<ChildProgram> {
  const esbuild = createRequire(import.meta.resolve('tsx'))('esbuild') as Esbuild;
  const out = await esbuild.build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    logLevel: 'silent',
  });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nblc-update-child-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'update-child.mjs');
  await fs.writeFile(file, out.outputFiles[0]!.contents, { mode: 0o644 });
  await fs.chmod(dir, 0o755);
  return { args: [file], env: {} };
}

const throughTsx = (): ChildProgram => ({
  args: ['--import', import.meta.resolve('tsx'), ENTRY],
  env: { TSX_DISABLE_CACHE: '1', TSX_TSCONFIG_PATH: path.resolve(path.dirname(here), '../../../tsconfig.json') },
});

let program: Promise<ChildProgram> | null = null;

/** Node's arguments and environment (nothing of the worker's: it holds secrets) for a child. */
export function childProgram(): Promise<ChildProgram> {
  if (!fromSources) return Promise.resolve({ args: [ENTRY], env: {} });
  program ??= bundle().catch(() => throughTsx());
  return program;
}
