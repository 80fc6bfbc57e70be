/**
 * The real-suite-shaped repository the benchmarks share: ~300 files, ~140 MB, like
 * noaodatalab/notebooks-latest (notebooks with embedded base64 PNG outputs in folders up to five
 * deep with spaces in the names, binary data files, scripts, a README). Deterministic names and
 * sizes (seeded); the bytes of the images are random.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** A suite like the real repository's: mostly notebooks carrying PNG outputs, some data. */
export async function generateSuite(dest: string): Promise<{ files: number; bytes: number }> {
  const topics = [
    'Galaxies',
    'Stars and Stellar Populations',
    'Quasars and AGN',
    'Solar System',
    'Surveys',
    'Time Domain',
  ];
  const levels = ['01_GettingStarted', '02_DataAccessAndTools', '03_ScienceExamples', '04_HowTos', '05_Contrib'];
  let files = 0;
  let bytes = 0;
  const write = async (rel: string, content: string | Buffer, mode = 0o444) => {
    const p = path.join(dest, rel);
    await fs.mkdir(path.dirname(p), { recursive: true });
    await fs.writeFile(p, content, { mode });
    files++;
    bytes += Buffer.byteLength(content);
  };
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 250; i++) {
    const level = levels[i % levels.length]!;
    const topic = topics[i % topics.length]!;
    const deep = i % 3 === 0 ? `/Deep Dives/Part ${i % 4}` : '';
    const cells = [];
    const images = 1 + Math.floor(rand() * 3);
    for (let c = 0; c < images; c++) {
      const png = randomBytes(60_000 + Math.floor(rand() * 200_000)).toString('base64');
      cells.push({
        cell_type: 'code',
        execution_count: c + 1,
        metadata: {},
        source: [`fig, ax = plt.subplots()\n`, `ax.imshow(cutout_${c})\n`],
        outputs: [
          { output_type: 'display_data', data: { 'image/png': png, 'text/plain': ['<Figure>'] }, metadata: {} },
        ],
      });
    }
    const nb = { nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: 'python3' } }, cells };
    await write(
      `${level}/${topic}${deep}/${String(i).padStart(3, '0')} ${topic} example ${i}.ipynb`,
      JSON.stringify(nb, null, 1),
    );
  }
  for (let i = 0; i < 35; i++)
    await write(`03_ScienceExamples/data/catalog part ${i}.fits`, randomBytes(500_000 + Math.floor(rand() * 900_000)));
  for (let i = 0; i < 15; i++)
    await write(`04_HowTos/scripts/helper_${i}.py`, `print(${i})\n`.repeat(200), i % 2 ? 0o555 : 0o444);
  await write('README.md', '# Notebooks\n'.repeat(100));
  return { files, bytes };
}
