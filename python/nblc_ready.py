"""Waiting for a new kernel to be ready, without jupyter_client's fixed waits.

`KernelClient.wait_for_ready` (what nbclient calls) sends kernel_info until the shell answers,
then waits up to 0.2 s for an IOPub message (proof that the subscription is connected), and
then, always, another 0.2 s of silence on IOPub (its "flush"): at least 0.2 s per notebook spent
idle, about 40% of a trivial notebook's time from request to result. Here the same two proofs
end the wait as soon as they arrive: the kernel_info reply on shell, then any IOPub message
(ipykernel sends `iopub_welcome` as soon as a subscription reaches it, and the status messages of
the kernel_info request; a kernel that sends neither in time is asked again, as jupyter_client
does). Nothing is flushed: what is left on IOPub belongs to no cell's request, and nbclient reads
only the messages whose parent is the request it sent.

The client's sockets retry a connection every 10 ms instead of ZeroMQ's 100 ms: they connect
before the new kernel has bound its sockets, so each retry interval is time the notebook waits.
"""

import time
from queue import Empty
from typing import Any

import zmq
from jupyter_client.asynchronous.client import AsyncKernelClient

RECONNECT_IVL_MS = 10
SHELL_WAIT_S = 1.0  # per kernel_info request, as jupyter_client
IOPUB_WAIT_S = 0.2  # for a first IOPub message after the reply, as jupyter_client


def fast_reconnect(kc: AsyncKernelClient) -> None:
    """Before `start_channels`: new sockets of this client retry connecting every 10 ms."""
    kc.context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_IVL_MS)


async def wait_for_ready(kc: AsyncKernelClient, timeout: float | None) -> dict[str, Any]:
    """Returns the kernel_info reply once the kernel answers on shell and IOPub is connected.
    RuntimeError when the kernel died or did not answer within `timeout` seconds."""
    deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
    iopub_seen = False
    while True:
        msg_id = kc.kernel_info()
        reply = await _reply(kc, msg_id, min(SHELL_WAIT_S, max(deadline - time.monotonic(), 0.01)))
        if reply is not None:
            if iopub_seen or await _any_iopub(kc, IOPUB_WAIT_S):
                kc._handle_kernel_info_reply(reply)
                return reply
        elif await _any_iopub(kc, 0):
            iopub_seen = True  # connected already; only the reply is missing
        if not await kc._async_is_alive():
            raise RuntimeError("Kernel died before replying to kernel_info")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")


async def _reply(kc: AsyncKernelClient, msg_id: str, timeout: float) -> dict[str, Any] | None:
    """The shell reply to `msg_id` (earlier requests' replies are skipped), None after `timeout`."""
    end = time.monotonic() + timeout
    while True:
        try:
            msg: dict[str, Any] = await kc.shell_channel.get_msg(timeout=max(end - time.monotonic(), 0))
        except Empty:
            return None
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "kernel_info_reply":
            return msg


async def _any_iopub(kc: AsyncKernelClient, timeout: float) -> bool:
    try:
        await kc.iopub_channel.get_msg(timeout=timeout)
    except Empty:
        return False
    return True
