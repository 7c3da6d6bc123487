"""Embedding many short texts against the offline server (100 ms added to every request): ours
(`openai_magics.embed`) vs what a skilled user writes with the bare SDK, taking turns.

    TIKTOKEN_CACHE_DIR=../shared/tiktoken python benchmarks/embed.py [--texts 10000 100000] [--runs 3]
        [--latency 0.1] [--dimensions 0]

The skilled baseline: `AsyncOpenAI`, the texts cut into 2,048-input requests (the API's maximum), all sent at
once with `asyncio.gather`, `encoding_format="base64"`, each vector `np.frombuffer(base64.b64decode(...))`,
then `np.vstack`. The server runs in its own process, as a remote API would: its work does not compete with
the client's for the GIL. Each run is a fresh process that first makes one small call (imports, connection),
then times the embedding and reads its peak RSS; ours and the baseline alternate, run after run, so both
see the same machine; each figure is the median over the runs. The result's own size is the memory floor.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

MODEL = "text-embedding-3-small"
SERVER = """
import sys
from openai_magics.offline import OfflineServer, find_openapi_document
server = OfflineServer(openapi=find_openapi_document(), latency=float(sys.argv[1])).start()
print(server.base_url, flush=True)
sys.stdin.read()
"""


def short_texts(n: int) -> list[str]:
    rng = random.Random(0)
    words = ("cat dog market rally recipe pasta orbit planet goal match rain forecast bank loan "
             "guitar chord python code river bridge").split()
    return [f"note {i}: " + " ".join(rng.choice(words) for _ in range(6)) for i in range(n)]


# -- one run, in its own process --

def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process, in MB."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def ours(base_url: str, texts: list[str], dimensions: int | None):
    import openai_magics
    from openai_magics.core.config import Secret
    from openai_magics.metering.session import MeteredSession

    session = MeteredSession()
    session.configure(base_url=base_url, api_key=Secret("sk-offline", "benchmark"), offline=True)
    openai_magics.embed(["warm up"], session=session, dimensions=dimensions)
    before = rss_mb()[0]
    started = time.perf_counter()
    vectors = openai_magics.embed(texts, session=session, dimensions=dimensions).vectors
    return time.perf_counter() - started, before, vectors


def gather(base_url: str, texts: list[str], dimensions: int | None):
    import asyncio
    import base64

    import numpy as np
    import openai

    extra = {"dimensions": dimensions} if dimensions else {}

    async def embed_all(client):
        async def one(batch):
            answer = await client.embeddings.create(model=MODEL, input=batch, encoding_format="base64", **extra)
            return [np.frombuffer(base64.b64decode(d.embedding), dtype=np.float32) for d in answer.data]

        parts = await asyncio.gather(*(one(texts[i:i + 2048]) for i in range(0, len(texts), 2048)))
        return np.vstack([row for part in parts for row in part])

    async def run():
        async with openai.AsyncOpenAI(base_url=base_url, api_key="sk-offline") as client:
            await client.embeddings.create(model=MODEL, input=["warm up"], encoding_format="base64", **extra)
            before = rss_mb()[0]
            started = time.perf_counter()
            vectors = await embed_all(client)
            return time.perf_counter() - started, before, vectors

    return asyncio.run(run())


def worker(who: str, base_url: str, n: int, dimensions: int | None) -> None:
    import hashlib

    texts = short_texts(n)
    seconds, before, vectors = (ours if who == "ours" else gather)(base_url, texts, dimensions)
    peak = rss_mb()[1]
    digest = hashlib.sha256(memoryview(vectors).cast("B")).hexdigest()
    print(json.dumps({"seconds": seconds, "before_mb": before, "peak_mb": peak,
                      "result_mb": vectors.nbytes / 2**20, "shape": list(vectors.shape), "sha256": digest}))


# -- the comparison --

class Server:
    def __init__(self, latency: float):
        self.process = subprocess.Popen([sys.executable, "-c", SERVER, str(latency)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.base_url = self.process.stdout.readline().strip()

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


def run_one(who: str, base_url: str, n: int, dimensions: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", who, "--base-url", base_url, "--texts", str(n),
                          "--dimensions", str(dimensions)], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def compare(base_url: str, n: int, dimensions: int, runs: int) -> None:
    results = {"ours": [], "gather": []}
    for _ in range(runs):
        for who in results:
            results[who].append(run_one(who, base_url, n, dimensions))
    digests = {r["sha256"] for rs in results.values() for r in rs}
    assert len(digests) == 1, "ours and the baseline returned different vectors"
    first = results["ours"][0]
    print(f"{n:,} texts × {first['shape'][1]:,} dimensions, result {first['result_mb']:,.0f} MB "
          f"(identical vectors from both), median of {runs} alternating runs:")
    medians = {}
    for who, label in (("gather", "skilled gather (AsyncOpenAI)"), ("ours", "ours (openai_magics.embed)")):
        rs = results[who]
        seconds = statistics.median(r["seconds"] for r in rs)
        peak = statistics.median(r["peak_mb"] for r in rs)
        grown = statistics.median(r["peak_mb"] - r["before_mb"] for r in rs)
        medians[who] = seconds
        print(f"  {label:<30} {seconds:7.2f} s   peak RSS {peak:7,.0f} MB = {peak / first['result_mb']:4.2f}× the "
              f"result (grew {grown:,.0f} MB during the call)   runs: "
              + " ".join(f"{r['seconds']:.2f}" for r in rs))
    print(f"  ours vs skilled gather: {medians['gather'] / medians['ours']:.2f}× faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3, help="alternating runs of each; the median counts")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds the server adds to each request")
    parser.add_argument("--dimensions", type=int, default=0, help="0: the model's own (1,536)")
    parser.add_argument("--worker", choices=["ours", "gather"], help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.base_url, args.texts[0], args.dimensions or None)

    import os
    import platform

    server = Server(args.latency)
    print(f"{MODEL}, {args.latency * 1000:.0f} ms added per request, server in its own process; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    try:
        for n in args.texts:
            compare(server.base_url, n, args.dimensions, args.runs)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
