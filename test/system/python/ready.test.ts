// python/nblc_ready.py: when a new kernel counts as ready (its kernel_info reply on shell, then
// any IOPub message), asked again when IOPub stays silent, without jupyter_client's fixed waits.
// A scripted client (what each channel returns, when) and a real forked ipykernel:
//   node --import tsx --test test/system/python/ready.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../../src/platform/config.js';

const PYTHON = path.join(PROJECT_ROOT, '.venv', 'bin', 'python');

function python(script: string): unknown {
  const out = execFileSync(PYTHON, ['-c', script], {
    cwd: path.join(PROJECT_ROOT, 'python'),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

/**
 * A client whose kernel answers request n (1-based) as `script[n]` says: `reply` on shell or not,
 * `iopub` a message or not; `alive` false: a dead kernel. Prints what wait_for_ready returned or
 * raised, the requests sent and the seconds it took.
 */
const SCRIPTED = `
import asyncio, json, sys, time
from queue import Empty
import nblc_ready

class Channel:
    def __init__(self): self.queue = []
    async def get_msg(self, timeout=None):
        if self.queue: return self.queue.pop(0)
        await asyncio.sleep(timeout or 0)
        raise Empty

class Client:
    def __init__(self, script, alive=True):
        self.script, self.alive, self.sent = script, alive, []
        self.shell_channel, self.iopub_channel = Channel(), Channel()
        self.handled = None
    def kernel_info(self):
        msg_id = f"m{len(self.sent) + 1}"
        self.sent.append(msg_id)
        how = self.script[min(len(self.sent), len(self.script)) - 1]
        if how.get("stale"):  # the reply to the previous request arrives only now
            prev = self.sent[-2]
            self.shell_channel.queue.append({"msg_type": "kernel_info_reply", "parent_header": {"msg_id": prev}, "content": {"n": prev}})
        if how.get("reply"):
            self.shell_channel.queue.append({"msg_type": "kernel_info_reply", "parent_header": {"msg_id": msg_id}, "content": {"n": msg_id}})
        if how.get("iopub"):
            self.iopub_channel.queue.append({"msg_type": "status", "parent_header": {"msg_id": msg_id}, "content": {}})
        return msg_id
    async def _async_is_alive(self): return self.alive
    def _handle_kernel_info_reply(self, msg): self.handled = msg["content"]["n"]

async def case(script, alive=True, timeout=10):
    kc = Client(script, alive)
    t = time.monotonic()
    try:
        reply = await nblc_ready.wait_for_ready(kc, timeout)
        out = {"reply": reply["content"]["n"], "handled": kc.handled}
    except RuntimeError as e:
        out = {"error": str(e)}
    return {**out, "sent": len(kc.sent), "s": round(time.monotonic() - t, 2)}

async def main():
    nblc_ready.SHELL_WAIT_S = 0.3
    return {
        "at_once": await case([{"reply": True, "iopub": True}]),
        "iopub_late": await case([{"reply": True}, {"reply": True, "iopub": True}]),
        "reply_late": await case([{}, {"stale": True, "reply": True, "iopub": True}]),
        "iopub_before_reply": await case([{"iopub": True}, {"reply": True}]),
        "dead": await case([{}], alive=False),
        "silent": await case([{}], timeout=0.5),
    }

print(json.dumps(asyncio.run(main())))
`;

test('wait_for_ready: done at the first reply and IOPub message; asks again only when one is missing', () => {
  const r = python(SCRIPTED) as Record<
    string,
    { reply?: string; handled?: string; error?: string; sent: number; s: number }
  >;
  // Both at once: one request, no waiting (jupyter_client waits another 0.2 s for IOPub to be silent).
  assert.deepEqual({ ...r.at_once, s: undefined }, { reply: 'm1', handled: 'm1', sent: 1, s: undefined });
  assert.ok(r.at_once!.s < 0.1, `took ${r.at_once!.s} s`);
  // IOPub not connected when the kernel answered: asked again after IOPUB_WAIT_S.
  assert.equal(r.iopub_late!.reply, 'm2');
  assert.equal(r.iopub_late!.sent, 2);
  // The reply to an earlier request is not taken for the current one's.
  assert.equal(r.reply_late!.reply, 'm2');
  assert.equal(r.reply_late!.handled, 'm2');
  // IOPub already seen: the next reply suffices.
  assert.equal(r.iopub_before_reply!.reply, 'm2');
  assert.match(r.dead!.error ?? '', /Kernel died before replying to kernel_info/);
  assert.equal(r.dead!.sent, 1);
  assert.match(r.silent!.error ?? '', /didn't respond in 0 seconds|didn't respond/);
  assert.ok(r.silent!.s < 2, `took ${r.silent!.s} s`);
});

test('a real ipykernel is ready without waiting out IOPub: its reply has language_info, cells run after it', () => {
  const r = python(`
import asyncio, json, sys, time
from jupyter_client.manager import AsyncKernelManager
import nblc_ready

async def main():
    km = AsyncKernelManager(kernel_name="python3")
    await km.start_kernel()
    kc = km.client()
    nblc_ready.fast_reconnect(kc)
    kc.start_channels()
    try:
        reply = await nblc_ready.wait_for_ready(kc, 60)
        msg_id = kc.execute("print(6 * 7)")
        text = ""
        while True:
            msg = await kc.iopub_channel.get_msg(timeout=30)
            if msg["parent_header"].get("msg_id") != msg_id: continue
            if msg["msg_type"] == "stream": text += msg["content"]["text"]
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle": break
        return {"language": reply["content"]["language_info"]["name"], "text": text}
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)

print(json.dumps(asyncio.run(main())))
`);
  assert.deepEqual(r, { language: 'python', text: '42\n' });
});
