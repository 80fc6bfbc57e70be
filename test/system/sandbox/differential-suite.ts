/**
 * The notebooks of the differential test (differential.test.ts): the repository's own supernotebook
 * as it is committed, and notebooks written to stress what sandboxes break, each doing what real
 * science notebooks do (the platform's suite failed on `!pip`, on a sub-folder file opened
 * read-write). Kept apart from the test so the suite reads as one list.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../../src/platform/config.js';
import { notebookJson } from '../../helpers/notebooks.js';

/** One notebook: its cells and where nbconvert stops (null: passes), or the committed file it is. */
export interface SuiteNotebook {
  cells?: string[];
  copyOf?: string;
  failsAt: number | null;
  /** Passes in place, fails under nblc by design (no route to the host's services, nothing writable
   * outside the notebook's folder): the words the result says. */
  byDesign?: RegExp;
}

/** 1 MiB of printed text: a large output that stays under NBLC_NOTEBOOK_OUTPUT_LIMIT. */
const BIG_LINES = 16 * 1024;

/** The suite; `hostPort` is a loopback port the test listens on (a host service, like the API). */
export function suite(hostPort: number): Record<string, SuiteNotebook> {
  return {
    // the operator's notebook, committed: calls the service's API (no token in HOME: fails at its first call)
    'supernotebook/nblc-tests.ipynb': { copyOf: 'supernotebook/nblc-tests.ipynb', failsAt: 3 },
    'bang.ipynb': {
      // IPython's `!` and %pip run the command on a pseudo-terminal ("out of pty devices" without one)
      cells: [
        '!echo bang-$((6*7))',
        "out = !echo captured\nassert out == ['captured'], out",
        'import sys\nv = !{sys.executable} -m pip --version\nassert v and v[0].startswith("pip "), v',
        '%pip --version',
      ],
      failsAt: null,
    },
    'bash.ipynb': {
      cells: [
        '%%bash\necho from-bash\ntest -w .\nls bash.ipynb',
        "import os, subprocess\nmain, side = os.openpty()\ntty = subprocess.run(['tty'], stdin=side, capture_output=True, text=True).stdout\nassert tty.startswith('/dev/pts/'), tty",
        "import pty, os\npid, fd = pty.fork()\nif pid == 0:\n    os.execvp('echo', ['echo', 'in-a-pty'])\nprint(os.read(fd, 100))\nos.waitpid(pid, 0)",
        "import subprocess\nassert subprocess.run('echo a | tr a b', shell=True, capture_output=True, text=True).stdout == 'b\\n'\nassert os.system('true') == 0",
      ],
      failsAt: null,
    },
    'folder/figures.ipynb': {
      // the platform's notebook that failed with PermissionError: a committed file in a sub-folder, read-write
      cells: [
        "with open('Figures/movie.mp4', 'r+b') as f:\n    f.write(b'frames')",
        "import os\nos.makedirs('Figures/new', exist_ok=True)\nopen('Figures/new/plot.png', 'w').write('png')",
        "assert open('Figures/movie.mp4', 'rb').read().startswith(b'frames')",
        // the atomic-save pattern: a temporary file beside the target, renamed over it
        "open('Figures/.movie.tmp', 'w').write('replaced')\nos.replace('Figures/.movie.tmp', 'Figures/movie.mp4')\nos.chmod('Figures/movie.mp4', 0o600)",
      ],
      failsAt: null,
    },
    'folder/helper.ipynb': {
      cells: [
        'import helper\nassert helper.answer() == 42',
        "assert open('../data/stars.csv').read().startswith('ra')",
        "assert open('notes.txt').read() == 'beside the notebook\\n'",
        // the executor's own memory bound (a soft RLIMIT_DATA) is not the kernel's
        'import resource\nsoft, hard = resource.getrlimit(resource.RLIMIT_DATA)\nassert soft == hard, (soft, hard)',
      ],
      failsAt: null,
    },
    'folder/links.ipynb': {
      // links committed in the repository, pointing inside it
      cells: [
        "assert open('../data/latest.csv').read().startswith('ra')",
        "import os\nassert sorted(os.listdir('shared')) == ['latest.csv', 'stars.csv'], os.listdir('shared')",
        "assert open('shared/stars.csv').read().startswith('ra')",
      ],
      failsAt: null,
    },
    'plots/savefig.ipynb': {
      cells: [
        "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nimport numpy as np\nimport os",
        "x = np.linspace(0, 6, 50)\nfig, ax = plt.subplots()\nax.plot(x, np.sin(x))\nos.makedirs('out/png', exist_ok=True)\nfig.savefig('out/png/sin.png')\nfig.savefig('committed/sin.pdf')",
        "assert os.path.getsize('out/png/sin.png') > 1000\nassert os.path.getsize('committed/sin.pdf') > 1000",
        '%matplotlib inline\nplt.plot([1, 2, 3])\nplt.show()',
      ],
      failsAt: null,
    },
    'process.ipynb': {
      cells: [
        'import multiprocessing as mp\ndef square(x):\n    return x * x\nwith mp.Pool(2) as pool:\n    assert pool.map(square, range(10)) == [x * x for x in range(10)]',
        'from concurrent.futures import ProcessPoolExecutor\nwith ProcessPoolExecutor(2) as ex:\n    assert list(ex.map(abs, [-1, -2])) == [1, 2]',
        'import threading, queue\nq = queue.Queue()\nts = [threading.Thread(target=q.put, args=(i,)) for i in range(8)]\n[t.start() for t in ts]\n[t.join() for t in ts]\nassert sorted(q.get() for _ in range(8)) == list(range(8))',
      ],
      failsAt: null,
    },
    'places/cwd.ipynb': {
      cells: [
        "import os\nassert os.path.basename(os.getcwd()) == 'places', os.getcwd()\nassert 'cwd.ipynb' in os.listdir('.')",
        "import tempfile\nwith tempfile.TemporaryDirectory() as d:\n    p = os.path.join(d, 'x')\n    open(p, 'w').write('t')\n    assert open(p).read() == 't'\nfd, name = tempfile.mkstemp()\nos.write(fd, b'x')\nos.close(fd)\nos.unlink(name)",
        "home = os.path.expanduser('~')\nos.makedirs(os.path.join(home, '.config', 'nbtest'), exist_ok=True)\nopen(os.path.join(home, '.config', 'nbtest', 'rc'), 'w').write('ok')",
        "import sqlite3\nos.makedirs('db', exist_ok=True)\nc = sqlite3.connect('db/cat.sqlite')\nc.execute('create table if not exists t (x)')\nc.execute('insert into t values (1)')\nc.commit()\nassert c.execute('select count(*) from t').fetchone()[0] >= 1",
        "%%writefile made_here.py\nVALUE = 'written by a cell'",
        "import made_here\nassert made_here.VALUE == 'written by a cell'",
      ],
      failsAt: null,
    },
    'with space/ünïcode notebook.ipynb': {
      cells: ["import os\nassert os.path.basename(os.getcwd()) == 'with space'\nprint('ünïcode ✓')"],
      failsAt: null,
    },
    'big-output.ipynb': {
      // large, under the cap: kept whole
      cells: [`for i in range(${BIG_LINES}):\n    print(f"{i:08d}" + "x" * 55)`, "print('after')"],
      failsAt: null,
    },
    'failing.ipynb': {
      cells: ['x = 1', 'print(x)', "raise ValueError('the notebook’s own failure')", "print('never')"],
      failsAt: 2,
    },
    'fails-at-3.ipynb': {
      cells: [
        "import os\nos.makedirs('scratch', exist_ok=True)",
        "open('scratch/a.txt', 'w').write('a')",
        '!ls scratch',
        "open('scratch/missing.txt').read()",
        "print('never')",
      ],
      failsAt: 3,
    },
    'folder/parent-write.ipynb': {
      // results written beside the data, one folder up: in place that is the checkout
      cells: ["open('../data/derived.csv', 'w').write('x')", "print('wrote')"],
      failsAt: null,
      byDesign: /Read-only file system.*only the notebook's own folder.*writable/s,
    },
    'host-service.ipynb': {
      // the host's own services (the API, Temporal, a database on loopback): by design out of reach
      cells: [
        'import socket',
        `s = socket.create_connection(('127.0.0.1', ${hostPort}), timeout=5)\nassert s.recv(64).startswith(b'host-service')`,
        "print('reached the host')",
      ],
      failsAt: null,
      byDesign: /NBLC_KERNEL_NETWORK=outbound.*host's loopback.*unreachable/s,
    },
  };
}

/** The tree the suite runs in, as a commit would hold it: the notebooks and what they read. */
export function writeSuite(snapshot: string, notebooks: Record<string, SuiteNotebook>): string[] {
  const put = (rel: string, text: string | Buffer) => {
    fs.mkdirSync(path.dirname(path.join(snapshot, rel)), { recursive: true });
    fs.writeFileSync(path.join(snapshot, rel), text);
  };
  for (const [rel, nb] of Object.entries(notebooks))
    put(rel, nb.copyOf ? fs.readFileSync(path.join(PROJECT_ROOT, nb.copyOf)) : notebookJson(nb.cells ?? []));
  put('folder/Figures/movie.mp4', 'committed movie');
  put('folder/helper.py', 'def answer():\n    return 42\n');
  put('folder/notes.txt', 'beside the notebook\n');
  put('data/stars.csv', 'ra,dec\n1,2\n');
  put('plots/committed/.keep', '');
  fs.symlinkSync('stars.csv', path.join(snapshot, 'data', 'latest.csv'));
  fs.symlinkSync('../data', path.join(snapshot, 'folder', 'shared'));
  // the published cache is read-only, as on a worker: every folder
  const dirs: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(dir, e.name));
    dirs.push(dir);
  };
  walk(snapshot);
  for (const dir of dirs) fs.chmodSync(dir, 0o555);
  return dirs;
}
