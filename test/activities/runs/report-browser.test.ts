/**
 * report.html as a browser lays it out (Debian's chromium through playwright-core): every column
 * header's text stays inside its own cell, so "PEAK MEMORY" no longer runs into "KERNEL".
 * A screenshot per width is left in .nblc/test-artifacts/report/.
 *
 *   node --import tsx --test test/activities/runs/report-browser.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { PROJECT_ROOT } from '../../../src/platform/config.js';
import { mainRun } from '../../helpers/report-run.js';

const CHROMIUM = process.env.NBLC_CHROMIUM ?? '/usr/bin/chromium';
const noBrowser = existsSync(CHROMIUM)
  ? false
  : `no chromium at ${CHROMIUM}: run scripts/test-setup.sh as root (apt-get install chromium) or set NBLC_CHROMIUM`;
const ARTIFACTS = path.join(PROJECT_ROOT, '.nblc', 'test-artifacts', 'report');

interface HeaderBox {
  text: string;
  cell: { left: number; right: number; top: number; bottom: number };
  ink: { left: number; right: number; top: number; bottom: number };
}

describe('report.html in a browser', { skip: noBrowser }, () => {
  test('each column header fits its own cell, at a laptop and a narrow width', async () => {
    const { runDir } = await mainRun();
    await fs.mkdir(ARTIFACTS, { recursive: true });
    const browser = await chromium.launch({ executablePath: CHROMIUM });
    try {
      for (const width of [1280, 900]) {
        const page = await browser.newPage({ viewport: { width, height: 800 } });
        await page.goto(`file://${path.join(runDir, 'report.html')}`);
        // The rectangle of each header's text (its ink) against the rectangle of its cell.
        // A string, not a function: tsx would name the helpers inside with a __name the page lacks.
        const boxes = (await page.evaluate(`[...document.querySelectorAll('table.notebooks thead th')].map((th) => {
          const range = document.createRange();
          range.selectNodeContents(th);
          const box = (r) => ({ left: r.left, right: r.right, top: r.top, bottom: r.bottom });
          return { text: th.textContent, cell: box(th.getBoundingClientRect()), ink: box(range.getBoundingClientRect()) };
        })`)) as HeaderBox[];
        await page.screenshot({ path: path.join(ARTIFACTS, `notebooks-table-${width}.png`), fullPage: true });
        await page.close();
        assert.deepEqual(
          boxes.map((b) => b.text),
          ['Status', 'Notebook', 'Duration', 'CPU', 'Peak memory', 'Kernel', 'Attempts'],
        );
        for (const b of boxes) {
          assert.ok(
            b.ink.left >= b.cell.left - 0.5 && b.ink.right <= b.cell.right + 0.5,
            `at ${width}px "${b.text}" spills out of its cell: text ${b.ink.left}-${b.ink.right}, cell ${b.cell.left}-${b.cell.right}`,
          );
        }
        boxes.reduce((left, right) => {
          assert.ok(left.ink.right <= right.ink.left, `at ${width}px "${left.text}" overlaps "${right.text}"`);
          return right;
        });
      }
    } finally {
      await browser.close();
    }
  });
});
