"""What the magics cost before and around the API: cold `%load_ext` (ours against jupyter-ai-magics, the
anchor), the first `%%chat` of a fresh kernel against a bare-SDK cell doing the same request, and the warm
per-call overhead of `%%chat` against the same bare-SDK cell, streamed and not.

    TIKTOKEN_CACHE_DIR=../shared/tiktoken python benchmarks/load_time.py [--runs 7] [--kernels 15] [--calls 60]
        [--anchor-python /tmp/jai/bin/python] [--also CHECKOUT]

Everything alternates, ours then theirs, run after run, so both see the same machine; figures are medians,
with their spread (lowest–highest) and the load average before and after, since other work on the machine moves
them.
- `%load_ext`: each run a fresh process (`InteractiveShell`), timing the magic alone. jupyter-ai-magics
  runs in the Python given by `--anchor-python` (a separate venv, as its dependencies are many), else in
  this one if it is installed here.
- First `%%chat`: each run a fresh kernel (jupyter_client), timing from sending the cell to its reply:
  `%load_ext` + `%%chat` for ours, `import openai` + a streamed `chat.completions.create` printed as it
  comes for the bare SDK. The offline server runs in its own process and answers at once. Beside the time,
  the CPU time the kernel's process spent on the cell (all its threads): on a machine other work shares, it
  moves less than the time, which also counts the waits for a core.
- Warm overhead: one kernel, both cells `--calls` times each, alternating; the median difference.
- `--also CHECKOUT`: another checkout of this repository (say `git worktree add /tmp/before REV`), measured
  in turn with ours in the `%load_ext` and first-`%%chat` runs: a change's cost, on the same machine and
  packages, where figures taken on another day would mix it with the machine's and the SDK's.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time

DEFAULT_ANCHOR = "/tmp/jai/bin/python"  # python -m venv /tmp/jai && /tmp/jai/bin/pip install jupyter-ai-magics
LOAD_SNIPPET = """
import time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
start = time.perf_counter()
shell.run_line_magic("load_ext", "{ext}")
print(time.perf_counter() - start)
"""
SERVER = """
import sys
from openai_magics.offline import OfflineServer, find_openapi_document
server = OfflineServer(openapi=find_openapi_document()).start()
print(server.base_url, flush=True)
sys.stdin.read()
"""
PROMPT = "Explain a p-value in one sentence (offline: 20 tokens)"
MESSAGES = f'[{{"role": "user", "content": "{PROMPT}"}}]'
OURS = {True: f"%%chat\n{PROMPT}", False: f"%%chat --no-stream\n{PROMPT}"}
BARE = {
    True: ("stream = client.chat.completions.create(model='gpt-4o-mini', messages=" + MESSAGES + ", stream=True)\n"
           "for chunk in stream:\n"
           "    if chunk.choices and chunk.choices[0].delta.content:\n"
           "        print(chunk.choices[0].delta.content, end='')"),
    False: ("answer = client.chat.completions.create(model='gpt-4o-mini', messages=" + MESSAGES + ")\n"
            "print(answer.choices[0].message.content)"),
}
FIRST = {"ours": "%load_ext openai_magics\n", "bare": "import openai\nclient = openai.OpenAI()\n"}
# One cell, one round trip: the %%chat cell as IPython runs a cell magic that is not on the first line.
FIRST_CHAT = f"get_ipython().run_cell_magic('chat', '', {PROMPT!r})"


def compile_like_an_install(checkout: str) -> None:
    """Byte-compile a checkout, as `pip install` does for the SDK and jupyter-ai-magics: with
    PYTHONDONTWRITEBYTECODE set (as on some machines), an editable checkout would otherwise be compiled from
    source in every fresh process, adding ~20 ms to each of our figures that neither baseline pays."""
    import compileall

    compileall.compile_dir(os.path.join(checkout, "openai_magics"), quiet=1)


def checkout_env(checkout: str) -> dict:
    """This environment, importing openai_magics from `checkout`."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [checkout, os.environ.get("PYTHONPATH")]))}


# -- %load_ext --

def cold_load(python: str, ext: str, env: dict | None = None) -> float:
    out = subprocess.run([python, "-c", LOAD_SNIPPET.format(ext=ext)], capture_output=True, text=True,
                         check=True, env=env).stdout
    return float(out.strip().splitlines()[-1])


def anchor_python(given: str | None) -> str | None:
    if given:
        return given
    if importlib.util.find_spec("jupyter_ai_magics"):
        return sys.executable
    return DEFAULT_ANCHOR if os.path.exists(DEFAULT_ANCHOR) else None


def bench_load(runs: int, anchor: str | None, checkouts: dict) -> None:
    ours, theirs = {label: [] for label in checkouts}, []
    for _ in range(runs):
        for label, checkout in checkouts.items():
            ours[label].append(cold_load(sys.executable, "openai_magics", checkout_env(checkout)))
        if anchor:
            theirs.append(cold_load(anchor, "jupyter_ai_magics"))
    print(f"%load_ext, median of {runs} fresh processes, alternating:")
    width = max(len("jupyter_ai_magics"), *(len("openai_magics" + label) for label in checkouts)) + 2
    for label in checkouts:
        print(f"  {'openai_magics' + label:<{width}}{statistics.median(ours[label]) * 1000:8.1f} ms")
    ours = ours[""]
    if not anchor:
        print(f"  {'jupyter_ai_magics':<{width}}not installed (pass --anchor-python of a venv that has it)")
        return
    print(f"  {'jupyter_ai_magics':<{width}}{statistics.median(theirs) * 1000:8.1f} ms")
    print(f"  jupyter_ai_magics takes {statistics.median(theirs) / statistics.median(ours):,.0f}× as long")


# -- cells in kernels --

def kernel_env(base_url: str, checkout: str) -> dict:
    env = {k: v for k, v in checkout_env(checkout).items()
           if not k.startswith(("OPENAI_MAGICS_CACHE", "OPENAI_MAGICS_REPLAY"))}
    env.update(OPENAI_BASE_URL=base_url, OPENAI_API_KEY="sk-offline", OPENAI_MAGICS_BILLS="openai")
    return env


def timed_cell(client, code: str) -> float:
    started = time.perf_counter()
    reply = client.execute_interactive(code, output_hook=lambda msg: None, timeout=120)
    elapsed = time.perf_counter() - started
    assert reply["content"]["status"] == "ok", reply["content"]
    return elapsed


def kernel_cpu_seconds(manager) -> float:
    """The CPU time (user + system, every thread) the kernel's process has spent so far."""
    import psutil

    times = psutil.Process(manager.provisioner.process.pid).cpu_times()
    return times.user + times.system


def start_kernel(base_url: str, checkout: str):
    from jupyter_client.manager import start_new_kernel

    return start_new_kernel(kernel_name="python3", env=kernel_env(base_url, checkout), stderr=subprocess.DEVNULL)


def warm_up(base_url: str) -> None:
    """The server's own first answer loads its token counter: not a cost of either cell."""
    import openai

    openai.OpenAI(base_url=base_url, api_key="sk-offline").chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}])


def first_cell(base_url: str, who: str, checkout: str) -> tuple[float, float]:
    """The first cell's time to its reply and the kernel's CPU time for it, in a fresh kernel."""
    manager, client = start_kernel(base_url, checkout)
    try:
        client.execute_interactive("import IPython", timeout=60)  # the kernel is up and answering
        cpu = kernel_cpu_seconds(manager)
        elapsed = timed_cell(client, FIRST[who] + (BARE[True] if who == "bare" else FIRST_CHAT))
        return elapsed, kernel_cpu_seconds(manager) - cpu
    finally:
        manager.shutdown_kernel(now=True)


def bench_first(base_url: str, runs: int, checkouts: dict) -> None:
    whose = {"ours" + label: checkout for label, checkout in checkouts.items()}
    runs_of = {who: [] for who in [*whose, "bare"]}
    load_before = os.getloadavg()[0]
    for _ in range(runs):
        for who in runs_of:
            checkout = whose.get(who, checkouts[""])
            runs_of[who].append(first_cell(base_url, "bare" if who == "bare" else "ours", checkout))
    print(f"first streamed chat cell of a fresh kernel, {runs} kernels each, alternating "
          f"(load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after):")
    labels = {"bare": "bare SDK (import openai + create + print)", "ours": "ours (%load_ext + %%chat, live view)",
              **{who: f"ours{who[4:]}" for who in whose if who != "ours"}}
    for i, what in enumerate(("time to reply", "kernel CPU time")):
        medians = {who: statistics.median(run[i] for run in runs_of[who]) for who in runs_of}
        print(f"  {what}, median (lowest–highest):")
        for who in ("bare", *whose):
            spread = [run[i] * 1000 for run in runs_of[who]]
            ratio = f"   = {medians[who] / medians['bare']:.2f}× (target ≤ 1.15×)" if who != "bare" else ""
            print(f"    {labels[who]:<43} {medians[who] * 1000:7.1f} ms ({min(spread):.0f}–{max(spread):.0f}){ratio}")


def bench_warm(base_url: str, calls: int, checkout: str) -> None:
    manager, client = start_kernel(base_url, checkout)
    try:
        client.execute_interactive(FIRST["ours"] + FIRST["bare"], timeout=60)
        print(f"warm overhead, one kernel, {calls} calls of each, alternating (median; target ≤ 2 ms):")
        for streamed in (True, False):
            for _ in range(3):  # warm both paths up
                timed_cell(client, OURS[streamed])
                timed_cell(client, BARE[streamed])
            ours, bare = [], []
            for _ in range(calls):
                ours.append(timed_cell(client, OURS[streamed]))
                bare.append(timed_cell(client, BARE[streamed]))
            o, b = statistics.median(ours), statistics.median(bare)
            paired = statistics.median(x - y for x, y in zip(ours, bare))
            print(f"  {'streamed' if streamed else 'not streamed':<13} bare {b * 1000:6.2f} ms   ours {o * 1000:6.2f} ms   "
                  f"overhead {(o - b) * 1000:+.2f} ms (median of paired differences {paired * 1000:+.2f} ms)")
    finally:
        manager.shutdown_kernel(now=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh processes of each for %%load_ext")
    parser.add_argument("--kernels", type=int, default=15, help="fresh kernels of each for the first %%chat")
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--anchor-python", help="a Python with jupyter-ai-magics installed")
    parser.add_argument("--also", metavar="CHECKOUT", help="another checkout of this repository, measured in turn")
    args = parser.parse_args()
    import platform

    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    checkouts = {"": here, **({f" ({os.path.basename(os.path.normpath(args.also))})": args.also} if args.also else {})}
    for checkout in checkouts.values():
        compile_like_an_install(checkout)
    bench_load(args.runs, anchor_python(args.anchor_python), checkouts)
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    base_url = server.stdout.readline().strip()
    try:
        warm_up(base_url)
        bench_first(base_url, args.kernels, checkouts)
        bench_warm(base_url, args.calls, here)
    finally:
        server.stdin.close()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
