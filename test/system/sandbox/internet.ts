/**
 * "The internet" for the network tests: a network namespace the test creates holding an address
 * of TEST-NET-2 (198.51.100.0/24), routed from the host over a veth pair, with a server that
 * greets whoever connects; only a kernel's outbound path (slirp4netns, from the host) leads there.
 * Also a private address in it (172.31.251.x, closed to kernels by default) listening on two
 * ports. Each test process claims its own slot (namespace, veth, /30 and private address), so
 * tests running at the same time never share a route.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';

/** Slots of 198.51.100.0/24 in /30s (.0 is not used: .1 stays the documented address). */
const SLOTS = 63;

/** Why the network tests cannot run here (they need root, slirp4netns and iproute2), or false. */
export const cannotRun: string | false =
  process.getuid?.() === 0 && fs.existsSync('/usr/bin/slirp4netns') && fs.existsSync('/usr/sbin/ip')
    ? false
    : 'needs root, slirp4netns and iproute2 (scripts/setup.sh)';

/** The host's own (not loopback) IPv4 address, which a kernel must not reach either. */
export const hostAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

/**
 * A stand-in of a service on the host (`host`, a free port): greets whoever connects and notes
 * `name` in `connected`; kept in `listeners` for the test to close. Resolves to its port.
 */
export async function listenGreeting(
  name: string,
  host: string,
  connected: string[],
  listeners: net.Server[],
): Promise<number> {
  const server = net.createServer((s) => {
    connected.push(name);
    s.end(`hello from ${name}\n`);
  });
  await new Promise<void>((res) => server.listen(0, host, res));
  listeners.push(server);
  return (server.address() as net.AddressInfo).port;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

/** The addresses of slot `n`: the internet's, the host's end of the veth, the private one. */
function slotAddresses(n: number) {
  return { internet: `198.51.100.${4 * n + 1}`, host: `198.51.100.${4 * n + 2}`, internal: `172.31.251.${n + 1}` };
}

/**
 * Starts the namespace and its servers (as root, with iproute2) in the first free slot; `stop`
 * removes them. A step that fails removes what the earlier ones made.
 */
export async function startInternet(python: string) {
  let slot = -1;
  for (let i = 0; i < SLOTS && slot < 0; i++) {
    const n = (process.pid + i) % SLOTS;
    try {
      ip('netns', 'add', `nblc-inet-s${n}`); // fails when taken: the claim is atomic
      slot = n;
    } catch {
      // another test's, or one left behind: the next
    }
  }
  if (slot < 0) throw new Error('no free slot for the internet stand-in (ip netns list: nblc-inet-s*)');
  const ns = `nblc-inet-s${slot}`;
  const veth = `nblcv${slot}`;
  const { internet, host, internal } = slotAddresses(slot);
  let child: ChildProcess | undefined;
  const stop = () => {
    child?.kill('SIGKILL');
    for (const args of [
      ['route', 'del', `${internal}/32`],
      ['link', 'del', veth],
      ['netns', 'del', ns],
    ]) {
      try {
        ip(...args);
      } catch {
        // already gone, or never made
      }
    }
  };
  try {
    ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ip('addr', 'add', `${host}/30`, 'dev', veth);
    ip('link', 'set', veth, 'up');
    ip('-n', ns, 'addr', 'add', `${internet}/30`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'addr', 'add', `${internal}/32`, 'dev', 'eth0');
    ip('route', 'add', `${internal}/32`, 'via', internet, 'dev', veth);
    // Every socket listens before "ready" is printed: a probe right after never finds a port closed.
    const server = `import socket, threading
def listening(host, port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port)); s.listen(64)
    return s
def serve(s, name):
    while True:
        c, _ = s.accept(); c.sendall(b'hello from ' + name + b'\\n'); c.close()
socks = [(listening('${internet}', 8080), b'the internet'), (listening('${internal}', 5432), b'internal 5432'), (listening('${internal}', 6432), b'internal 6432')]
for s, name in socks:
    threading.Thread(target=serve, args=(s, name), daemon=True).start()
print('ready', flush=True)
threading.Event().wait()`;
    const started = spawn('ip', ['netns', 'exec', ns, python, '-c', server], { stdio: ['ignore', 'pipe', 'inherit'] });
    child = started;
    await new Promise<void>((resolve, reject) => {
      started.stdout!.once('data', () => resolve());
      started.once('exit', (code) => reject(new Error(`the internet stand-in exited (${code}) before it was ready`)));
    });
  } catch (err) {
    stop();
    throw err;
  }
  return { internet, internal, stop };
}

/** Python for a cell: tries each target and prints {name: "connected: <greeting>" | strerror} as JSON. */
export const probe = (targets: Record<string, [string, number]>) => `import json, socket
report = {}
for name, (host, port) in ${JSON.stringify(targets)}.items():
    s = socket.socket(); s.settimeout(5)
    try:
        s.connect((host, port)); report[name] = 'connected: ' + s.recv(100).decode().strip()
    except OSError as e:
        report[name] = e.strerror or type(e).__name__
    s.close()
report['resolv.conf'] = open('/etc/resolv.conf').read()
print(json.dumps(report))`;
