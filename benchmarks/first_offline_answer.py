"""The first offline answer as a newcomer meets it: in a fresh kernel, the README's first cell
(`%load_ext openai_magics` + `%openai offline`, which starts the bundled server inside the kernel) and then
a `%%chat` cell, run back to back as Run All does (or `--pause` seconds apart, as someone typing the next
cell). The figure is the first cell's time to its reply plus the second's time to its first token, median
of `--runs` fresh kernels (target ≤ 0.5 s).

    python benchmarks/first_offline_answer.py [--runs 5] [--pause 0]

The first token is the first live-view message carrying answer text (a comm message from the kernel with a
non-empty "t"), timed where the frontend receives it. Beside the times, the kernel process's own CPU time from
the first cell to the first token (Linux), which a machine busy with other work inflates far less than the wall
clock. No key is set and nothing else is started: the
kernel finds the OpenAPI document and the token encodings as a user's does (set `TIKTOKEN_CACHE_DIR` as
the README says, or not). The checkout is byte-compiled first, as an installed package is.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRST_CELL = "%load_ext openai_magics\n%openai offline          # no key? a bundled local server answers"
CHAT_CELL = "%%chat -m gpt-4o-mini\nExplain a p-value to a first-year student in three sentences."


def fresh_kernel():
    from jupyter_client.manager import start_new_kernel

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OPENAI_MAGICS_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return start_new_kernel(kernel_name="python3", env=env, cwd=str(ROOT / "notebooks"), stderr=subprocess.DEVNULL)


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far (user + system, all its threads; not its children's); NaN off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_answer(client, pause: float, pid: int) -> tuple[float, float, float]:
    """(seconds to the first cell's reply, seconds from sending the chat cell to its first token, the kernel's
    CPU seconds from the first cell to the first token)."""
    cpu_before = cpu_seconds(pid)
    started = time.perf_counter()
    reply = client.execute_interactive(FIRST_CELL, output_hook=lambda msg: None, timeout=120)
    ready = time.perf_counter() - started
    assert reply["content"]["status"] == "ok", reply["content"]
    first_token: list[float] = []
    time.sleep(pause)

    def on_output(msg) -> None:
        data = msg["content"].get("data") or {}
        if not first_token and msg["msg_type"] == "comm_msg" and (data.get("content") or {}).get("t"):
            first_token.append(time.perf_counter() - sent)
            first_token.append(cpu_seconds(pid) - cpu_before)

    sent = time.perf_counter()
    reply = client.execute_interactive(CHAT_CELL, output_hook=on_output, timeout=120)
    assert reply["content"]["status"] == "ok", reply["content"]
    assert first_token, "no live-view message carried answer text"
    return ready, first_token[0], first_token[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between the two cells (default 0)")
    options = parser.parse_args()
    runs = options.runs
    import compileall

    compileall.compile_dir(ROOT / "openai_magics", quiet=1)
    totals, readies, tokens, cpus = [], [], [], []
    for _ in range(runs):
        manager, client = fresh_kernel()
        try:
            client.execute_interactive("import IPython", timeout=60)  # the kernel is up and answering
            ready, token, cpu = first_answer(client, options.pause, manager.provisioner.process.pid)
        finally:
            manager.shutdown_kernel(now=True)
        readies.append(ready)
        tokens.append(token)
        cpus.append(cpu)
        totals.append(ready + token)
        print(f"  kernel {len(totals)}: `%openai offline` ready {ready * 1000:6.0f} ms, first token "
              f"{token * 1000:6.0f} ms, total {(ready + token) * 1000:6.0f} ms; kernel CPU {cpu * 1000:6.0f} ms",
              flush=True)
    print(f"median of {runs} fresh kernels, cells {options.pause:g} s apart: ready {statistics.median(readies) * 1000:.0f} ms + first token "
          f"{statistics.median(tokens) * 1000:.0f} ms; total {statistics.median(totals) * 1000:.0f} ms "
          f"(target ≤ 500 ms); kernel CPU {statistics.median(cpus) * 1000:.0f} ms; load average "
          f"{os.getloadavg()[0]:.1f}; Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
