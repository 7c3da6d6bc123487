"""Runs past one process's memory, against the offline server in its own process (as a remote API would be):

- `over`: N rows through `%%chat --over ... --to PATH.parquet`: rows/s, the kernel's peak RSS, and its RSS after
  each tenth of the rows answered (bounded: it levels off once the input and its prompts are in memory, the
  answers being on disk and the ledger one row for the run).
- `embed`: N texts through `%embed --input texts --store PATH`: the peak RSS against the size of the vectors
  written (N × dimensions × 4 bytes).
- `batch`: N rows through `%%chat --over ... --batch` (shards of 50,000 lines): seconds end to end, shards.

    TIKTOKEN_CACHE_DIR=../shared/tiktoken python benchmarks/disk_runs.py over [--rows 20000,100000,300000]
    TIKTOKEN_CACHE_DIR=../shared/tiktoken python benchmarks/disk_runs.py embed [--rows 1000000] [--dimensions 1536]
    TIKTOKEN_CACHE_DIR=../shared/tiktoken python benchmarks/disk_runs.py batch [--rows 120000]

Each size runs in a fresh process of its own, so its peak RSS is its own.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVER = """
import sys
from openai_magics.offline import OfflineServer
server = OfflineServer().start()
print(server.base_url, flush=True)
sys.stdin.read()
"""


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process, in MB."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def shell(base_url: str):
    from IPython.core.interactiveshell import InteractiveShell

    from openai_magics.core.config import Secret
    from openai_magics.core.session import session

    session().configure(base_url=base_url, api_key=Secret("sk-offline", "benchmark"), bills="openai")
    session().config.models["chat"] = "gpt-4o-mini"
    ipython = InteractiveShell.instance()
    ipython.run_line_magic("load_ext", "openai_magics")
    return ipython


def one_run(kind: str, base_url: str, rows: int, dimensions: int, folder: str) -> None:
    ipython = shell(base_url)
    if kind == "embed":
        ipython.user_ns["texts"] = [f"note {i}: the market rallied as rain fell on the river bridge" for i in range(rows)]
        cell = f"%embed --input texts --store {folder}/store -q --dimensions {dimensions}"
    elif kind == "over":
        ipython.user_ns["items"] = [f"n{i}" for i in range(rows)]
        cell = f"%%chat --over items --to {folder}/answers.parquet -q --concurrency 16 --max-tokens 16\nLabel {{item}}"
    else:
        ipython.user_ns["items"] = [f"n{i}" for i in range(rows)]
        cell = "%%chat --over items --batch -q -o answers --max-tokens 16\nLabel {item}"
    before = rss_mb()[0]
    started = time.perf_counter()
    watching = _rss_as_rows_arrive(rows) if kind == "over" else None
    ran = ipython.run_cell(cell)
    seconds = time.perf_counter() - started
    if watching is not None:
        watching.set()
    if ran.error_in_exec or ran.error_before_exec:
        raise SystemExit(f"failed: {ran.error_in_exec or ran.error_before_exec}")
    peak = rss_mb()[1]
    load = " / ".join(f"{x:.1f}" for x in __import__("os").getloadavg())
    line = (f"{kind} {rows:,} rows: {seconds:,.1f} s ({rows / seconds:,.0f} rows/s) · RSS before {before:,.0f} MB · "
            f"peak {peak:,.0f} MB · load average {load}")
    if kind == "embed":
        line += f" · vectors written {rows * dimensions * 4 / 2**20:,.0f} MB (peak/result {peak / (rows * dimensions * 4 / 2**20):.2f}×)"
    if kind == "batch":
        answers = ipython.user_ns["answers"]
        line += f" · {sum(isinstance(a, str) for a in answers):,} answers aligned"
    print(line, flush=True)


def _rss_as_rows_arrive(rows: int):
    """Print the RSS after each tenth of the rows answered (read off the run's ledger row); set the event to stop."""
    import threading

    from openai_magics.core.session import session

    stop, step, started = threading.Event(), max(1, rows // 10), time.perf_counter()

    def watch():
        said = 0
        while not stop.wait(0.5):
            answered = sum(r.calls for r in session().ledger.records)
            if answered >= said + step:
                said = answered // step * step
                print(f"  {answered:,} rows answered after {time.perf_counter() - started:,.0f} s: "
                      f"RSS {rss_mb()[0]:,.0f} MB", flush=True)

    threading.Thread(target=watch, daemon=True).start()
    return stop


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=("over", "embed", "batch"))
    parser.add_argument("--rows", default=None, help="comma-separated sizes")
    parser.add_argument("--dimensions", type=int, default=1536)
    parser.add_argument("--one", nargs=2, metavar=("BASE_URL", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    default = {"over": "20000,100000,300000", "embed": "1000000", "batch": "120000"}[args.kind]
    sizes = [int(n) for n in (args.rows or default).split(",")]
    if args.one:
        return one_run(args.kind, args.one[0], sizes[0], args.dimensions, args.one[1])
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    base_url = server.stdout.readline().strip()
    try:
        for rows in sizes:
            with tempfile.TemporaryDirectory() as folder:
                subprocess.run([sys.executable, __file__, args.kind, "--rows", str(rows), "--dimensions",
                                str(args.dimensions), "--one", base_url, folder], check=True,
                               env={**__import__("os").environ, "OPENAI_MAGICS_BATCH_DIR": folder})
    finally:
        server.stdin.close()
        server.wait()


if __name__ == "__main__":
    main()
