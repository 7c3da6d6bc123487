"""Embedding 10,000 short texts against the offline server with 100 ms added to every request:
ours (`session().embed`) vs the bare SDK, one request per text and sequential 2,048-input batches.

    TIKTOKEN_CACHE_DIR=../shared/tiktoken python benchmarks/embed.py [--texts 10000] [--latency 0.1]
        [--dimensions 0 256] [--repeat 3] [--per-text-sample 100] [--in-process]

The server runs in its own process by default, as a remote API would: its work does not compete with
the client's for the GIL (`--in-process` to share it). Vectors of 1,536 dimensions are 8 KB each in
base64 JSON, so with the default size much of the time is spent serialising them on both sides;
`--dimensions 256` shows the request strategy with less of that. One request per text for 10,000 texts would take
over 17 minutes at 100 ms each, so it is timed on `--per-text-sample` texts and scaled up, and says so.
"""
from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time

import openai_magics

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


class Server:
    def __init__(self, latency: float, in_process: bool):
        self.process = self.server = None
        if in_process:
            from openai_magics.offline import OfflineServer, find_openapi_document

            self.server = OfflineServer(openapi=find_openapi_document(), latency=latency).start()
            self.base_url = self.server.base_url
        else:
            self.process = subprocess.Popen([sys.executable, "-c", SERVER, str(latency)], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, text=True)
            self.base_url = self.process.stdout.readline().strip()

    def stop(self) -> None:
        if self.server:
            self.server.stop()
        if self.process:
            self.process.stdin.close()
            self.process.wait(timeout=10)


def best_of(repeat: int, fn) -> tuple[float, object]:
    """The fastest of `repeat` runs (the usual way to time on a shared, noisy machine), and its value."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        value = fn()
        runs.append((time.perf_counter() - started, value))
    return min(runs, key=lambda run: run[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds the server adds to each request")
    parser.add_argument("--dimensions", type=int, nargs="*", default=[0, 256],
                        help="vector sizes to try (0: the model's own, 1,536)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the fastest counts")
    parser.add_argument("--per-text-sample", type=int, default=100)
    parser.add_argument("--in-process", action="store_true", help="run the server in this process")
    args = parser.parse_args()

    texts = short_texts(args.texts)
    server = Server(args.latency, args.in_process)
    where = "in this process" if args.in_process else "in its own process"
    print(f"{len(texts):,} short texts, {MODEL}, {args.latency * 1000:.0f} ms added per request, server {where}, "
          f"best of {args.repeat}")
    try:
        per_text = time_per_text(server, texts, args.per_text_sample)
        print(f"  one request per text (bare SDK): {per_text:8.2f} s   (timed on {args.per_text_sample} texts, "
              "scaled up)")
        for dimensions in args.dimensions:
            compare(server, texts, dimensions or None, args.repeat, per_text)
    finally:
        server.stop()


def time_per_text(server: Server, texts: list[str], sample: int) -> float:
    import openai

    sdk = openai.OpenAI(base_url=server.base_url, api_key="sk-offline")
    sdk.embeddings.create(model=MODEL, input=texts[:1])  # connect, warm up both sides
    started = time.perf_counter()
    for text in texts[:sample]:
        sdk.embeddings.create(model=MODEL, input=text)
    return (time.perf_counter() - started) * len(texts) / sample


def compare(server: Server, texts: list[str], dimensions: int | None, repeat: int, per_text: float) -> None:
    import openai

    from openai_magics.core.config import Secret
    from openai_magics.core.session import Session
    from openai_magics.embed.engine import VectorCache

    extra = {"dimensions": dimensions} if dimensions else {}
    sdk = openai.OpenAI(base_url=server.base_url, api_key="sk-offline")
    t_batches, _ = best_of(repeat, lambda: len([
        d.embedding for i in range(0, len(texts), 2048)
        for d in sdk.embeddings.create(model=MODEL, input=texts[i:i + 2048], **extra).data]))

    session = Session()
    session.configure(base_url=server.base_url, api_key=Secret("sk-offline", "benchmark"), bills="openai")

    def ours():
        session.part(VectorCache).clear()  # each run starts cold
        return openai_magics.embed(texts, session=session, **extra)

    openai_magics.embed(texts[:1], session=session, **extra)
    t_ours, result = best_of(repeat, ours)
    t_again, again = best_of(1, lambda: openai_magics.embed(texts, session=session, **extra))

    print(f"{result.shape[1]:,} dimensions:")
    print(f"  sequential 2,048-input batches:   {t_batches:8.2f} s   ({-(-len(texts) // 2048)} requests)")
    print(f"  ours (session().embed):           {t_ours:8.2f} s   ({result.requests} requests, up to "
          f"{result.peak_concurrency} at once)")
    print(f"  ours again, same texts:           {t_again:8.2f} s   ({again.requests} requests sent)")
    print(f"  ours vs sequential batches: {t_batches / t_ours:6.1f}x faster")
    print(f"  ours vs one request per text: {per_text / t_ours:6.0f}x faster")


if __name__ == "__main__":
    main()
