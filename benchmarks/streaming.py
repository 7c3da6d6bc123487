"""What a streamed 4,000-token answer costs the frontend: our live view vs the common approach.

Runs a real kernel (jupyter_client), streams from the offline server, and counts the iopub messages each
approach sends during the cell, and their bytes: the content alone, and whole messages as they cross the wire
(headers, metadata and signature included, which weigh most in many small messages):
- ours: `%%chat` → an empty placeholder output that the kernel's one stream channel (an anywidget) fills from
  deltas, coalesced, rendering the Markdown in the browser; the kernel's first answer also opens the channel,
  carrying its module and the Markdown renderer (marked, ~72 KB) that the page then keeps, so both the first
  answer and later ones are measured;
- common: a display handle updated with the whole Markdown on every chunk.
Run by hand: python benchmarks/streaming.py [tokens] [chunk_delay_seconds]
"""
from __future__ import annotations

import json
import sys
import time

from jupyter_client.manager import start_new_kernel

SETUP = """
%load_ext openai_magics
%openai offline
import openai_magics
openai_magics.session().offline_server.chunk_delay = {delay}
"""
OURS = "%%chat\nA long answer please (offline: {tokens} tokens)"
COMMON = """
from IPython.display import Markdown, display
client = openai_magics.session().client
handle = display(Markdown(""), display_id=True)
text = ""
stream = client.chat.completions.create(model="gpt-4o-mini", stream=True,
    messages=[{{"role": "user", "content": "A long answer please (offline: {tokens} tokens)"}}])
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        text += chunk.choices[0].delta.content
        handle.update(Markdown(text))
"""
FRONTEND_TYPES = {"comm_open", "comm_msg", "display_data", "update_display_data", "execute_result", "stream"}


SIGNATURE = 64 + len(b"<IDS|MSG>")  # the HMAC-SHA256 hex digest and the delimiter of each wire message


def wire_size(msg: dict) -> int:
    """A message as it crosses the wire to the browser: header, parent header, metadata, content, buffers."""
    parts = [json.dumps(msg[k], default=str) for k in ("header", "parent_header", "metadata", "content")]
    return SIGNATURE + sum(map(len, parts)) + sum(len(b) for b in msg.get("buffers") or [])


def measure(client, code: str) -> dict:
    messages, started = [], time.perf_counter()

    def hook(msg):
        if msg["msg_type"] in FRONTEND_TYPES:
            messages.append((time.perf_counter() - started, len(json.dumps(msg["content"])), wire_size(msg)))

    reply = client.execute_interactive(code, output_hook=hook, timeout=600)
    assert reply["content"]["status"] == "ok", reply["content"]
    elapsed = time.perf_counter() - started
    worst = max((sum(1 for t, *_ in messages if s <= t < s + 1) for s, *_ in messages), default=0)
    return {"messages": len(messages), "bytes": sum(size for _, size, _ in messages),
            "wire": sum(size for *_, size in messages), "seconds": elapsed, "worst_per_second": worst}


def main(tokens: int = 4000, delay: float = 0.002) -> None:
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        client.execute_interactive(SETUP.format(delay=delay), timeout=60)
        first = measure(client, OURS.format(tokens=tokens))
        common = measure(client, COMMON.format(tokens=tokens))
        ours = measure(client, OURS.format(tokens=tokens))
        short = measure(client, OURS.format(tokens=20))
    finally:
        manager.shutdown_kernel(now=True)
    print(f"{tokens:,}-token streamed answer, {delay * 1000:g} ms between chunks from the offline server\n")
    for name, m in (("ours, first answer (+ module, renderer)", first), ("ours, a later answer", ours),
                    ("common (whole Markdown per chunk)", common), ("ours, a later 20-token answer", short)):
        print(f"{name:34}: {m['messages']:6,} messages  {m['bytes']:13,} bytes of content "
              f"({m['wire']:13,} whole messages)  {m['seconds']:5.1f} s  worst second {m['worst_per_second']:,} messages")
    print(f"\nbytes ratio:    {common['bytes'] / ours['bytes']:,.0f}× fewer with ours "
          f"({common['bytes'] / first['bytes']:,.0f}× for the kernel's first answer, module and renderer included)")
    print(f"whole messages: {common['wire'] / ours['wire']:,.0f}× fewer bytes with ours")
    print(f"messages ratio: {common['messages'] / ours['messages']:,.0f}× fewer with ours")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4000, float(sys.argv[2]) if len(sys.argv) > 2 else 0.002)
