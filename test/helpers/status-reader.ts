/** A reader of status.json in another process, for the tests that rewrite it under its feet. */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { after } from 'node:test';

export interface Reads {
  /** Reads that parsed as a whole status file (with `notebooks` entries, when given). */
  ok: number;
  /** Reads that found no file, half a file, or another count of notebooks (-1: the reader died). */
  bad: number;
  /** Different `publishedCommit` values seen. */
  versions: number;
}

/**
 * Starts a process that parses `file` over and over until `stop` exists (or 10 minutes pass):
 * `started` once it reads, `reads` what it saw. A test that fails before writing `stop` stops
 * it in `after`.
 */
export function readInLoop(
  file: string,
  stop: string,
  notebooks?: number,
): { started: Promise<void>; reads: Promise<Reads> } {
  after(() => fs.writeFile(stop, '').catch(() => undefined));
  const reader = spawn(
    process.execPath,
    [
      '-e',
      `const fs = require('fs'); let ok = 0, bad = 0; const versions = new Set();
       fs.writeFileSync(${JSON.stringify(`${stop}.started`)}, '');
       const end = Date.now() + 600000; const want = ${JSON.stringify(notebooks ?? null)};
       while (!fs.existsSync(${JSON.stringify(stop)}) && Date.now() < end) {
         try { const s = JSON.parse(fs.readFileSync(${JSON.stringify(file)}, 'utf8'));
           const whole = s.version === 1 && typeof s.notebooks === 'object' && s.notebooks !== null;
           if (whole && (want === null || Object.keys(s.notebooks).length === want)) {
             ok++; versions.add(s.publishedCommit);
           } else bad++;
         } catch (e) { bad++; } }
       console.log(JSON.stringify({ ok, bad, versions: versions.size }));`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  reader.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const reads = new Promise<Reads>((resolve) =>
    reader.on('close', () => {
      try {
        resolve(JSON.parse(out) as Reads);
      } catch {
        resolve({ ok: 0, bad: -1, versions: 0 });
      }
    }),
  );
  const started = (async () => {
    while (
      !(await fs.stat(`${stop}.started`).then(
        () => true,
        () => false,
      ))
    )
      await new Promise((r) => setTimeout(r, 20));
  })();
  return { started, reads };
}
