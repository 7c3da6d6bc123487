"""Pacing under enforced rate limits: a `%%chat --over` of many rows and an `%%embed` of many texts against
the offline server enforcing N requests/s and T tokens/min. Prints the 429s the server logged (want 0) and
the time taken against the limit-bound time (the least time the limits allow: what the buckets hold at the
start goes at once, the rest at their refill rate; want a ratio under 1.2).

    TIKTOKEN_CACHE_DIR=../shared/tiktoken python benchmarks/scale.py [--rows 2000] [--texts 20000]
        [--requests 100] [--tokens 150000]
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--requests", type=float, default=100, help="requests per second")
    parser.add_argument("--tokens", type=float, default=150_000, help="tokens per minute")
    args = parser.parse_args()

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
