"""Pacing under enforced rate limits: a `%%chat --over` of many rows and an `%%embed` of many texts against
the offline server enforcing N requests/s and T tokens/min. Prints the 429s the server logged (want 0) and
the time taken against the limit-bound time (the least time the limits allow: what the buckets hold at the
start goes at once, the rest at their refill rate; want a ratio under 1.2).

    TIKTOKEN_CACHE_DIR=../shared/tiktoken python benchmarks/scale.py [--rows 2000] [--texts 20000]
        [--requests 100] [--tokens 150000]

With `--batch N` (120,000 by the issue): N rows through `%%chat --over ... --batch` end to end instead, the
offline server in its own process and the kernel in a fresh one: wall time, the kernel's peak RSS (and its RSS
as each shard's answers were written), and the shards seen: in the quote, in the manifest and as row groups
of the results file.

    TIKTOKEN_CACHE_DIR=../shared/tiktoken python benchmarks/scale.py --batch 120000
"""
from __future__ import annotations

import argparse
import json
import math
import time


def limit_bound(requests: list[int], per_second: float, tokens_per_minute: float) -> float:
    """Least seconds to send requests of these token sizes through both buckets (full at the start)."""
    over_requests = max(0, len(requests) - per_second) / per_second
    over_tokens = max(0, sum(requests) - tokens_per_minute) / (tokens_per_minute / 60)
    return max(over_requests, over_tokens)


def run(label: str, server, work) -> None:
    server.clear_log()
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    log = [r for r in server.requests if r.method == "POST"]
    sizes = [math.ceil(len(json.dumps(r.body)) / 4) + (r.body.get("max_completion_tokens") or 0)
             for r in log if r.status == 200]
    bound = limit_bound(sizes, server.args.requests, server.args.tokens)
    refused = sum(1 for r in log if r.status == 429)
    ratio = seconds / bound if bound else float("nan")
    print(f"{label}: {len(sizes):,} requests · {refused} × 429 · {seconds:.1f} s · limit-bound {bound:.1f} s "
          f"· ratio {ratio:.2f}")


def batch_end_to_end(rows: int) -> None:
    """The server and the kernel each in a process of their own (the kernel's peak RSS is then its own)."""
    import os
    import subprocess
    import sys
    import tempfile

    starter = ("import sys\nfrom openai_magics.offline import OfflineServer\nserver = OfflineServer().start()\n"
               "print(server.base_url, flush=True)\nsys.stdin.read()")
    server = subprocess.Popen([sys.executable, "-c", starter], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        base_url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as folder:
            subprocess.run([sys.executable, __file__, "--batch", str(rows), "--kernel", base_url], check=True,
                           env={**os.environ, "OPENAI_MAGICS_BATCH_DIR": folder})
    finally:
        server.stdin.close()
        server.wait()


def batch_kernel(rows: int, base_url: str) -> None:
    import contextlib
    import io
    import os
    import threading
    from pathlib import Path

    import pyarrow.parquet as pq
    from IPython.core.interactiveshell import InteractiveShell

    from openai_magics.core.config import Secret
    from openai_magics.core.session import session

    def rss() -> tuple[float, float]:
        status = Path("/proc/self/status").read_text()
        return tuple(int(status.split(f"{key}:")[1].split()[0]) / 1024 for key in ("VmRSS", "VmHWM"))

    jobs = Path(os.environ["OPENAI_MAGICS_BATCH_DIR"]) / "jobs"
    seen, done = {}, threading.Event()

    def watch() -> None:  # the RSS when the manifest first says a shard's answers were recorded and written
        while not done.wait(0.2):
            for manifest in jobs.glob("*/manifest.json"):
                with contextlib.suppress(ValueError, OSError):
                    shards = json.loads(manifest.read_text())["shards"]
                    for k, shard in enumerate(shards):
                        if shard.get("recorded") and k not in seen:
                            seen[k] = (time.perf_counter() - started, rss()[0])

    session().configure(base_url=base_url, api_key=Secret("sk-offline", "benchmark"), bills="openai")
    session().config.models["chat"] = "gpt-4o-mini"
    ipython = InteractiveShell.instance()
    ipython.run_line_magic("load_ext", "openai_magics")
    ipython.user_ns["items"] = [f"n{i}" for i in range(rows)]
    before = rss()[0]
    threading.Thread(target=watch, daemon=True).start()
    said = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(said):
        ran = ipython.run_cell("%%chat --over items --batch -o answers --max-tokens 16\n"
                               "Label {item}")
    seconds = time.perf_counter() - started
    done.set()
    if ran.error_in_exec or ran.error_before_exec:
        raise SystemExit(f"failed: {ran.error_in_exec or ran.error_before_exec}")
    answers = ipython.user_ns["answers"]
    aligned = all(isinstance(a, str) and f"n{i}" in a for i, a in enumerate(answers))
    manifest = json.loads(next(jobs.glob("*/manifest.json")).read_text())
    results = pq.ParquetFile(next(jobs.glob("*/results.parquet")))
    groups = [results.metadata.row_group(i).num_rows for i in range(results.num_row_groups)]
    shards = " + ".join(f"{shard['lines']:,}" for shard in manifest["shards"])
    quoted = said.getvalue().split(" requests in ")[1].split(" shards")[0] if " shards" in said.getvalue() else "?"
    print(f"--batch {rows:,} rows: {seconds:,.1f} s end to end ({rows / seconds:,.0f} rows/s) · RSS before "
          f"{before:,.0f} MB · peak {rss()[1]:,.0f} MB · {quoted} shards quoted · manifest shards "
          f"{shards} · results.parquet row groups "
          f"{' + '.join(f'{n:,}' for n in groups)} · every answer aligned with its row: {aligned}")
    for k, (at, mb) in sorted(seen.items()):
        print(f"  shard {k} recorded and written by {at:,.1f} s, RSS then {mb:,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--requests", type=float, default=100, help="requests per second")
    parser.add_argument("--tokens", type=float, default=150_000, help="tokens per minute")
    parser.add_argument("--batch", type=int, help="rows through `--over --batch` end to end, instead of pacing")
    parser.add_argument("--kernel", metavar="BASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.batch:
        return batch_kernel(args.batch, args.kernel) if args.kernel else batch_end_to_end(args.batch)

    import openai_magics
    from openai_magics.chat.over import run_over
    from openai_magics.chat.request import ChatRequest
    from openai_magics.chat.rows import as_rows
    from openai_magics.offline import OfflineServer, find_openapi_document

    server = OfflineServer(openapi=find_openapi_document()).start()
    server.args = args
    session = openai_magics.session()
    session.attach_offline(server)

    server.enforce_limits(requests=args.requests, tokens=args.tokens)
    rows = as_rows([f"row {i}" for i in range(args.rows)], "rows")
    prompts = [f"Label {i} as odd or even." for i in range(args.rows)]
    run(f"--over {args.rows:,} rows", server, lambda: run_over(
        session, rows, prompts, lambda p: ChatRequest(prompt=p, model="gpt-4o-mini", max_tokens=20, stream=False,
                                                      cache=False), concurrency=16))

    server.reset()
    server.enforce_limits(requests=args.requests, tokens=args.tokens)
    texts = [f"text number {i} about something" for i in range(args.texts)]
    run(f"embed {args.texts:,} texts", server, lambda: openai_magics.embed(texts, concurrency=8))
    server.stop()


if __name__ == "__main__":
    main()
