"""Work over many items at once: the one fan-out of `--over`, `%%embed`'s requests, `%%eval`, `--compare` and
chunked audio.

At most `concurrency` items run at a time, each in a worker thread inside one `wire.cancel.Scope`; they are
yielded as they finish, each with its value or the error it raised (one item's failure never stops the others:
the caller decides). An `admit(item, running)` callback may hold an item back while others run (a budget, a
rate limit); one it refuses while nothing runs is never started, and neither is anything after it. `items` may be a
lazy iterator: it is read only as items start, so a million of them never sit in memory at once.

    with FanOut(work, items, concurrency=8, name="openai-magics-over") as finished:
        for done in finished:
            ...

Leaving the block by an interrupt stops the items in flight on the wire (nothing runs on once the cell has
returned); leaving it by another error lets those in flight finish (their answers are recorded) and starts
nothing more.
"""
from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from openai_magics.wire.cancel import Scope, stop


_NONE = object()  # no item read ahead


@dataclass
class Finished:
    """One item's outcome: its value, or the error its work raised."""

    item: Any
    value: Any = None
    error: Exception | None = None

    def result(self):
        if self.error is not None:
            raise self.error
        return self.value


class FanOut:
    """`work(item)` for each item, at most `concurrency` at once (see the module's docstring)."""

    def __init__(self, work: Callable, items: Iterable, *, concurrency: int, name: str,
                 admit: Callable[[Any, list], bool] | None = None):
        self.work, self.admit = work, admit
        self.concurrency = max(1, concurrency)
        workers = min(self.concurrency, len(items)) if hasattr(items, "__len__") else self.concurrency
        self.items = iter(items)
        self.next: Any = _NONE  # the item read from `items` but not started yet
        self.running: dict = {}  # future → item
        self.unstarted = 0  # how many were never started: refused by `admit`, or left by an interrupt
        self.peak = 0  # the most items running at once
        self.scope = Scope()
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=name)

    def __enter__(self) -> "FanOut":
        return self

    def __iter__(self) -> Iterator[Finished]:
        while True:
            self._start_what_fits()
            if not self.running:
                break
            done, _ = wait(self.running, return_when=FIRST_COMPLETED)
            for future in done:
                self.running.pop(future)
                yield future.result()

    def _peek(self) -> Any:
        if self.next is _NONE:
            self.next = next(self.items, _NONE)
        return self.next

    def _start_what_fits(self) -> None:
        while len(self.running) < self.concurrency and (item := self._peek()) is not _NONE:
            if self.admit is not None and not self.admit(item, list(self.running.values())):
                if not self.running:  # nothing will make room: the rest is not started
                    self._leave_the_rest()
                return  # else: wait for an item in flight, then ask again
            self.next = _NONE
            self.running[self.pool.submit(self.scope.run, self._one, item)] = item
            self.peak = max(self.peak, len(self.running))

    def _leave_the_rest(self) -> None:
        """Count what was never started, reading the rest of `items` without keeping it."""
        self.unstarted += (self.next is not _NONE) + sum(1 for _ in self.items)
        self.next = _NONE

    def _one(self, item) -> Finished:
        try:
            return Finished(item, self.work(item))
        except Exception as exc:  # kept with its item; the caller decides what one failure means
            return Finished(item, error=exc)

    def __exit__(self, kind, exc, tb) -> None:
        self._leave_the_rest()
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            stop(self.scope, self.pool, self.running)  # the items in flight are stopped on the wire
        else:
            self.pool.shutdown(wait=True, cancel_futures=True)  # those in flight finish and are recorded

