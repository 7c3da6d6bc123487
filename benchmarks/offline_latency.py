"""Is a non-streamed offline call as quick as a streamed one's first byte? (No delayed-ACK stall.)

Two offline servers run, each in its own process: ours, and the same server as it was before (Nagle's
algorithm on, headers and body written separately). The openai SDK asks each, round after round
alternating, for the same short answer non-streamed (time to the whole answer) and streamed (time to the
first chunk). Without TCP_NODELAY a small second write waits for the client's delayed ACK, ~40 ms.
Run by hand: python benchmarks/offline_latency.py [rounds]
"""
from __future__ import annotations

import multiprocessing
import statistics
import sys
import time


def serve(queue, as_before: bool) -> None:
    from openai_magics.offline import server as module

    if as_before:
        make = module._make_handler

        def stalling(server):
            handler = make(server)
            handler.disable_nagle_algorithm, handler.wbufsize = False, 0  # the socket as it was
            return handler

        module._make_handler = stalling
    server = module.OfflineServer(openapi=module.find_openapi_document()).start()
    queue.put(server.base_url)
    while True:
        time.sleep(3600)


def start(as_before: bool):
    import openai

    queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=serve, args=(queue, as_before), daemon=True)
    process.start()
    return process, openai.OpenAI(base_url=queue.get(timeout=60), api_key="sk-offline")


def one_round(client, ask, streamed_first: bool) -> tuple[float, float]:
    """(whole non-streamed answer, first streamed chunk) in ms; which goes first alternates between rounds,
    so neither always meets a server process that has just been woken."""
    def whole() -> float:
        started = time.perf_counter()
        client.chat.completions.create(**ask)
        return time.perf_counter() - started

    def first() -> float:
        started = time.perf_counter()
        with client.chat.completions.create(**ask, stream=True) as stream:
            next(iter(stream))
            elapsed = time.perf_counter() - started
            for _ in stream:
                pass
        return elapsed

    if streamed_first:
        b = first()
        return whole() * 1000, b * 1000
    a = whole()
    return a * 1000, first() * 1000


def difference(rounds: list[tuple[float, float]]) -> float:
    whole, first = zip(*rounds)
    return statistics.median(whole) - statistics.median(first)


def report(name: str, rounds: list[tuple[float, float]]) -> None:
    whole, first = zip(*rounds)
    print(f"{name}: non-streamed whole answer {statistics.median(whole):6.2f} ms · streamed first chunk "
          f"{statistics.median(first):6.2f} ms · difference {difference(rounds):+.2f} ms")


def main(rounds: int = 200) -> None:
    ask = dict(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi (offline: 20 tokens)"}])
    servers = {"ours     ": start(False), "as before": start(True)}
    results = {name: [] for name in servers}
    try:
        for n in range(rounds + 10):  # the first ten warm the connections and the token counters
            for name, (_, client) in servers.items():
                measured = one_round(client, ask, streamed_first=n % 2 == 1)
                if n >= 10:
                    results[name].append(measured)
    finally:
        for process, _ in servers.values():
            process.terminate()
    print(f"{rounds} rounds, alternating, each server in its own process (medians)")
    for name, measured in results.items():
        report(name, measured)
    ours = difference(results["ours     "])
    print(f"ours: the non-streamed call is within 2 ms of the streamed first chunk: {'yes' if abs(ours) <= 2 else 'NO'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
