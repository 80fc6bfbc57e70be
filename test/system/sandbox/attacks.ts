/**
 * The attack notebooks of the sandbox tests: each tries one thing an untrusted notebook should
 * not be able to do and prints what happened as one JSON line, which the tests read back from
 * the executed notebook. Paths and pids of the host are given to them: an attacker may guess
 * those, and the sandbox must hold anyway.
 */
import fs from 'node:fs';
import path from 'node:path';

export { notebookJson } from '../../helpers/notebooks.js';

/** Python: `report` collects findings; the cell prints them as JSON. */
const py = (body: string) =>
  `import json, os, signal, subprocess, sys, time\nreport = {}\n${body}\nprint(json.dumps(report))`;

/** What the kernel sees of its environment and privileges. */
export const environment = (secretFile: string) =>
  py(`
report['environ'] = dict(os.environ)
report['proc_environ'] = open('/proc/self/environ', 'rb').read().decode(errors='replace')
report['uid'], report['euid'], report['groups'] = os.getuid(), os.geteuid(), os.getgroups()
status = dict(line.split(':', 1) for line in open('/proc/self/status').read().splitlines())
report['cap_eff'], report['no_new_privs'] = status['CapEff'].strip(), status['NoNewPrivs'].strip()
report['pids'] = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
others = {}
for p in report['pids']:
    try:
        others[p] = open(f'/proc/{p}/environ', 'rb').read().decode(errors='replace')
    except OSError as e:
        others[p] = e.strerror
report['other_environs'] = others
try:
    report['secret_file'] = open(${JSON.stringify(secretFile)}).read()
except OSError as e:
    report['secret_file'] = e.strerror
report['root'] = sorted(os.listdir('/'))
report['cgroup'] = open('/proc/self/cgroup').read()
import stat
report['dir_fds'] = []  # an inherited descriptor of a host folder would be a way out (openat)
for fd in os.listdir('/proc/self/fd'):
    try:
        if stat.S_ISDIR(os.fstat(int(fd)).st_mode):
            report['dir_fds'].append(os.readlink(f'/proc/self/fd/{fd}'))
    except OSError:
        pass`);

/** Writes to every place of the service it can name, directly and through `..`. */
export function writes(targets: Record<string, string>, gitConfig: string) {
  return py(`
targets = ${JSON.stringify(targets)}
for name, target in targets.items():
    try:
        with open(target, 'a') as f:
            f.write('\\n[core]\\n\\tfsmonitor = touch /tmp/nblc-pwned\\n')
        report[name] = 'written'
    except OSError as e:
        report[name] = e.strerror
r = subprocess.run(['git', 'config', '--file', ${JSON.stringify(gitConfig)}, 'core.fsmonitor', 'touch /tmp/nblc-pwned'], capture_output=True, text=True)
report['git_config'] = r.returncode
for d in ['/proc/1/root', '/proc/self/cwd/../../..']:
    report['listing ' + d] = sorted(os.listdir(d))`);
}

/** Processes meant to outlive the notebook: a new session, a setsid'ed double fork, setsid(1). */
export const daemons = (marker: string) =>
  py(`
sleeper = [sys.executable, '-c', 'import time; time.sleep(600)']
subprocess.Popen(sleeper + ['${marker}-session'], start_new_session=True)
pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, sleeper + ['${marker}-daemon'])
    os._exit(0)
os.waitpid(pid, 0)
subprocess.Popen(['setsid', '-f'] + sleeper + ['${marker}-setsid'])
time.sleep(1)
seen = []
for p in os.listdir('/proc'):
    try:
        if '${marker}' in open(f'/proc/{p}/cmdline').read():
            seen.append(int(p))
    except (OSError, ValueError):
        pass
report['running'] = len(seen)`);

/** Signals to the service's processes (whose host pids an attacker may know). */
export const signals = (pids: Record<string, number>) =>
  py(`
for name, pid in ${JSON.stringify(pids)}.items():
    for sig in (signal.SIGKILL, signal.SIGSTOP):
        try:
            os.kill(pid, sig)
            report[f'{name} {sig.name}'] = 'sent'
        except OSError as e:
            report[f'{name} {sig.name}'] = e.strerror
try:
    os.kill(-1, signal.SIGKILL)  # everyone this process may signal
    report['everyone'] = 'sent'
except OSError as e:
    report['everyone'] = e.strerror`);

/** Processes without end: the notebook's cgroup stops them at pids.max. */
export const forkBomb = py(`
children = []
try:
    for _ in range(1500):
        children.append(subprocess.Popen(['sleep', '600']))
except OSError as e:
    report['stopped'] = e.strerror
report['started'] = len(children)`);

/** The repository layout a notebook relies on: data beside its folder, a module above it. */
export const repository = py(`
report['stars'] = open('../data/stars.csv').read()
sys.path.insert(0, '..')
import helpers
report['helper'] = helpers.answer()
open('output.csv', 'w').write('written in its own folder')
report['own'] = open('output.csv').read()
report['cwd'] = os.getcwd()`);

/** Memory of the notebook's processes together: one allocation beyond the limit. */
export const memoryHog = (bytes: number) => `x = b'1' * ${bytes}\nprint(len(x))`;

/** Every regular file below `root` with its contents (to compare before/after). */
export function snapshotFiles(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(p, fs.readFileSync(p, 'utf8'));
    }
  };
  walk(root);
  return out;
}

/**
 * A module committed beside a notebook as `ipykernel_launcher.py` or `pathlib.py` (which
 * `python -m ipykernel_launcher` would find first in the notebook's folder): it plants links to a
 * root-only file wherever a sandbox error was or might be read from, then exits, so that a
 * privileged reader would copy the file's first line into the notebook's message.
 */
export const shadowLauncher = (name: string, tokenFile: string) => `import os, sys
print(${JSON.stringify(`${name} ran instead of the real launcher`)}, flush=True)
targets = ['../sandbox-error', '/tmp/sandbox-error', 'sandbox-error']
if '-f' in sys.argv:
    runtime = os.path.dirname(sys.argv[sys.argv.index('-f') + 1])
    targets += [os.path.join(runtime, 'sandbox-error'), os.path.join(runtime, '..', 'sandbox-error')]
for target in targets:
    try:
        os.remove(target)
    except OSError:
        pass
    try:
        os.symlink(${JSON.stringify(tokenFile)}, target)
    except OSError:
        pass
os._exit(1)
`;
