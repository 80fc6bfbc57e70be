/**
 * "The internet" for the network tests: a network namespace the test creates holding 198.51.100.1
 * (TEST-NET-2), routed from the host over a veth pair, with a server that greets whoever
 * connects; only a kernel's outbound path (slirp4netns, from the host) leads there. Also a
 * private address in it (172.31.251.1, closed to kernels by default) listening on two ports.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';

export const INTERNET = '198.51.100.1';
export const INTERNAL = '172.31.251.1';

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

/** Starts the namespace and its servers (as root, with iproute2); `stop` removes them. */
export async function startInternet(python: string, tag = String(process.pid)) {
  const ns = `nblc-inet-${tag}`;
  const veth = `nblcv${Number(tag) % 100000 || tag.slice(0, 8)}`;
  ip('netns', 'add', ns);
  ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
  ip('addr', 'add', '198.51.100.2/24', 'dev', veth);
  ip('link', 'set', veth, 'up');
  ip('-n', ns, 'addr', 'add', `${INTERNET}/24`, 'dev', 'eth0');
  ip('-n', ns, 'link', 'set', 'eth0', 'up');
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  ip('-n', ns, 'addr', 'add', `${INTERNAL}/32`, 'dev', 'eth0');
  ip('route', 'add', `${INTERNAL}/32`, 'via', INTERNET, 'dev', veth);
  const server = `import socket, threading
def serve(host, port, name):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port)); s.listen(8)
    while True:
        c, _ = s.accept(); c.sendall(b'hello from ' + name + b'\\n'); c.close()
for args in (('${INTERNET}', 8080, b'the internet'), ('${INTERNAL}', 5432, b'internal 5432'), ('${INTERNAL}', 6432, b'internal 6432')):
    threading.Thread(target=serve, args=args, daemon=True).start()
import time; time.sleep(0.5); print('ready', flush=True)
threading.Event().wait()`;
  const child: ChildProcess = spawn('ip', ['netns', 'exec', ns, python, '-c', server], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((res) => child.stdout!.once('data', () => res()));
  const stop = () => {
    child.kill('SIGKILL');
    for (const args of [
      ['link', 'del', veth],
      ['netns', 'del', ns],
    ]) {
      try {
        ip(...args);
      } catch {
        // already gone
      }
    }
  };
  return { stop };
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
