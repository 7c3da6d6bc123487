"""Is a non-streamed offline call as quick as a streamed one's first byte? (No delayed-ACK stall.)

The offline server runs in its own process; the openai SDK asks it, interleaved, for the same short answer
non-streamed (time to the whole answer) and streamed (time to the first chunk). Without TCP_NODELAY and
with headers and body written separately, the non-streamed call waited ~40 ms for the client's delayed ACK.
Run by hand: python benchmarks/offline_latency.py [rounds]
"""
from __future__ import annotations

import multiprocessing
import statistics
import sys
import time


def serve(queue) -> None:
    from openai_magics.offline import OfflineServer, find_openapi_document

    server = OfflineServer(openapi=find_openapi_document()).start()
    queue.put(server.base_url)
    while True:
        time.sleep(3600)


def main(rounds: int = 200) -> None:
    import openai

    queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=serve, args=(queue,), daemon=True)
    process.start()
    client = openai.OpenAI(base_url=queue.get(timeout=60), api_key="sk-offline")
    ask = dict(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi (offline: 20 tokens)"}])
    whole, first = [], []
    try:
        for n in range(rounds + 10):  # the first ten warm the connection and the tokenizer
            started = time.perf_counter()
            client.chat.completions.create(**ask)
            done = time.perf_counter() - started
            started = time.perf_counter()
            with client.chat.completions.create(**ask, stream=True) as stream:
                next(iter(stream))
                byte = time.perf_counter() - started
                for _ in stream:
                    pass
            if n >= 10:
                whole.append(done * 1000)
                first.append(byte * 1000)
    finally:
        process.terminate()
    a, b = statistics.median(whole), statistics.median(first)
    print(f"{rounds} rounds, interleaved, server in its own process")
    print(f"non-streamed, whole answer: median {a:6.2f} ms  (p90 {statistics.quantiles(whole, n=10)[-1]:.2f} ms)")
    print(f"streamed, first chunk:      median {b:6.2f} ms  (p90 {statistics.quantiles(first, n=10)[-1]:.2f} ms)")
    print(f"difference: {a - b:+.2f} ms (within 2 ms: {'yes' if abs(a - b) <= 2 else 'NO'})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
