/**
 * Real receivers on loopback for what nblc sends out: an incoming-webhook endpoint (a chat
 * service), an SMTP server (smtp-server), and a GitHub API stand-in that records the requests
 * octokit makes and answers them as GitHub does. Each is closed when the test file ends.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';
import { SMTPServer } from 'smtp-server';

export interface Recorded {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

export interface HttpReceiver {
  url: string;
  requests: Recorded[];
  /** Answer every request with this status (default 200 / 201). */
  failWith: number | null;
  /** Answer this many of the next requests with 503 (a hiccup). */
  failNext: number;
}

async function listen(
  handle: (req: Recorded, res: http.ServerResponse, self: HttpReceiver) => void,
): Promise<HttpReceiver> {
  const self: HttpReceiver = { url: '', requests: [], failWith: null, failNext: 0 };
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        // kept as text
      }
      const rec = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      self.requests.push(rec);
      const status = self.failWith ?? (self.failNext > 0 ? (self.failNext--, 503) : null);
      if (status) {
        res.writeHead(status, { 'content-type': 'application/json' }).end('{"message":"down"}');
        return;
      }
      handle(rec, res, self);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  self.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return self;
}

/** A chat service's incoming webhook: `${url}/hooks/<secret>` takes `{text, blocks}`. */
export function chatReceiver(): Promise<HttpReceiver> {
  return listen((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
}

/** The statuses endpoint of the GitHub REST API, as octokit calls it. */
export function githubStandIn(): Promise<HttpReceiver> {
  let id = 0;
  return listen((req, res) => {
    const m = /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([0-9a-f]{40})$/.exec(req.path);
    if (req.method === 'POST' && m) {
      const b = req.body as Record<string, unknown>;
      res.writeHead(201, { 'content-type': 'application/json; charset=utf-8' }).end(
        JSON.stringify({
          id: ++id,
          url: `${req.path}/${id}`,
          state: b.state,
          description: b.description,
          target_url: b.target_url ?? null,
          context: b.context ?? 'default',
          created_at: new Date().toISOString(),
          updated_at: new Date().toISOString(),
        }),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
  });
}

/** Statuses the stand-in received, in order: [sha, state, description, target_url]. */
export function statusesOf(
  gh: HttpReceiver,
): Array<{ sha: string; state: string; description: string; targetUrl?: string; context: string }> {
  return gh.requests
    .filter((r) => r.method === 'POST' && r.path.includes('/statuses/'))
    .map((r) => {
      const b = r.body as Record<string, string>;
      return {
        sha: r.path.split('/').at(-1)!,
        state: b.state!,
        description: b.description!,
        targetUrl: b.target_url,
        context: b.context!,
      };
    });
}

export interface Mail {
  from: string;
  to: string[];
  raw: string;
  subject: string;
  messageId: string;
}

/** A local SMTP server (no TLS, no auth required); `smtp://127.0.0.1:<port>`. */
export async function smtpReceiver(): Promise<{ url: string; mails: Mail[] }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString()));
      stream.on('end', () => {
        const header = (name: string) =>
          new RegExp(`^${name}:\\s*(.*(?:\\r?\\n[ \\t].*)*)`, 'mi').exec(raw)?.[1]?.replace(/\r?\n[ \t]/g, ' ') ?? '';
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          subject: header('Subject'),
          messageId: header('Message-ID'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `smtp://127.0.0.1:${port}`, mails };
}

/** The [state, description] of each status the stand-in received for commit `sha`, in order. */
export function statusesAt(gh: HttpReceiver, sha: string): Array<[string, string]> {
  return statusesOf(gh)
    .filter((s) => s.sha === sha)
    .map((s) => [s.state, s.description]);
}
