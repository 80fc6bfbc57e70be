/**
 * Two kernel environments that differ in one package the test builds itself (issue 19's test):
 * a local wheel `dlstub` 1.0 and 2.0 (2.0 renames `load_data` to `fetch_data`, and fixes `scale`,
 * which 1.0 broke), each installed with pip (--no-index) into its own virtual environment made
 * off the project's Python, each registered as a kernelspec in a JUPYTER_PATH of its own:
 * `dl-current` (1.0) and `dl-next` (2.0). The environments see the project's .venv (ipykernel)
 * through a .pth file; their own site-packages come first, so dlstub is theirs.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../src/platform/config.js';

const run = promisify(execFile);
const PYTHON = path.join(PROJECT_ROOT, '.venv', 'bin', 'python');

const SOURCES: Record<'1.0' | '2.0', string> = {
  '1.0': [
    '__version__ = "1.0"',
    'def load_data(n):',
    '    return list(range(n))',
    'def scale(xs, factor):',
    '    return [x / 0 for x in xs]  # the bug 2.0 fixes',
    'def mean(xs):',
    '    return sum(xs) / len(xs)',
  ].join('\n'),
  '2.0': [
    '__version__ = "2.0"',
    'def fetch_data(n):',
    '    return list(range(n))',
    'def scale(xs, factor):',
    '    return [x * factor for x in xs]',
    'def mean(xs):',
    '    return sum(xs) / len(xs)',
  ].join('\n'),
};

/** Writes a wheel by the book (zip, dist-info, RECORD with sha256s), with only the standard library. */
const BUILD_WHEEL = `
import base64, hashlib, sys, zipfile
out, version, source = sys.argv[1], sys.argv[2], sys.stdin.read()
di = f"dlstub-{version}.dist-info"
files = {
    "dlstub/__init__.py": source,
    f"{di}/METADATA": f"Metadata-Version: 2.1\\nName: dlstub\\nVersion: {version}\\nSummary: nblc test stub\\n",
    f"{di}/WHEEL": "Wheel-Version: 1.0\\nGenerator: nblc-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
def digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
record = "".join(f"{n},{digest(t.encode())},{len(t.encode())}\\n" for n, t in files.items()) + f"{di}/RECORD,,\\n"
with zipfile.ZipFile(out, "w") as z:
    for n, t in files.items():
        z.writestr(n, t)
    z.writestr(f"{di}/RECORD", record)
`;

export interface DlstubKernels {
  /** For NBLC's config (JUPYTER_PATH): where both kernelspecs are. */
  jupyterPath: string;
  current: string;
  next: string;
}

/** Builds both wheels and environments under `dir` (made readable for the kernels' user). */
export async function dlstubKernels(dir: string): Promise<DlstubKernels> {
  await fs.mkdir(dir, { recursive: true });
  await fs.chmod(dir, 0o755);
  const base = await fs.realpath(
    (await run(PYTHON, ['-c', "import sysconfig; print(sysconfig.get_paths()['purelib'])"])).stdout.trim(),
  );
  const jupyterPath = path.join(dir, 'jupyter');
  const made = { current: 'dl-current', next: 'dl-next' } as const;
  for (const [kernel, version] of [
    [made.current, '1.0'],
    [made.next, '2.0'],
  ] as const) {
    const wheel = path.join(dir, `dlstub-${version}-py3-none-any.whl`);
    const child = execFile(PYTHON, ['-c', BUILD_WHEEL, wheel, version]);
    child.stdin!.end(SOURCES[version]);
    await new Promise<void>((resolve, reject) =>
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`wheel ${version}: exit ${code}`)))),
    );
    const venv = path.join(dir, `venv-${version}`);
    await run(PYTHON, ['-m', 'venv', '--system-site-packages', '--without-pip', venv]);
    const python = path.join(venv, 'bin', 'python');
    const purelib = (
      await run(python, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'])
    ).stdout.trim();
    // The project's packages (ipykernel) after the environment's own.
    await fs.writeFile(path.join(purelib, 'nblc-project.pth'), `${base}\n`);
    await run(PYTHON, ['-m', 'pip', '--python', python, 'install', '--no-index', '--no-deps', '--quiet', wheel]);
    const spec = path.join(jupyterPath, 'kernels', kernel);
    await fs.mkdir(spec, { recursive: true });
    await fs.writeFile(
      path.join(spec, 'kernel.json'),
      JSON.stringify({
        argv: [python, '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
        display_name: `dlstub ${version}`,
        language: 'python',
      }),
    );
  }
  await run('chmod', ['-R', 'a+rX', dir]);
  return { jupyterPath, ...made };
}
